#pragma once
// A tiny metrics registry rendered in the Prometheus text format (version 0.0.4) on GET /metrics.
//
//   MetricsRegistry registry;
//   Counter& ops = registry.GetCounter("amalgam_ops_total", "Operations served.", {{"op",
//   "find"}}); ops.Increment();               // hot path: one relaxed atomic add, no lock
//
// A metric family is a name with a help text and a type (counter or gauge); a series is one
// label set within it. Looking a series up takes a mutex, so callers look it up once and keep
// the reference. Rendering takes the same mutex and reads the values with relaxed atomics.
//
// Ownership: the registry owns every Counter and Gauge; references stay valid for the
// registry's lifetime. No global instance: components take a MetricsRegistry& in their
// constructor.
//
// Thread safety: every method of every class here may be called from any thread.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace amalgam::server {

// Label (name, value) pairs, rendered in the order given. Values may hold any bytes; they are
// escaped when rendered.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// A monotonically increasing count.
class Counter {
 public:
  void Increment(uint64_t delta = 1) { value_.fetch_add(delta, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Returns the series of counter family `name` with `labels`, creating it (at 0) on first use.
  // The same name and labels always return the same object. `help` is kept from the first call.
  // REQUIRES: `name` matches [a-zA-Z_:][a-zA-Z0-9_:]*, label names match [a-zA-Z_][a-zA-Z0-9_]*
  // and are unique within `labels`, and `name` is not also used for a gauge. These are
  // programming errors (names are constants in our code), checked in debug builds only.
  Counter& GetCounter(std::string_view name, std::string_view help,
                      const MetricLabels& labels = {});

  // As GetCounter, for gauges.
  Gauge& GetGauge(std::string_view name, std::string_view help, const MetricLabels& labels = {});

  // Registers a gauge whose value is computed by `read` at every render (e.g. uptime). A second
  // registration of the same name and labels replaces the function. `read` is called with the
  // registry's mutex held, possibly from any thread: it must be quick, thread-safe and must not
  // call back into the registry.
  void SetGaugeFunction(std::string_view name, std::string_view help, const MetricLabels& labels,
                        std::function<double()> read);

  // Renders every family in the Prometheus text exposition format, families sorted by name and
  // series by label text, so the output is deterministic.
  std::string RenderPrometheus() const;

  // The content type to send with RenderPrometheus()'s output.
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  struct Series {
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::function<double()> read;
  };
  enum class Type : uint8_t { kCounter, kGauge };
  struct Family {
    Type type;
    std::string help;
    std::map<std::string, Series, std::less<>> series;  // by rendered label text "{a=\"b\"}"
  };

  Series& FindOrAdd(std::string_view name, std::string_view help, Type type,
                    const MetricLabels& labels);  // REQUIRES: mu_ held

  mutable std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;  // guarded by mu_
};

}  // namespace amalgam::server
