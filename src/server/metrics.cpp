#include "server/metrics.h"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace kindred::server {
namespace {

bool valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

bool valid_label_name(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// `{a="x",b="y"}`, with an extra trailing pair when `extra_name` is set (a histogram's le);
// empty when there are no labels at all.
std::string label_block(const std::vector<std::string>& names, const std::vector<std::string>& values,
                        std::string_view extra_name = {}, std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return {};
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    out += escape_label_value(values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
  return out;
}

void render_header(std::string& out, const std::string& name, const std::string& help, std::string_view type) {
  out += "# HELP " + name + ' ' + escape_help(help) + '\n';
  out += "# TYPE " + name + ' ';
  out += type;
  out += '\n';
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_metric_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, result.ptr);
}

// ---- Counter, Histogram ----

void Counter::inc(double amount) {
  if (!(amount >= 0)) {
    throw std::invalid_argument("Counter::inc: amount must be non-negative, got " + format_metric_value(amount));
  }
  value_.fetch_add(amount, std::memory_order_relaxed);
}

Histogram::Histogram(std::vector<double> upper_bounds) : upper_bounds_(std::move(upper_bounds)) {
  for (size_t i = 0; i < upper_bounds_.size(); ++i) {
    if (!std::isfinite(upper_bounds_[i])) {
      throw std::invalid_argument("Histogram: bucket bound " + std::to_string(i) + " is not finite (+Inf is implicit)");
    }
    if (i > 0 && !(upper_bounds_[i] > upper_bounds_[i - 1])) {
      throw std::invalid_argument("Histogram: bucket bounds must increase strictly; bound " + std::to_string(i) + " (" +
                                  format_metric_value(upper_bounds_[i]) + ") follows " +
                                  format_metric_value(upper_bounds_[i - 1]));
    }
  }
  bucket_counts_ = std::make_unique<std::atomic<uint64_t>[]>(upper_bounds_.size() + 1);
}

void Histogram::observe(double value) {
  if (std::isnan(value)) throw std::invalid_argument("Histogram::observe: the value is NaN");
  const auto bucket = std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) - upper_bounds_.begin();
  bucket_counts_[static_cast<size_t>(bucket)].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.cumulative_counts.resize(upper_bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) {
    running += bucket_counts_[i].load(std::memory_order_relaxed);
    s.cumulative_counts[i] = running;
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> exponential_buckets(double start, double factor, int count) {
  if (!(start > 0) || !(factor > 1) || count < 1) {
    throw std::invalid_argument("exponential_buckets: need start > 0, factor > 1 and count >= 1");
  }
  std::vector<double> bounds;
  bounds.reserve(static_cast<size_t>(count));
  double bound = start;
  for (int i = 0; i < count; ++i, bound *= factor) bounds.push_back(bound);
  return bounds;
}

// ---- Family ----

template <class Metric>
Family<Metric>::Family(std::vector<std::string> label_names, std::function<std::unique_ptr<Metric>()> make)
    : label_names_(std::move(label_names)), make_(std::move(make)) {}

template <class Metric>
Metric& Family<Metric>::labels(std::initializer_list<std::string_view> values) {
  return labels(std::span<const std::string_view>(values.begin(), values.size()));
}

template <class Metric>
Metric& Family<Metric>::labels(std::span<const std::string_view> values) {
  if (values.size() != label_names_.size()) {
    throw std::invalid_argument("metric family: expected " + std::to_string(label_names_.size()) +
                                " label values, got " + std::to_string(values.size()));
  }
  {
    std::shared_lock lock(mutex_);
    if (auto it = children_.find(values); it != children_.end()) return *it->second;
  }
  std::unique_lock lock(mutex_);
  if (auto it = children_.find(values); it != children_.end()) return *it->second;  // raced with another writer
  std::vector<std::string> key(values.begin(), values.end());
  auto [it, inserted] = children_.emplace(std::move(key), make_());
  return *it->second;
}

template <class Metric>
void Family<Metric>::for_each(
    const std::function<void(const std::vector<std::string>& values, const Metric&)>& visit) const {
  std::shared_lock lock(mutex_);
  for (const auto& [values, metric] : children_) visit(values, *metric);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ---- Registry ----

template <class Metric>
Family<Metric>& Registry::add(std::string name, std::string help, std::vector<std::string> label_names,
                              std::function<std::unique_ptr<Metric>()> make) {
  if (!valid_metric_name(name)) throw std::invalid_argument("metrics: invalid metric name '" + name + "'");
  for (size_t i = 0; i < label_names.size(); ++i) {
    if (!valid_label_name(label_names[i])) {
      throw std::invalid_argument("metrics: invalid label name '" + label_names[i] + "' on " + name);
    }
    if constexpr (std::is_same_v<Metric, Histogram>) {
      if (label_names[i] == "le") throw std::invalid_argument("metrics: histogram " + name + " may not use label 'le'");
    }
    for (size_t j = 0; j < i; ++j) {
      if (label_names[j] == label_names[i]) {
        throw std::invalid_argument("metrics: label '" + label_names[i] + "' repeated on " + name);
      }
    }
  }
  std::lock_guard lock(mutex_);
  if (entries_.contains(name)) throw std::invalid_argument("metrics: '" + name + "' is already registered");
  // Family's constructor is private to Registry, hence new rather than make_unique.
  std::unique_ptr<Family<Metric>> family(new Family<Metric>(std::move(label_names), std::move(make)));
  Family<Metric>& ref = *family;
  entries_.emplace(std::move(name), Entry{std::move(help), std::move(family)});
  return ref;
}

Family<Counter>& Registry::counter_family(std::string name, std::string help, std::vector<std::string> label_names) {
  return add<Counter>(std::move(name), std::move(help), std::move(label_names),
                      [] { return std::make_unique<Counter>(); });
}

Family<Gauge>& Registry::gauge_family(std::string name, std::string help, std::vector<std::string> label_names) {
  return add<Gauge>(std::move(name), std::move(help), std::move(label_names), [] { return std::make_unique<Gauge>(); });
}

Family<Histogram>& Registry::histogram_family(std::string name, std::string help,
                                              std::vector<std::string> label_names, std::vector<double> upper_bounds) {
  Histogram{upper_bounds};  // validates the bounds now rather than at the first labels() call
  return add<Histogram>(std::move(name), std::move(help), std::move(label_names),
                        [bounds = std::move(upper_bounds)] { return std::make_unique<Histogram>(bounds); });
}

// Unlabelled metrics are families with no label names and their one child made up front,
// so they render (as 0) before the first update.
Counter& Registry::counter(std::string name, std::string help) {
  return counter_family(std::move(name), std::move(help), {}).labels({});
}

Gauge& Registry::gauge(std::string name, std::string help) {
  return gauge_family(std::move(name), std::move(help), {}).labels({});
}

Histogram& Registry::histogram(std::string name, std::string help, std::vector<double> upper_bounds) {
  return histogram_family(std::move(name), std::move(help), {}, std::move(upper_bounds)).labels({});
}

std::string Registry::render() const {
  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& [name, entry] : entries_) {
    if (const auto* counters = std::get_if<std::unique_ptr<Family<Counter>>>(&entry.family)) {
      const auto& family = **counters;
      render_header(out, name, entry.help, "counter");
      family.for_each([&](const std::vector<std::string>& values, const Counter& c) {
        out += name + label_block(family.label_names(), values) + ' ' + format_metric_value(c.value()) + '\n';
      });
    } else if (const auto* gauges = std::get_if<std::unique_ptr<Family<Gauge>>>(&entry.family)) {
      const auto& family = **gauges;
      render_header(out, name, entry.help, "gauge");
      family.for_each([&](const std::vector<std::string>& values, const Gauge& g) {
        out += name + label_block(family.label_names(), values) + ' ' + format_metric_value(g.value()) + '\n';
      });
    } else {
      const auto& family = *std::get<std::unique_ptr<Family<Histogram>>>(entry.family);
      render_header(out, name, entry.help, "histogram");
      family.for_each([&](const std::vector<std::string>& values, const Histogram& h) {
        const Histogram::Snapshot s = h.snapshot();
        const auto& bounds = h.upper_bounds();
        for (size_t i = 0; i <= bounds.size(); ++i) {
          const std::string le = i < bounds.size() ? format_metric_value(bounds[i]) : "+Inf";
          out += name + "_bucket" + label_block(family.label_names(), values, "le", le) + ' ' +
                 std::to_string(s.cumulative_counts[i]) + '\n';
        }
        const std::string labels = label_block(family.label_names(), values);
        out += name + "_sum" + labels + ' ' + format_metric_value(s.sum) + '\n';
        out += name + "_count" + labels + ' ' + std::to_string(s.count) + '\n';
      });
    }
  }
  return out;
}

// ---- ServerMetrics ----

namespace {

const std::vector<double> kRequestSecondsBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                    1,     2.5,  5,     10,   30,  60,   120};
const std::vector<double> kTimeToFirstTokenBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                      0.5,   1,    2.5,   5,    10,  30};
const std::vector<double> kAppraisalBuckets = {1e-5,  2.5e-5, 5e-5,  1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3,
                                               5e-3,  0.01,   0.025, 0.05, 0.1,    0.25, 0.5,  1};

// Weight of the newest generation in the decode-rate average: about the last five
// generations dominate.
constexpr double kDecodeRateSmoothing = 0.2;

}  // namespace

ServerMetrics::ServerMetrics()
    : http_requests(registry.counter_family("kindred_http_requests_total", "HTTP requests by route and status code.",
                                            {"route", "code"})),
      http_request_seconds(registry.histogram_family("kindred_http_request_seconds",
                                                     "HTTP request duration in seconds, by route.", {"route"},
                                                     kRequestSecondsBuckets)),
      generated_tokens(registry.counter("kindred_generated_tokens_total", "Tokens generated (decoded).")),
      prompt_tokens(registry.counter("kindred_prompt_tokens_total", "Prompt tokens evaluated.")),
      tokens_per_second(registry.gauge("kindred_tokens_per_second",
                                       "Recent decode rate in tokens per second (moving average over generations).")),
      time_to_first_token_seconds(registry.histogram("kindred_time_to_first_token_seconds",
                                                     "Seconds from request to the first generated token.",
                                                     kTimeToFirstTokenBuckets)),
      queue_depth(registry.gauge("kindred_queue_depth", "Requests waiting for a generation slot.")),
      active_sequences(registry.gauge("kindred_active_sequences", "Sequences currently generating.")),
      kv_bytes_used(registry.gauge("kindred_kv_bytes_used", "Bytes of KV cache held by sequences and cached sessions.")),
      kv_bytes_budget(registry.gauge("kindred_kv_bytes_budget", "KV cache budget in bytes.")),
      sessions_evicted(registry.counter("kindred_sessions_evicted_total",
                                        "Session KV states evicted from memory to make room.")),
      sessions_restored(registry.counter("kindred_sessions_restored_total",
                                         "Session KV states restored instead of re-evaluating the prompt.")),
      appraisal_seconds(registry.histogram("kindred_appraisal_seconds", "Seconds spent appraising one text's affect.",
                                           kAppraisalBuckets)),
      rate_limited(registry.counter("kindred_rate_limited_total", "Requests refused with 429 by the rate limiter.")),
      errors(registry.counter_family("kindred_errors_total", "Error responses by error type.", {"type"})) {}

void ServerMetrics::record_request(std::string_view route, int status_code, double seconds) {
  const std::string code = std::to_string(status_code);
  http_requests.labels({route, code}).inc();
  http_request_seconds.labels({route}).observe(seconds);
}

void ServerMetrics::record_generation(int64_t prompt_token_count, int64_t generated_token_count, double decode_seconds,
                                      double time_to_first_token) {
  prompt_tokens.inc(static_cast<double>(prompt_token_count));
  generated_tokens.inc(static_cast<double>(generated_token_count));
  time_to_first_token_seconds.observe(time_to_first_token);
  if (!(decode_seconds > 0) || generated_token_count <= 0) return;
  const double rate = static_cast<double>(generated_token_count) / decode_seconds;
  std::lock_guard lock(rate_mutex_);
  tokens_per_second.set(has_rate_ ? tokens_per_second.value() + kDecodeRateSmoothing * (rate - tokens_per_second.value())
                                  : rate);
  has_rate_ = true;
}

}  // namespace kindred::server
