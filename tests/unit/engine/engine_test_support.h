#pragma once
// Engine test helpers: the thread pool, deterministic prompts, greedy requests, and a collector of the
// GenerateOutput events a Scheduler sends (per request id) that waits for requests to finish.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "engine/engine.h"
#include "engine/request.h"

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

}  // namespace glm::testing
