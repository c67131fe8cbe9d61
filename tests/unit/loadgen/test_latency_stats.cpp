// Serving statistics against hand-computed values: numpy.percentile's linear interpolation,
// population stdev, TPOT excluding the first token, failures counted apart, throughputs.
#include <gtest/gtest.h>

#include "loadgen/latency_stats.h"

using namespace glm::loadgen;

TEST(LatencyStats, PercentileInterpolatesLikeNumpy) {
  // numpy.percentile([1, 2, 3, 4], [0, 50, 90, 99, 100]) = 1, 2.5, 3.7, 3.97, 4
  std::vector<double> v = {4, 1, 3, 2};
  EXPECT_DOUBLE_EQ(percentile(v, 0), 1);
  EXPECT_DOUBLE_EQ(percentile(v, 50), 2.5);
  EXPECT_NEAR(percentile(v, 90), 3.7, 1e-12);
  EXPECT_NEAR(percentile(v, 99), 3.97, 1e-12);
  EXPECT_DOUBLE_EQ(percentile(v, 100), 4);
  EXPECT_DOUBLE_EQ(percentile({}, 50), 0);
  EXPECT_DOUBLE_EQ(percentile({7}, 99), 7);
}

TEST(LatencyStats, DescribeUsesPopulationStdev) {
  Distribution d = describe({2, 4, 4, 4, 5, 5, 7, 9});
  EXPECT_DOUBLE_EQ(d.mean, 5);
  EXPECT_DOUBLE_EQ(d.stdev, 2);  // numpy.std default (ddof=0)
  EXPECT_DOUBLE_EQ(d.median, 4.5);
  EXPECT_DOUBLE_EQ(d.max, 9);
  EXPECT_EQ(d.count, 8);
}

TEST(LatencyStats, MetricsFromRecords) {
  RequestRecord a;
  a.success = true;
  a.prompt_len = 10;
  a.output_len = 5;
  a.cached_tokens = 4;
  a.ttft = 0.1;
  a.latency = 0.5;  // TPOT = 0.4 / 4 = 0.1
  a.itl = {0.1, 0.1, 0.1, 0.1};
  RequestRecord b = a;
  b.output_len = 1;  // no TPOT for one token
  b.latency = 0.3;
  b.ttft = 0.3;
  b.itl = {};
  RequestRecord failed;
  failed.error = "HTTP 400";
  failed.prompt_len = 100;
  auto j = compute_metrics({a, b, failed}, 2.0);
  EXPECT_EQ(j["completed"], 2);
  EXPECT_EQ(j["failed"], 1);
  EXPECT_EQ(j["total_input_tokens"], 20);  // the failed request's tokens are not counted
  EXPECT_EQ(j["total_output_tokens"], 6);
  EXPECT_EQ(j["total_cached_tokens"], 8);
  EXPECT_DOUBLE_EQ(j["request_throughput"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["output_throughput"].get<double>(), 3.0);
  EXPECT_DOUBLE_EQ(j["total_throughput"].get<double>(), 13.0);
  EXPECT_NEAR(j["mean_tpot_ms"].get<double>(), 100.0, 1e-9);
  EXPECT_NEAR(j["mean_ttft_ms"].get<double>(), 200.0, 1e-9);
  EXPECT_NEAR(j["median_e2e_latency_ms"].get<double>(), 400.0, 1e-9);
  EXPECT_NEAR(j["p99_itl_ms"].get<double>(), 100.0, 1e-9);
  EXPECT_NEAR(j["concurrency"].get<double>(), 0.4, 1e-12);
  for (const char* k : {"p90_ttft_ms", "p99_ttft_ms", "std_ttft_ms", "p90_tpot_ms", "p90_itl_ms", "max_itl_ms"})
    EXPECT_TRUE(j.contains(k)) << k;
  const std::string table = format_table(j);
  EXPECT_NE(table.find("Successful requests:                     2"), std::string::npos) << table;
  EXPECT_NE(table.find("P90 TTFT (ms):"), std::string::npos);
}
