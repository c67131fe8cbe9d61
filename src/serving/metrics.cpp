#include "serving/metrics.h"

#include <algorithm>

#include <fmt/format.h>

namespace glm::serving {

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value, uint64_t count) {
  std::lock_guard lk(mu_);
  size_t b = 0;
  while (b < bounds_.size() && value > bounds_[b]) ++b;
  counts_[b] += count;
  sum_ += value * static_cast<double>(count);
  total_ += count;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  std::lock_guard lk(mu_);
  uint64_t cumulative = 0;
  for (size_t b = 0; b < bounds_.size(); ++b) {
    cumulative += counts_[b];
    out += fmt::format("{}_bucket{{{},le=\"{}\"}} {}\n", name, labels, bounds_[b], cumulative);
  }
  out += fmt::format("{}_bucket{{{},le=\"+Inf\"}} {}\n", name, labels, total_);
  out += fmt::format("{}_sum{{{}}} {}\n", name, labels, sum_);
  out += fmt::format("{}_count{{{}}} {}\n", name, labels, total_);
}

namespace {
std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}
}  // namespace

Metrics::Metrics(std::string model_name)
    : labels_("model_name=\"" + escape_label(model_name) + "\""),
      ttft_({0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8, 10, 20, 40, 60, 80, 100, 200, 400}),
      itl_({0.002, 0.004, 0.006, 0.008, 0.010, 0.015, 0.020, 0.025, 0.030, 0.035, 0.040, 0.060, 0.080, 0.100,
            0.200, 0.400, 0.600, 0.800, 1.000, 2.000, 4.000, 6.000, 8.000}),
      e2e_({0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8, 10, 20, 40, 60, 80, 100, 200, 400, 600, 1200, 1800, 2400}) {}

void Metrics::observe_inter_token_latency(double interval, int num_tokens) {
  if (num_tokens <= 0) return;
  itl_.observe(interval / num_tokens, static_cast<uint64_t>(num_tokens));
}

void Metrics::observe_finished_request(int prompt_tokens, int generation_tokens, int cached_tokens, double e2e) {
  prompt_tokens_.fetch_add(prompt_tokens);
  generation_tokens_.fetch_add(generation_tokens);
  cached_tokens_.fetch_add(cached_tokens);
  requests_.fetch_add(1);
  e2e_.observe(e2e);
}

std::string Metrics::render(const EngineStats& s) const {
  std::string out;
  auto counter = [&](const char* name, const char* help, uint64_t v) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n{}{{{}}} {}\n", name, help, name, name, labels_, v);
  };
  auto gauge = [&](const char* name, const char* help, double v) {
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n{}{{{}}} {}\n", name, help, name, name, labels_, v);
  };
  auto histogram = [&](const char* name, const char* help, const Histogram& h) {
    out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
    h.render(out, name, labels_);
  };
  counter("sglang:prompt_tokens_total", "Number of prefill tokens processed.", prompt_tokens_.load());
  counter("sglang:generation_tokens_total", "Number of generation tokens processed.", generation_tokens_.load());
  counter("sglang:cached_tokens_total", "Number of cached prompt tokens.", cached_tokens_.load());
  counter("sglang:num_requests_total", "Number of requests processed.", requests_.load());
  counter("sglang:num_aborted_requests_total", "Number of requests aborted.", aborted_.load());
  histogram("sglang:time_to_first_token_seconds", "Histogram of time to first token in seconds.", ttft_);
  histogram("sglang:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", itl_);
  histogram("sglang:e2e_request_latency_seconds", "Histogram of End-to-end request latency in seconds", e2e_);

  const KvTokenUsage kv = kv_token_usage(s);
  double hit = s.total_prompt_tokens > 0
                   ? static_cast<double>(s.total_cached_tokens) / static_cast<double>(s.total_prompt_tokens)
                   : 0;
  gauge("sglang:num_running_reqs", "The number of running requests.", s.num_running);
  gauge("sglang:num_queue_reqs", "The number of requests in the waiting queue.", s.num_waiting);
  gauge("sglang:num_used_tokens", "The number of used tokens.", static_cast<double>(kv.num_used));
  gauge("sglang:token_usage", "The token usage.", kv.token_usage);
  gauge("sglang:gen_throughput", "The generation throughput (token/s).", s.gen_throughput_tok_s);
  gauge("sglang:cache_hit_rate", "The prefix cache hit rate.", hit);
  gauge("sglang:spec_accept_length", "The average acceptance length of speculative decoding.", s.spec_accept_length);
  return out;
}

KvTokenUsage kv_token_usage(const EngineStats& s) {
  KvTokenUsage u;
  u.available = s.kv_free_tokens;
  u.evictable = s.kv_cached_tokens;
  u.num_used = std::max<int64_t>(0, s.kv_capacity_tokens - u.available - u.evictable);
  u.token_usage = s.kv_capacity_tokens > 0 ? static_cast<double>(u.num_used) / static_cast<double>(s.kv_capacity_tokens) : 0;
  return u;
}

void RequestTimer::on_tokens(Metrics* m, int new_tokens) {
  auto now = Clock::now();
  if (m && new_tokens > 0) {
    if (!first_seen) m->observe_time_to_first_token(std::chrono::duration<double>(now - start).count());
    else m->observe_inter_token_latency(std::chrono::duration<double>(now - last).count(), new_tokens);
  }
  if (new_tokens > 0) {
    first_seen = true;
    last = now;
  }
}

}  // namespace glm::serving
