#include "loadgen/latency_stats.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace glm::loadgen {

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double rank = std::clamp(p, 0.0, 100.0) / 100.0 * double(v.size() - 1);
  const size_t lo = size_t(std::floor(rank)), hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (rank - double(lo));
}

Distribution describe(const std::vector<double>& v) {
  Distribution d;
  d.count = int64_t(v.size());
  if (v.empty()) return d;
  double sum = 0;
  for (double x : v) sum += x;
  d.mean = sum / double(v.size());
  double ss = 0;
  for (double x : v) ss += (x - d.mean) * (x - d.mean);
  d.stdev = std::sqrt(ss / double(v.size()));
  d.median = percentile(v, 50);
  d.p90 = percentile(v, 90);
  d.p95 = percentile(v, 95);
  d.p99 = percentile(v, 99);
  d.max = *std::max_element(v.begin(), v.end());
  return d;
}

namespace {

void put(nlohmann::json& j, const char* name, const std::vector<double>& seconds, bool itl_extras) {
  const Distribution d = describe(seconds);
  const std::string n = name;
  j["mean_" + n + "_ms"] = d.mean * 1e3;
  j["median_" + n + "_ms"] = d.median * 1e3;
  j["std_" + n + "_ms"] = d.stdev * 1e3;
  j["p90_" + n + "_ms"] = d.p90 * 1e3;
  j["p99_" + n + "_ms"] = d.p99 * 1e3;
  if (itl_extras) {
    j["p95_" + n + "_ms"] = d.p95 * 1e3;
    j["max_" + n + "_ms"] = d.max * 1e3;
  }
}

}  // namespace

nlohmann::json compute_metrics(const std::vector<RequestRecord>& records, double duration_s) {
  std::vector<double> ttft, tpot, itl, e2e;
  int64_t completed = 0, failed = 0, in_tokens = 0, out_tokens = 0, cached = 0;
  double latency_sum = 0;
  for (const auto& r : records) {
    if (!r.success) {
      ++failed;
      continue;
    }
    ++completed;
    in_tokens += r.prompt_len;
    out_tokens += r.output_len;
    cached += r.cached_tokens;
    ttft.push_back(r.ttft);
    e2e.push_back(r.latency);
    latency_sum += r.latency;
    if (r.output_len > 1) tpot.push_back((r.latency - r.ttft) / double(r.output_len - 1));
    itl.insert(itl.end(), r.itl.begin(), r.itl.end());
  }
  const double dur = std::max(duration_s, 1e-9);
  nlohmann::json j;
  j["duration"] = duration_s;
  j["completed"] = completed;
  j["failed"] = failed;
  j["total_input_tokens"] = in_tokens;
  j["total_output_tokens"] = out_tokens;
  j["total_cached_tokens"] = cached;
  j["request_throughput"] = double(completed) / dur;
  j["input_throughput"] = double(in_tokens) / dur;
  j["output_throughput"] = double(out_tokens) / dur;
  j["total_throughput"] = double(in_tokens + out_tokens) / dur;
  j["concurrency"] = latency_sum / dur;
  put(j, "e2e_latency", e2e, false);
  put(j, "ttft", ttft, false);
  put(j, "tpot", tpot, false);
  put(j, "itl", itl, true);
  return j;
}

namespace {

std::string setting(const nlohmann::json& j, const char* key, const char* unset) {
  if (!j.contains(key) || j[key].is_null()) return unset;
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

}  // namespace

std::string format_table(const nlohmann::json& j) {
  std::string out;
  auto title = [&](const std::string& s, char fill) {  // centred in 50 columns, as Python's "{:=^50}"
    const size_t pad = s.size() < 50 ? 50 - s.size() : 0;
    out += std::string(pad / 2, fill) + s + std::string(pad - pad / 2, fill) + "\n";
  };
  auto row = [&](const char* label, const std::string& value) { out += fmt::format("{:<40} {:<10}\n", label, value); };
  auto num = [&](const char* label, const char* key) {
    row(label, fmt::format("{:.2f}", j.value(key, 0.0)));
  };
  auto count = [&](const char* label, const char* key) { row(label, fmt::format("{}", j.value(key, int64_t(0)))); };
  title(" Serving Benchmark Result ", '=');
  row("Backend:", setting(j, "backend", "?"));
  row("Traffic request rate:", setting(j, "request_rate", "inf"));
  row("Max request concurrency:", setting(j, "max_concurrency", "not set"));
  count("Successful requests:", "completed");
  count("Failed requests:", "failed");
  num("Benchmark duration (s):", "duration");
  count("Total input tokens:", "total_input_tokens");
  count("Total generated tokens:", "total_output_tokens");
  count("Total cached prompt tokens:", "total_cached_tokens");
  num("Request throughput (req/s):", "request_throughput");
  num("Input token throughput (tok/s):", "input_throughput");
  num("Output token throughput (tok/s):", "output_throughput");
  num("Total token throughput (tok/s):", "total_throughput");
  num("Concurrency:", "concurrency");
  struct Block {
    const char *title, *key, *label;
  };
  for (const Block& b : {Block{"End-to-End Latency", "e2e_latency", "E2E Latency"},
                         Block{"Time to First Token", "ttft", "TTFT"},
                         Block{"Time per Output Token (excl. 1st token)", "tpot", "TPOT"},
                         Block{"Inter-Token Latency", "itl", "ITL"}}) {
    title(b.title, '-');
    for (const char* stat : {"mean", "median", "p90", "p99"}) {
      const std::string key = fmt::format("{}_{}_ms", stat, b.key);
      const std::string label = fmt::format("{} {} (ms):", stat == std::string("mean") ? "Mean"
                                                           : stat == std::string("median") ? "Median"
                                                           : stat == std::string("p90") ? "P90" : "P99",
                                            b.label);
      row(label.c_str(), fmt::format("{:.2f}", j.value(key, 0.0)));
    }
  }
  out += std::string(50, '=') + "\n";
  return out;
}

}  // namespace glm::loadgen
