#include "server/metrics.h"

#include <cassert>
#include <charconv>
#include <cmath>
#include <set>

namespace amalgam::server {
namespace {

[[maybe_unused]] bool IsValidName(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

[[maybe_unused]] bool AreValidLabels(const MetricLabels& labels) {
  std::set<std::string_view> names;
  for (const auto& [name, value] : labels) {
    if (!IsValidName(name, /*allow_colon=*/false) || !names.insert(name).second) return false;
  }
  return true;
}

// Label values escape backslash, double quote and newline; help text escapes backslash and
// newline (Prometheus text format 0.0.4).
void AppendEscaped(std::string_view text, bool escape_quote, std::string* out) {
  for (char c : text) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '\n') {
      *out += "\\n";
    } else if (c == '"' && escape_quote) {
      *out += "\\\"";
    } else {
      *out += c;
    }
  }
}

std::string LabelText(const MetricLabels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ',';
    out += labels[i].first;
    out += "=\"";
    AppendEscaped(labels[i].second, /*escape_quote=*/true, &out);
    out += '"';
  }
  out += '}';
  return out;
}

void AppendDouble(double value, std::string* out) {
  if (std::isnan(value)) {
    *out += "NaN";
  } else if (std::isinf(value)) {
    *out += value > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
    out->append(buf, ec == std::errc() ? end : buf);
  }
}

}  // namespace

void Gauge::Add(double delta) {
  double current = value_.load(std::memory_order_relaxed);
  while (!value_.compare_exchange_weak(current, current + delta, std::memory_order_relaxed)) {
  }
}

MetricsRegistry::Series& MetricsRegistry::FindOrAdd(std::string_view name, std::string_view help,
                                                    Type type, const MetricLabels& labels) {
  assert(IsValidName(name, /*allow_colon=*/true));
  assert(AreValidLabels(labels));
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{type, std::string(help), {}}).first;
  }
  Family& family = it->second;
  assert(family.type == type);
  return family.series[LabelText(labels)];
}

Counter& MetricsRegistry::GetCounter(std::string_view name, std::string_view help,
                                     const MetricLabels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Series& series = FindOrAdd(name, help, Type::kCounter, labels);
  if (series.counter == nullptr) series.counter = std::make_unique<Counter>();
  return *series.counter;
}

Gauge& MetricsRegistry::GetGauge(std::string_view name, std::string_view help,
                                 const MetricLabels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Series& series = FindOrAdd(name, help, Type::kGauge, labels);
  if (series.gauge == nullptr) series.gauge = std::make_unique<Gauge>();
  return *series.gauge;
}

void MetricsRegistry::SetGaugeFunction(std::string_view name, std::string_view help,
                                       const MetricLabels& labels, std::function<double()> read) {
  std::lock_guard<std::mutex> lock(mu_);
  Series& series = FindOrAdd(name, help, Type::kGauge, labels);
  series.read = std::move(read);
}

std::string MetricsRegistry::RenderPrometheus() const {
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, family] : families_) {
    out += "# HELP ";
    out += name;
    out += ' ';
    AppendEscaped(family.help, /*escape_quote=*/false, &out);
    out += "\n# TYPE ";
    out += name;
    out += family.type == Type::kCounter ? " counter\n" : " gauge\n";
    for (const auto& [labels, series] : family.series) {
      out += name;
      out += labels;
      out += ' ';
      if (series.counter != nullptr) {
        out += std::to_string(series.counter->value());
      } else if (series.read) {
        AppendDouble(series.read(), &out);
      } else if (series.gauge != nullptr) {
        AppendDouble(series.gauge->value(), &out);
      } else {
        out += '0';
      }
      out += '\n';
    }
  }
  return out;
}

}  // namespace amalgam::server
