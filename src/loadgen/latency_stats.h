#pragma once
// Serving-benchmark statistics over finished requests, with sglang.bench_serving's definitions and
// JSON field names (mean/median/std/p99 of TTFT, TPOT, ITL and E2E latency, in ms) plus p90:
//   TTFT  first output token's arrival - send time (per request)
//   TPOT  (latency - ttft) / (output_len - 1), requests with more than one output token
//   ITL   gaps between token arrivals, a chunk of n tokens counts n gaps of dt/n (all requests pooled)
//   E2E   latency of the whole request
// Throughputs divide by the benchmark's wall duration; "concurrency" = sum of latencies / duration.
// Percentiles interpolate linearly between order statistics, as numpy.percentile does.
#include <vector>

#include <nlohmann/json.hpp>

#include "loadgen/request_record.h"

namespace glm::loadgen {

// p in [0, 100]; `values` need not be sorted; 0 for an empty vector.
double percentile(std::vector<double> values, double p);

struct Distribution {
  double mean = 0, median = 0, stdev = 0, p90 = 0, p95 = 0, p99 = 0, max = 0;
  int64_t count = 0;
};
Distribution describe(const std::vector<double>& values);  // population stdev, as numpy.std

// The result object: completed, failed, duration, total_input_tokens, total_output_tokens,
// total_cached_tokens, request/input/output/total throughput, concurrency, and for ttft, tpot, itl,
// e2e_latency: mean_X_ms, median_X_ms, std_X_ms, p90_X_ms, p99_X_ms (itl also p95 and max).
nlohmann::json compute_metrics(const std::vector<RequestRecord>& records, double duration_s);

// The human table (sglang.bench_serving's layout) for a result from compute_metrics plus the
// run's settings (backend, request_rate, max_concurrency).
std::string format_table(const nlohmann::json& result);

}  // namespace glm::loadgen
