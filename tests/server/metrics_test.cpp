// The Prometheus registry: exact exposition text, histogram buckets, concurrency.
#include "server/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace kindred::server {
namespace {

TEST(Metrics, RendersCounterAndGaugeExactly) {
  Registry registry;
  Counter& requests = registry.counter("app_requests_total", "Requests served.");
  Gauge& depth = registry.gauge("app_queue_depth", "Waiting requests.");
  requests.inc();
  requests.inc(2);
  depth.set(5);
  depth.dec(1.5);
  EXPECT_EQ(registry.render(),
            "# HELP app_queue_depth Waiting requests.\n"
            "# TYPE app_queue_depth gauge\n"
            "app_queue_depth 3.5\n"
            "# HELP app_requests_total Requests served.\n"
            "# TYPE app_requests_total counter\n"
            "app_requests_total 3\n");
}

TEST(Metrics, RendersLabelledFamiliesSortedByLabelValues) {
  Registry registry;
  auto& family = registry.counter_family("http_requests_total", "By route and code.", {"route", "code"});
  family.labels({"/v1/models", "200"}).inc();
  family.labels({"/v1/chat/completions", "500"}).inc();
  family.labels({"/v1/chat/completions", "200"}).inc(4);
  EXPECT_EQ(registry.render(),
            "# HELP http_requests_total By route and code.\n"
            "# TYPE http_requests_total counter\n"
            "http_requests_total{route=\"/v1/chat/completions\",code=\"200\"} 4\n"
            "http_requests_total{route=\"/v1/chat/completions\",code=\"500\"} 1\n"
            "http_requests_total{route=\"/v1/models\",code=\"200\"} 1\n");
}

TEST(Metrics, SameLabelsGiveTheSameChild) {
  Registry registry;
  auto& family = registry.gauge_family("g", "help", {"a"});
  Gauge& first = family.labels({"x"});
  const std::string_view again[] = {"x"};
  EXPECT_EQ(&first, &family.labels(again));
  EXPECT_NE(&first, &family.labels({"y"}));
}

TEST(Metrics, EscapesLabelValuesAndHelp) {
  Registry registry;
  auto& family = registry.counter_family("errors_total", "Line one\nback\\slash \"quotes\" stay", {"type"});
  family.labels({"a\\b\"c\nd"}).inc();
  EXPECT_EQ(registry.render(),
            "# HELP errors_total Line one\\nback\\\\slash \"quotes\" stay\n"
            "# TYPE errors_total counter\n"
            "errors_total{type=\"a\\\\b\\\"c\\nd\"} 1\n");
  EXPECT_EQ(escape_label_value("plain"), "plain");
}

TEST(Metrics, RendersHistogramExactly) {
  Registry registry;
  auto& family = registry.histogram_family("latency_seconds", "Latency.", {"route"}, {0.1, 0.5, 1});
  Histogram& h = family.labels({"/a"});
  h.observe(0.05);
  h.observe(0.1);  // le is inclusive: lands in the 0.1 bucket
  h.observe(0.3);
  h.observe(7);
  EXPECT_EQ(registry.render(),
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{route=\"/a\",le=\"0.1\"} 2\n"
            "latency_seconds_bucket{route=\"/a\",le=\"0.5\"} 3\n"
            "latency_seconds_bucket{route=\"/a\",le=\"1\"} 3\n"
            "latency_seconds_bucket{route=\"/a\",le=\"+Inf\"} 4\n"
            "latency_seconds_sum{route=\"/a\"} 7.45\n"
            "latency_seconds_count{route=\"/a\"} 4\n");
}

TEST(Metrics, UnlabelledHistogramRendersBeforeAnyObservation) {
  Registry registry;
  registry.histogram("t_seconds", "T.", {1e-05, 0.25});
  EXPECT_EQ(registry.render(),
            "# HELP t_seconds T.\n"
            "# TYPE t_seconds histogram\n"
            "t_seconds_bucket{le=\"1e-05\"} 0\n"
            "t_seconds_bucket{le=\"0.25\"} 0\n"
            "t_seconds_bucket{le=\"+Inf\"} 0\n"
            "t_seconds_sum 0\n"
            "t_seconds_count 0\n");
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  Histogram h(exponential_buckets(0.001, 2, 12));
  for (int i = 0; i < 1000; ++i) h.observe(0.0001 * i * i);
  const auto s = h.snapshot();
  ASSERT_EQ(s.cumulative_counts.size(), 13u);
  for (size_t i = 1; i < s.cumulative_counts.size(); ++i) {
    EXPECT_GE(s.cumulative_counts[i], s.cumulative_counts[i - 1]) << i;
  }
  EXPECT_EQ(s.cumulative_counts.back(), 1000u);
  EXPECT_EQ(s.count, 1000u);
  // Check one bucket against a direct count: values <= 0.004 are i*i <= 40, i.e. i = 0..6.
  EXPECT_EQ(s.cumulative_counts[2], 7u);
}

TEST(Metrics, FormatsValues) {
  EXPECT_EQ(format_metric_value(0), "0");
  EXPECT_EQ(format_metric_value(42), "42");
  EXPECT_EQ(format_metric_value(0.005), "0.005");
  EXPECT_EQ(format_metric_value(-2.5), "-2.5");
  EXPECT_EQ(format_metric_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_metric_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_metric_value(std::nan("")), "NaN");
  EXPECT_EQ(std::stod(format_metric_value(0.1 + 0.2)), 0.1 + 0.2);  // round-trips
}

TEST(Metrics, RejectsInvalidInput) {
  Registry registry;
  EXPECT_THROW(registry.counter("1bad", "h"), std::invalid_argument);
  EXPECT_THROW(registry.counter("bad-name", "h"), std::invalid_argument);
  EXPECT_THROW(registry.counter_family("ok_total", "h", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(registry.counter_family("ok2_total", "h", {"a", "a"}), std::invalid_argument);
  EXPECT_THROW(registry.histogram_family("h1", "h", {"le"}, {1}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("h2", "h", {1, 1}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("h3", "h", {2, 1}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("h4", "h", {1, std::numeric_limits<double>::infinity()}), std::invalid_argument);
  registry.counter("dup_total", "h");
  EXPECT_THROW(registry.gauge("dup_total", "h"), std::invalid_argument);
  Counter c;
  EXPECT_THROW(c.inc(-1), std::invalid_argument);
  EXPECT_THROW(c.inc(std::nan("")), std::invalid_argument);
  EXPECT_EQ(c.value(), 0);
  Histogram h({1});
  EXPECT_THROW(h.observe(std::nan("")), std::invalid_argument);
  auto& family = registry.counter_family("two_labels_total", "h", {"a", "b"});
  EXPECT_THROW(family.labels({"only one"}), std::invalid_argument);
  EXPECT_THROW(exponential_buckets(0, 2, 3), std::invalid_argument);
  // Failed registrations leave nothing behind.
  EXPECT_EQ(registry.render().find("h2"), std::string::npos);
}

TEST(Metrics, ConcurrentIncrementsAreExact) {
  Registry registry;
  Counter& counter = registry.counter("c_total", "h");
  auto& family = registry.counter_family("f_total", "h", {"thread_group"});
  Histogram& histogram = registry.histogram("h_seconds", "h", {0.5});
  Gauge& gauge = registry.gauge("g", "h");
  constexpr int kThreads = 8;
  constexpr int kIncrements = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string group = t % 2 == 0 ? "even" : "odd";
      for (int i = 0; i < kIncrements; ++i) {
        counter.inc();
        family.labels({group}).inc();
        histogram.observe(i % 2 == 0 ? 0.25 : 1.0);
        gauge.inc();
        if (i % 1000 == 0) (void)registry.render();  // scrapes race with updates
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter.value(), kThreads * kIncrements);
  EXPECT_EQ(family.labels({"even"}).value(), kThreads / 2 * kIncrements);
  EXPECT_EQ(family.labels({"odd"}).value(), kThreads / 2 * kIncrements);
  EXPECT_EQ(gauge.value(), kThreads * kIncrements);
  const auto s = histogram.snapshot();
  EXPECT_EQ(s.count, static_cast<uint64_t>(kThreads * kIncrements));
  EXPECT_EQ(s.cumulative_counts[0], static_cast<uint64_t>(kThreads * kIncrements / 2));
  EXPECT_DOUBLE_EQ(s.sum, kThreads * kIncrements / 2 * 1.25);
}

TEST(ServerMetrics, RegistersTheNamedMetrics) {
  ServerMetrics metrics;
  metrics.record_request("/v1/chat/completions", 200, 0.2);
  metrics.record_request("/v1/chat/completions", 200, 0.3);
  metrics.record_error("invalid_request_error");
  metrics.rate_limited.inc();
  metrics.kv_bytes_budget.set(1 << 20);
  const std::string text = metrics.registry.render();
  for (const char* name :
       {"kindred_http_requests_total", "kindred_http_request_seconds", "kindred_generated_tokens_total",
        "kindred_prompt_tokens_total", "kindred_tokens_per_second", "kindred_time_to_first_token_seconds",
        "kindred_queue_depth", "kindred_active_sequences", "kindred_kv_bytes_used", "kindred_kv_bytes_budget",
        "kindred_sessions_evicted_total", "kindred_sessions_restored_total", "kindred_appraisal_seconds",
        "kindred_rate_limited_total", "kindred_errors_total"}) {
    EXPECT_NE(text.find(std::string("# TYPE ") + name + " "), std::string::npos) << name;
  }
  EXPECT_NE(text.find("kindred_http_requests_total{route=\"/v1/chat/completions\",code=\"200\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("kindred_http_request_seconds_bucket{route=\"/v1/chat/completions\",le=\"0.25\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("kindred_http_request_seconds_count{route=\"/v1/chat/completions\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("kindred_errors_total{type=\"invalid_request_error\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("kindred_rate_limited_total 1\n"), std::string::npos);
  EXPECT_NE(text.find("kindred_kv_bytes_budget 1048576\n"), std::string::npos);
  EXPECT_NE(text.find("kindred_time_to_first_token_seconds_bucket{le=\"0.005\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("kindred_time_to_first_token_seconds_bucket{le=\"30\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("kindred_appraisal_seconds_bucket{le=\"1e-05\"} 0\n"), std::string::npos);
}

TEST(ServerMetrics, RecordGenerationCountsTokensAndAveragesTheRate) {
  ServerMetrics metrics;
  metrics.record_generation(100, 50, 1.0, 0.04);  // 50 tok/s: the first rate is taken as is
  EXPECT_DOUBLE_EQ(metrics.tokens_per_second.value(), 50);
  metrics.record_generation(10, 100, 1.0, 0.02);  // 100 tok/s moves the average a fifth of the way
  EXPECT_DOUBLE_EQ(metrics.tokens_per_second.value(), 60);
  metrics.record_generation(5, 0, 0.0, 0.01);  // nothing decoded: the rate stays
  EXPECT_DOUBLE_EQ(metrics.tokens_per_second.value(), 60);
  EXPECT_EQ(metrics.prompt_tokens.value(), 115);
  EXPECT_EQ(metrics.generated_tokens.value(), 150);
  const auto ttft = metrics.time_to_first_token_seconds.snapshot();
  EXPECT_EQ(ttft.count, 3u);
  EXPECT_EQ(ttft.cumulative_counts[1], 1u);  // 0.01 <= le 0.01
  EXPECT_EQ(ttft.cumulative_counts[2], 2u);  // 0.02 <= le 0.025
}

}  // namespace
}  // namespace kindred::server
