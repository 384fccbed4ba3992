#include "server/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace amalgam::server {
namespace {

TEST(MetricsTest, SameNameAndLabelsReturnTheSameSeries) {
  MetricsRegistry registry;
  Counter& a = registry.GetCounter("x_total", "X.", {{"k", "v"}});
  Counter& b = registry.GetCounter("x_total", "other help is ignored", {{"k", "v"}});
  Counter& c = registry.GetCounter("x_total", "X.", {{"k", "w"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &c);
}

TEST(MetricsTest, RendersPrometheusTextSortedAndEscaped) {
  MetricsRegistry registry;
  registry.GetCounter("b_total", "Bees\nand \\ more.", {{"code", "404"}}).Increment(3);
  registry.GetCounter("b_total", "", {{"code", "200"}}).Increment();
  registry.GetGauge("a_gauge", "A gauge.").Set(1.5);
  registry.GetGauge("c_info", "Info.", {{"version", "1\"2\\3\n"}, {"x", "y"}}).Set(1);
  registry.SetGaugeFunction("d_seconds", "Computed.", {}, [] { return 42.25; });
  EXPECT_EQ(registry.RenderPrometheus(),
            "# HELP a_gauge A gauge.\n"
            "# TYPE a_gauge gauge\n"
            "a_gauge 1.5\n"
            "# HELP b_total Bees\\nand \\\\ more.\n"
            "# TYPE b_total counter\n"
            "b_total{code=\"200\"} 1\n"
            "b_total{code=\"404\"} 3\n"
            "# HELP c_info Info.\n"
            "# TYPE c_info gauge\n"
            "c_info{version=\"1\\\"2\\\\3\\n\",x=\"y\"} 1\n"
            "# HELP d_seconds Computed.\n"
            "# TYPE d_seconds gauge\n"
            "d_seconds 42.25\n");
}

TEST(MetricsTest, GaugeAddsAndRendersSpecialValues) {
  MetricsRegistry registry;
  Gauge& g = registry.GetGauge("g", "G.");
  g.Add(2);
  g.Add(-0.5);
  EXPECT_DOUBLE_EQ(g.value(), 1.5);
  registry.SetGaugeFunction("inf", "I.", {}, [] { return 1.0 / 0.0; });
  std::string text = registry.RenderPrometheus();
  EXPECT_NE(text.find("inf +Inf\n"), std::string::npos) << text;
}

TEST(MetricsTest, CountersAreExactUnderConcurrentIncrements) {
  MetricsRegistry registry;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&registry] {
      Counter& c = registry.GetCounter("n_total", "N.");
      Gauge& g = registry.GetGauge("open", "O.");
      for (int i = 0; i < kPerThread; ++i) {
        c.Increment();
        g.Add(1);
        g.Add(-1);
      }
      registry.RenderPrometheus();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(registry.GetCounter("n_total", "N.").value(), uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(registry.GetGauge("open", "O.").value(), 0);
}

}  // namespace
}  // namespace amalgam::server
