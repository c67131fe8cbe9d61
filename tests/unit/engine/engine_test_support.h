#pragma once
// Engine test helpers: the thread pool, deterministic prompts, greedy requests, and a collector of the
// GenerateOutput events a Scheduler sends (per request id) that waits for requests to finish.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "engine/engine.h"
#include "engine/request.h"
#include "engine/scheduler.h"

namespace glm::testing {

// The pool every engine test runs its models on: ONE thread. These tests are about scheduling,
// batching, caching and speculation against an oracle run on the same pool; that kernels give the same
// bits for any thread count is proven where it is the subject (model/batch_invariance_test.cpp,
// kernels/linear_test.cpp). A 2-thread pool here spent two thirds of its CPU time spinning on the
// tiny fixtures, and under `ctest -j2` two such processes oversubscribed the 2 CI cores (a 9 s test
// took 220 s).
inline ThreadPool& engine_pool() {
  static ThreadPool p(1, false);
  return p;
}

// A prompt of `len` ids in [10, 10 + min(vocab, 1400)), different for each seed (below the tiny vocab's specials).
inline std::vector<int32_t> prompt_of(int len, int seed, int64_t vocab = 1400) {
  std::vector<int32_t> p;
  for (int i = 0; i < len; ++i) p.push_back(int32_t((seed * 7919 + i * 131) % std::min<int64_t>(vocab, 1400) + 10));
  return p;
}

// Greedy, exactly n new tokens (EOS ignored).
inline GenerateRequest greedy_request(const std::string& rid, std::vector<int32_t> prompt, int n) {
  GenerateRequest r;
  r.rid = rid;
  r.input_ids = std::move(prompt);
  r.sampling.temperature = 0;
  r.sampling.max_new_tokens = n;
  r.sampling.ignore_eos = true;
  return r;
}

struct Collected {
  std::vector<int32_t> ids;  // every token of every event, in order
  std::string text;          // every event's new_text, concatenated
  GenerateOutput last;       // the last event (finish reason, counters)
  int events = 0;
};

class Collector {
 public:
  Engine::Sink sink(const std::string& rid) {
    return [this, rid](const GenerateOutput& o) {
      std::lock_guard lk(mu_);
      Collected& c = results_[rid];
      c.ids.insert(c.ids.end(), o.new_token_ids.begin(), o.new_token_ids.end());
      c.text += o.new_text;
      c.last = o;
      ++c.events;
      if (o.finished) {
        ++finished_;
        cv_.notify_all();
      }
    };
  }
  // Fails the test when fewer than n requests finish within the timeout.
  void wait(int n, std::chrono::seconds timeout = std::chrono::seconds(300)) {
    std::unique_lock lk(mu_);
    ASSERT_TRUE(cv_.wait_for(lk, timeout, [&] { return finished_ >= n; })) << finished_ << " of " << n << " finished";
  }
  Collected get(const std::string& rid) {
    std::lock_guard lk(mu_);
    return results_[rid];
  }
  std::map<std::string, Collected> results() {
    std::lock_guard lk(mu_);
    return results_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Collected> results_;
  int finished_ = 0;
};

// Submits every request (in rounds: a round waits for the previous one, so later rounds can hit the
// prefix cache) and returns the results by rid.
inline std::map<std::string, Collected> run(Scheduler& s, const std::vector<std::vector<GenerateRequest>>& rounds) {
  Collector c;
  int n = 0;
  for (const auto& round : rounds) {
    for (const auto& r : round) s.submit(r, c.sink(r.rid));
    n += int(round.size());
    c.wait(n);
  }
  return c.results();
}

inline void expect_same(const std::map<std::string, Collected>& plain, const std::map<std::string, Collected>& spec,
                 const std::string& what) {
  ASSERT_EQ(plain.size(), spec.size());
  for (const auto& [rid, p] : plain) {
    const Collected& s = spec.at(rid);
    EXPECT_EQ(s.ids, p.ids) << what << " " << rid;
    EXPECT_EQ(s.text, p.text) << what << " " << rid;
    EXPECT_EQ(s.last.finish_reason, p.last.finish_reason) << what << " " << rid;
    EXPECT_EQ(s.last.matched_stop, p.last.matched_stop) << what << " " << rid;
    EXPECT_EQ(s.last.completion_tokens, p.last.completion_tokens) << what << " " << rid;
  }
}

// n seeded requests sampling len tokens (temperature 1, top_k 3) from short prompts: the input of the
// distribution tests (speculative_test.cpp, speculative_tree_test.cpp).
inline std::vector<GenerateRequest> sampled_requests(int n, int len) {
  std::vector<GenerateRequest> reqs;
  for (int i = 0; i < n; ++i) {
    GenerateRequest r = greedy_request("s" + std::to_string(i), prompt_of(12, 3), len);
    r.sampling.temperature = 1.0f;
    r.sampling.top_k = 3;
    r.sampling.seed = uint64_t(i) + 1;
    reqs.push_back(r);
  }
  return reqs;
}

// Greedy requests that start thinking (<think> = 1521 ends the prompt) under SGLang's thinking-budget
// processor, budgets 0..9: speculation must end thinking at the same token as plain decoding.
inline std::vector<GenerateRequest> thinking_budget_requests() {
  std::vector<GenerateRequest> reqs;
  for (int budget : {0, 1, 3, 5, 9}) {
    GenerateRequest r = greedy_request("b" + std::to_string(budget), prompt_of(12, budget + 3), 20);
    r.input_ids.push_back(1521);  // <think>
    r.sampling.custom_logit_processor = "Glm4MoeThinkingBudgetLogitProcessor";
    r.sampling.custom_params = {{"thinking_budget", budget}};
    reqs.push_back(r);
  }
  return reqs;
}

// Per output position after the first (which prefill samples), the total variation between the tokens
// plain and speculative decoding sampled is within sampling noise for n requests.
inline void expect_same_distribution(const std::map<std::string, Collected>& plain,
                                     const std::map<std::string, Collected>& spec, int n, int len) {
  for (int pos = 1; pos < len; ++pos) {
    std::map<int32_t, double> p, q;
    for (const auto& [rid, r] : plain) p[r.ids[size_t(pos)]] += 1.0 / n;
    for (const auto& [rid, r] : spec) q[r.ids[size_t(pos)]] += 1.0 / n;
    double tv = 0;
    for (const auto& [t, v] : p) tv += std::abs(v - (q.count(t) ? q[t] : 0.0));
    for (const auto& [t, v] : q)
      if (!p.count(t)) tv += v;
    tv /= 2;
    EXPECT_LT(tv, 0.08) << "output position " << pos << " (" << p.size() << " distinct tokens)";
    std::printf("[ position %d ] %zu tokens, total variation %.4f\n", pos, p.size(), tv);
  }
}

// A scheduler over a fixture (tests/fixtures/<name>) with a 4096-token pool, batches of up to 128 tokens.
inline std::unique_ptr<Scheduler> fixture_scheduler(const std::string& name = "glm45-tiny") {
  const std::string dir = std::string(GLM_FIXTURES_DIR) + "/" + name;
  LoadOptions opt;
  opt.max_batch_tokens = 128;
  SchedulerConfig cfg;
  cfg.kv_capacity_tokens = 4096;
  return std::make_unique<Scheduler>(Glm4MoeModel::load(dir, engine_pool(), opt),
                                     Tokenizer::from_file(dir + "/tokenizer.json"), cfg);
}

inline void expect_pool_returns(Scheduler& s) {
  EXPECT_EQ(s.kv_free_pages() + s.cache_pages(), s.kv_pool_pages());
  EXPECT_TRUE(s.flush_cache());
  EXPECT_EQ(s.kv_free_pages(), s.kv_pool_pages());
}

}  // namespace glm::testing
