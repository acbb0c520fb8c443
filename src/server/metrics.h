// A small Prometheus metrics registry and the server's named metrics.
//
// Counter, Gauge and Histogram update with atomics only, so the request path never takes a
// lock once it holds a metric. Labelled metrics live in a Family: `labels({...})` finds or
// creates the child for one label-value tuple (a shared lock on the lookup, an exclusive one
// only the first time a tuple is seen) and returns a reference that stays valid for the
// registry's lifetime, so hot code may look a child up once and keep it.
//
// Registry::render() writes the text exposition format 0.0.4: families sorted by name,
// children sorted by label values, histograms as cumulative `_bucket{le=...}` lines ending in
// `+Inf`, then `_sum` and `_count`. Values print in their shortest round-trip form ("3",
// "0.25", "1e-05").
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace kindred::server {

// Monotonically increasing value. inc() with a negative or NaN amount throws
// std::invalid_argument: a counter that goes down breaks rate() in every dashboard.
class Counter {
 public:
  void inc(double amount = 1);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// A value that goes up and down (queue depth, bytes in use, a rate).
class Gauge {
 public:
  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  void inc(double amount = 1) { value_.fetch_add(amount, std::memory_order_relaxed); }
  void dec(double amount = 1) { value_.fetch_add(-amount, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Counts observations into fixed buckets. `upper_bounds` must be finite and strictly
// increasing (std::invalid_argument otherwise); the +Inf bucket is implicit. An observation
// lands in the first bucket whose bound is >= the value (Prometheus' `le`). NaN observations
// throw std::invalid_argument.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);

  void observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative_counts;  // one per bound, then +Inf (== count)
    double sum = 0;
    uint64_t count = 0;
  };
  // Buckets are read one by one, so a snapshot taken while others observe may mix
  // observations; it is always cumulative and its count always equals the +Inf bucket.
  Snapshot snapshot() const;

  const std::vector<double>& upper_bounds() const { return upper_bounds_; }

 private:
  std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> bucket_counts_;  // per bucket, not cumulative; +Inf last
  std::atomic<double> sum_{0};
};

// Bucket bounds start, start*factor, ... (count of them); for latency histograms.
std::vector<double> exponential_buckets(double start, double factor, int count);

// All children of one metric name, one per label-value tuple.
template <class Metric>
class Family {
 public:
  // The child for `values`, given in the order of label_names(). A wrong number of values
  // throws std::invalid_argument.
  Metric& labels(std::initializer_list<std::string_view> values);
  Metric& labels(std::span<const std::string_view> values);

  const std::vector<std::string>& label_names() const { return label_names_; }

  // Calls `visit` for each child in label-value order (render uses this).
  void for_each(const std::function<void(const std::vector<std::string>& values, const Metric&)>& visit) const;

 private:
  friend class Registry;
  Family(std::vector<std::string> label_names, std::function<std::unique_ptr<Metric>()> make);

  // Orders tuples lexicographically and lets a span of views find a stored tuple without
  // building strings.
  struct TupleLess {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                          [](std::string_view x, std::string_view y) { return x < y; });
    }
  };

  std::vector<std::string> label_names_;
  std::function<std::unique_ptr<Metric>()> make_;
  mutable std::shared_mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>, TupleLess> children_;
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

// Owns every metric. Names must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
// [a-zA-Z_][a-zA-Z0-9_]* without a leading "__"; histograms may not use the label "le".
// Registering a name twice throws std::invalid_argument.
class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Counter& counter(std::string name, std::string help);
  Gauge& gauge(std::string name, std::string help);
  Histogram& histogram(std::string name, std::string help, std::vector<double> upper_bounds);

  Family<Counter>& counter_family(std::string name, std::string help, std::vector<std::string> label_names);
  Family<Gauge>& gauge_family(std::string name, std::string help, std::vector<std::string> label_names);
  Family<Histogram>& histogram_family(std::string name, std::string help, std::vector<std::string> label_names,
                                      std::vector<double> upper_bounds);

  // The whole registry in the text exposition format 0.0.4 (Content-Type
  // `text/plain; version=0.0.4; charset=utf-8`).
  std::string render() const;

 private:
  using AnyFamily =
      std::variant<std::unique_ptr<Family<Counter>>, std::unique_ptr<Family<Gauge>>, std::unique_ptr<Family<Histogram>>>;
  struct Entry {
    std::string help;
    AnyFamily family;
  };

  template <class Metric>
  Family<Metric>& add(std::string name, std::string help, std::vector<std::string> label_names,
                      std::function<std::unique_ptr<Metric>()> make);

  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;  // by name: the render order
};

// Escapes a label value for the exposition format: backslash, double quote and newline.
std::string escape_label_value(std::string_view value);

// The shortest text that parses back to `value`; "+Inf", "-Inf" and "NaN" as Prometheus spells them.
std::string format_metric_value(double value);

// The metrics `kindred serve` exports, registered in one place so the server code calls
// them by name. All names carry the `kindred_` prefix.
struct ServerMetrics {
  ServerMetrics();
  ServerMetrics(const ServerMetrics&) = delete;
  ServerMetrics& operator=(const ServerMetrics&) = delete;

  Registry registry;  // first: every reference below points into it

  Family<Counter>& http_requests;         // kindred_http_requests_total{route,code}
  Family<Histogram>& http_request_seconds;  // kindred_http_request_seconds{route}
  Counter& generated_tokens;              // kindred_generated_tokens_total
  Counter& prompt_tokens;                 // kindred_prompt_tokens_total
  Gauge& tokens_per_second;               // kindred_tokens_per_second (recent decode rate)
  Histogram& time_to_first_token_seconds;  // kindred_time_to_first_token_seconds
  Gauge& queue_depth;                     // kindred_queue_depth
  Gauge& active_sequences;                // kindred_active_sequences
  Gauge& kv_bytes_used;                   // kindred_kv_bytes_used
  Gauge& kv_bytes_budget;                 // kindred_kv_bytes_budget
  Counter& sessions_evicted;              // kindred_sessions_evicted_total
  Counter& sessions_restored;             // kindred_sessions_restored_total
  Histogram& appraisal_seconds;           // kindred_appraisal_seconds
  Counter& rate_limited;                  // kindred_rate_limited_total
  Family<Counter>& errors;                // kindred_errors_total{type}

  // One finished HTTP request: counts it under {route, code} and times it under {route}.
  // `route` should be the route pattern ("/kindred/v1/sessions/{id}"), not the raw path, so
  // the label set stays small.
  void record_request(std::string_view route, int status_code, double seconds);

  // One finished generation. The decode rate (generated tokens over decode time) feeds
  // tokens_per_second as an exponentially weighted average, so the gauge follows recent load
  // without jumping on one short reply. Generations with no decode time leave the rate alone.
  void record_generation(int64_t prompt_token_count, int64_t generated_token_count, double decode_seconds,
                         double time_to_first_token);

  void record_error(std::string_view type) { errors.labels({type}).inc(); }

 private:
  std::mutex rate_mutex_;
  bool has_rate_ = false;
};

}  // namespace kindred::server
