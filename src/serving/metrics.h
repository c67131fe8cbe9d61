#pragma once
// Prometheus metrics under SGLang's names (python/sglang/srt/metrics/collector.py), label
// model_name="<served model name>". Request-side histograms are observed by the HTTP layer;
// scheduler gauges are read from Engine::stats() when /metrics is scraped.
#include <array>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace glm::serving {

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value, uint64_t count = 1);
  // Exposition lines for `name` with `labels` (already formatted as k="v").
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  mutable std::mutex mu_;
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket (not cumulative)
  double sum_ = 0;
  uint64_t total_ = 0;
};

class Metrics {
 public:
  explicit Metrics(std::string model_name);

  void observe_time_to_first_token(double seconds) { ttft_.observe(seconds); }
  // `interval` seconds covering `num_tokens` new tokens (SGLang divides and counts n tokens).
  void observe_inter_token_latency(double interval, int num_tokens);
  void observe_finished_request(int prompt_tokens, int generation_tokens, int cached_tokens, double e2e_seconds);
  void observe_aborted_request() { aborted_.fetch_add(1); }

  std::string render(const EngineStats& stats) const;

 private:
  std::string labels_;
  std::atomic<uint64_t> prompt_tokens_{0}, generation_tokens_{0}, cached_tokens_{0}, requests_{0}, aborted_{0};
  Histogram ttft_, itl_, e2e_;
};

// KV pool occupancy as SGLang's scheduler counts it (_get_token_info): num_used = capacity -
// (available + evictable), so finished requests' pages kept by the prefix cache do not count as
// used (any of them can be evicted when a request needs room; they are copied, never shared).
// Feeds sglang:num_used_tokens / sglang:token_usage and /get_server_info's internal_states.
struct KvTokenUsage {
  int64_t num_used = 0, available = 0, evictable = 0;
  double token_usage = 0;
};
KvTokenUsage kv_token_usage(const EngineStats& s);

// Per-request clock for the histograms above.
struct RequestTimer {
  using Clock = std::chrono::steady_clock;
  Clock::time_point start = Clock::now(), last = start;
  bool first_seen = false;
  // Call with each event's new token count.
  void on_tokens(Metrics* m, int new_tokens);
  double elapsed() const { return std::chrono::duration<double>(Clock::now() - start).count(); }
};

}  // namespace glm::serving
