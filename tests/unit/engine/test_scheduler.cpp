// Scheduler tests on the tiny fixture checkpoints: the oracle is Glm4MoeModel run one sequence at a
// time, greedily, with a fresh KV cache (itself checked against transformers in the model tests).
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>

#include "core/error.h"
#include "core/thread_pool.h"
#include "engine/scheduler.h"
#include "engine_test_support.h"

namespace glm {
namespace {

const std::string kModelDir = std::string(GLM_FIXTURES_DIR) + "/glm45-tiny";

ThreadPool& pool() { return testing::engine_pool(); }

std::unique_ptr<Glm4MoeModel> load_model(int64_t max_batch_tokens = 256, const std::string& dir = kModelDir) {
  LoadOptions opt;
  opt.max_batch_tokens = max_batch_tokens;
  opt.nextn = NextNLoad::Skip;
  return Glm4MoeModel::load(dir, pool(), opt);
}

// Reference: one sequence alone, whole prompt in one forward, then greedy decode.
std::vector<int32_t> model_greedy(Glm4MoeModel& m, const std::vector<int32_t>& prompt, int n,
                                  KvDType kv_dtype = KvDType::BF16) {
  auto kv_pool = m.make_kv_pool((int64_t(prompt.size()) + n) / 16 + 2, 16, kv_dtype);
  KvSequence seq;
  std::vector<int32_t> out, step = prompt;
  int64_t pos = 0;
  const int64_t V = m.config().vocab_size;
  for (int i = 0; i < n; ++i) {
    SequenceInput in{step, pos, &seq, false};
    ForwardResult r = m.forward(std::span<const SequenceInput>(&in, 1), *kv_pool);
    pos += int64_t(step.size());
    int32_t next = int32_t(std::max_element(r.logits, r.logits + V) - r.logits);
    out.push_back(next);
    step.assign(1, next);
  }
  seq.release(*kv_pool);
  return out;
}

using testing::Collected;
using testing::Collector;
using testing::greedy_request;
using testing::prompt_of;

std::unique_ptr<Scheduler> make_scheduler(SchedulerConfig cfg, int64_t max_batch_tokens = 256,
                                          const std::string& dir = kModelDir) {
  auto tok = Tokenizer::from_file(dir + "/tokenizer.json");
  if (cfg.kv_capacity_tokens == 0) cfg.kv_capacity_tokens = 4096;
  return std::make_unique<Scheduler>(load_model(max_batch_tokens, dir), tok, cfg);
}

// Every page is either free or held by the prefix cache once idle; a flush frees them all.
void expect_pool_returns(Scheduler& s) {
  EXPECT_EQ(s.kv_free_pages() + s.cache_pages(), s.kv_pool_pages());
  EXPECT_TRUE(s.flush_cache());
  EXPECT_EQ(s.cache_pages(), 0);
  EXPECT_EQ(s.kv_free_pages(), s.kv_pool_pages());
}

TEST(Scheduler, GreedyEqualsModelAloneAndInBatchesAndChunks) {
  auto ref_model = load_model();
  std::vector<std::vector<int32_t>> prompts;
  std::vector<std::vector<int32_t>> refs;
  const int n = 12;
  for (int i = 0; i < 6; ++i) {
    prompts.push_back(prompt_of(5 + i * 23, i + 1));
    refs.push_back(model_greedy(*ref_model, prompts.back(), n));
  }
  for (int64_t chunk : {int64_t(0), int64_t(7), int64_t(64)}) {
    SchedulerConfig cfg;
    cfg.chunked_prefill_size = chunk;
    cfg.max_prefill_tokens = 100;
    auto s = make_scheduler(cfg);
    Collector c;
    for (size_t i = 0; i < prompts.size(); ++i) {
      std::string rid = "r" + std::to_string(i);
      s->submit(greedy_request(rid, prompts[i], n), c.sink(rid));
    }
    c.wait(int(prompts.size()));
    for (size_t i = 0; i < prompts.size(); ++i) {
      Collected got = c.get("r" + std::to_string(i));
      EXPECT_EQ(got.ids, refs[i]) << "chunk " << chunk << " request " << i;
      EXPECT_EQ(got.last.finish_reason, FinishReason::Length);
      EXPECT_EQ(got.last.completion_tokens, n);
    }
    expect_pool_returns(*s);
  }
}

// Batch invariance on every fixture (odd shapes, FP8 block and channel formats): each request's greedy
// tokens equal the model run alone, while batched with others, prefilled in 5-token chunks, and after
// a cache hit.
TEST(Scheduler, BatchInvarianceOnEveryFixture) {
  for (const char* name : {"glm-odd-tiny", "glm45air-tiny-fp8", "glm-tiny-fp8-channel"}) {
    const std::string dir = std::string(GLM_FIXTURES_DIR) + "/" + name;
    std::vector<std::vector<int32_t>> prompts, refs;
    {
      auto ref_model = load_model(256, dir);
      for (int i = 0; i < 5; ++i) {
        prompts.push_back(prompt_of(9 + i * 17, 60 + i));
        for (auto& t : prompts.back()) t %= int32_t(ref_model->config().vocab_size);
        refs.push_back(model_greedy(*ref_model, prompts.back(), 10));
      }
    }
    SchedulerConfig cfg;
    cfg.chunked_prefill_size = 5;
    cfg.max_prefill_tokens = 12;
    auto s = make_scheduler(cfg, 64, dir);
    Collector c;
    for (int round = 0; round < 2; ++round) {  // the second round hits the prefix cache
      for (size_t i = 0; i < prompts.size(); ++i) {
        std::string rid = std::to_string(round) + "_" + std::to_string(i);
        s->submit(greedy_request(rid, prompts[i], 10), c.sink(rid));
      }
      c.wait(int((round + 1) * prompts.size()));
    }
    for (size_t i = 0; i < prompts.size(); ++i) {
      EXPECT_EQ(c.get("0_" + std::to_string(i)).ids, refs[i]) << name << " request " << i;
      Collected hit = c.get("1_" + std::to_string(i));
      EXPECT_EQ(hit.ids, refs[i]) << name << " request " << i << " (second round)";
      EXPECT_EQ(hit.last.cached_tokens, int64_t(prompts[i].size() - 1) / 16 * 16) << name << " request " << i;
    }
    expect_pool_returns(*s);
  }
}

// --kv-cache-dtype fp8_e4m3, fp8_e5m2 and float32: the scheduler's pool uses the dtype, and batching, 5-token chunks
// and prefix-cache hits (whole pages copied in that dtype) still give the model-alone greedy tokens.
TEST(Scheduler, EveryKvDtypeIsBatchInvariant) {
  for (KvDType t : {KvDType::FP8_E4M3, KvDType::FP8_E5M2, KvDType::F32}) {
    std::vector<std::vector<int32_t>> prompts, refs;
    {
      auto ref_model = load_model(256);
      for (int i = 0; i < 4; ++i) {
        prompts.push_back(prompt_of(11 + i * 19, 80 + i));
        refs.push_back(model_greedy(*ref_model, prompts.back(), 8, t));
      }
    }
    SchedulerConfig cfg;
    cfg.chunked_prefill_size = 5;
    cfg.max_prefill_tokens = 12;
    cfg.kv_dtype = t;
    auto s = make_scheduler(cfg, 64);
    Collector c;
    for (int round = 0; round < 2; ++round) {  // the second round hits the prefix cache
      for (size_t i = 0; i < prompts.size(); ++i) {
        std::string rid = std::to_string(round) + "_" + std::to_string(i);
        s->submit(greedy_request(rid, prompts[i], 8), c.sink(rid));
      }
      c.wait(int((round + 1) * prompts.size()));
    }
    for (size_t i = 0; i < prompts.size(); ++i) {
      EXPECT_EQ(c.get("0_" + std::to_string(i)).ids, refs[i]) << kv_dtype_name(t) << " request " << i;
      EXPECT_EQ(c.get("1_" + std::to_string(i)).ids, refs[i]) << kv_dtype_name(t) << " request " << i << " (cache hit)";
    }
    expect_pool_returns(*s);
  }
}

TEST(Scheduler, SmallPoolQueuesAndCompletesEverything) {
  // References first: the scheduler thread and this one share the thread pool, which runs one region at a time.
  auto ref_model = load_model();
  std::vector<std::vector<int32_t>> refs;
  for (int i = 0; i < 4; ++i) refs.push_back(model_greedy(*ref_model, prompt_of(30 + i, 40 + i), 8));
  SchedulerConfig cfg;
  cfg.kv_capacity_tokens = 64;  // room for one request at a time
  auto s = make_scheduler(cfg);
  Collector c;
  for (int i = 0; i < 4; ++i)
    s->submit(greedy_request("q" + std::to_string(i), prompt_of(30 + i, 40 + i), 8), c.sink("q" + std::to_string(i)));
  c.wait(4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(c.get("q" + std::to_string(i)).ids, refs[size_t(i)]);
  expect_pool_returns(*s);
}

TEST(Scheduler, ManyConcurrentMixedLengthsBeyondMaxRunning) {
  auto ref_model = load_model();
  const int n_req = 12;
  std::vector<std::vector<int32_t>> prompts, refs;
  for (int i = 0; i < n_req; ++i) {
    prompts.push_back(prompt_of(3 + (i * 37) % 90, 100 + i));
    refs.push_back(model_greedy(*ref_model, prompts.back(), 4 + i % 5));
  }
  SchedulerConfig cfg;
  cfg.max_running_requests = 4;
  cfg.chunked_prefill_size = 32;
  cfg.max_prefill_tokens = 48;
  auto s = make_scheduler(cfg, 64);
  Collector c;
  for (int i = 0; i < n_req; ++i)
    s->submit(greedy_request("m" + std::to_string(i), prompts[size_t(i)], 4 + i % 5), c.sink("m" + std::to_string(i)));
  c.wait(n_req);
  for (int i = 0; i < n_req; ++i) EXPECT_EQ(c.get("m" + std::to_string(i)).ids, refs[size_t(i)]) << i;
  expect_pool_returns(*s);
  EXPECT_EQ(s->stats().total_requests, n_req);
}

TEST(Scheduler, RejectsWhatCanNeverFit) {
  SchedulerConfig cfg;
  cfg.kv_capacity_tokens = 64;
  auto s = make_scheduler(cfg);
  Collector c;
  EXPECT_THROW(s->submit(greedy_request("big", prompt_of(60, 1), 10), c.sink("big")), GlmError);
  EXPECT_THROW(s->submit(greedy_request("empty", {}, 10), c.sink("empty")), GlmError);
  EXPECT_THROW(s->submit(greedy_request("vocab", {1, 999999}, 1), c.sink("vocab")), GlmError);
}

TEST(Scheduler, AbortFreesPages) {
  SchedulerConfig cfg;
  auto s = make_scheduler(cfg);
  Collector c;
  s->submit(greedy_request("long", prompt_of(40, 3), 100000 / 100), c.sink("long"));
  s->submit(greedy_request("queued", prompt_of(10, 4), 5), c.sink("queued"));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  s->abort("long");
  c.wait(2);
  EXPECT_EQ(c.get("long").last.finish_reason, FinishReason::Abort);
  EXPECT_LT(c.get("long").ids.size(), 1000u);
  EXPECT_EQ(c.get("queued").ids.size(), 5u);
  expect_pool_returns(*s);
  EXPECT_EQ(s->stats().kv_free_tokens, s->stats().kv_capacity_tokens);
}

TEST(Scheduler, CacheHitGivesIdenticalTokens) {
  auto ref_model = load_model();
  const auto base = prompt_of(70, 21);
  auto longer = base;
  longer.insert(longer.end(), {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21});
  const auto ref_base = model_greedy(*ref_model, base, 10);
  const auto ref_longer = model_greedy(*ref_model, longer, 10);
  for (bool disable : {false, true}) {
    SchedulerConfig cfg;
    cfg.disable_radix_cache = disable;
    cfg.chunked_prefill_size = 16;
    auto s = make_scheduler(cfg);
    Collector c;
    s->submit(greedy_request("miss", base, 10), c.sink("miss"));
    c.wait(1);
    s->submit(greedy_request("hit", base, 10), c.sink("hit"));
    c.wait(2);
    s->submit(greedy_request("extend", longer, 10), c.sink("extend"));
    c.wait(3);
    EXPECT_EQ(c.get("miss").ids, ref_base);
    EXPECT_EQ(c.get("hit").ids, ref_base);
    EXPECT_EQ(c.get("extend").ids, ref_longer);
    EXPECT_EQ(c.get("miss").last.cached_tokens, 0);
    if (disable) {
      EXPECT_EQ(c.get("hit").last.cached_tokens, 0);
      EXPECT_EQ(c.get("extend").last.cached_tokens, 0);
      EXPECT_EQ(s->cache_pages(), 0);
    } else {
      EXPECT_EQ(c.get("hit").last.cached_tokens, 64);      // whole pages, one prompt token left to compute
      EXPECT_EQ(c.get("extend").last.cached_tokens, 64);   // the first request's output is not in longer
      EXPECT_GT(s->stats().kv_cached_tokens, 0);
    }
    expect_pool_returns(*s);
    s->submit(greedy_request("after_flush", base, 10), c.sink("after_flush"));
    c.wait(4);
    EXPECT_EQ(c.get("after_flush").last.cached_tokens, 0);
    EXPECT_EQ(c.get("after_flush").ids, ref_base);
  }
}

TEST(Scheduler, CachedOutputPagesServeAFollowUpTurn) {
  // A follow-up prompt = previous prompt + its output + more: the output's pages come from the cache.
  auto ref_model = load_model();
  const auto first = prompt_of(40, 31);
  const auto out1 = model_greedy(*ref_model, first, 30);
  auto second = first;
  second.insert(second.end(), out1.begin(), out1.end());
  second.insert(second.end(), {100, 200, 300});
  const auto ref2 = model_greedy(*ref_model, second, 8);
  SchedulerConfig cfg;
  auto s = make_scheduler(cfg);
  Collector c;
  s->submit(greedy_request("t1", first, 30), c.sink("t1"));
  c.wait(1);
  s->submit(greedy_request("t2", second, 8), c.sink("t2"));
  c.wait(2);
  EXPECT_EQ(c.get("t1").ids, out1);
  EXPECT_EQ(c.get("t2").ids, ref2);
  EXPECT_EQ(c.get("t2").last.cached_tokens, 64);  // 69 valid KV positions -> 4 full pages
}

TEST(Scheduler, StopTokenIdAndMinNewTokens) {
  auto ref_model = load_model();
  auto p = prompt_of(20, 9);
  auto ref = model_greedy(*ref_model, p, 10);
  SchedulerConfig cfg;
  auto s = make_scheduler(cfg);
  Collector c;
  auto req = greedy_request("stop", p, 10);
  req.sampling.stop_token_ids = {ref[3]};
  s->submit(req, c.sink("stop"));
  c.wait(1);
  Collected got = c.get("stop");
  // Stops at the first occurrence of the stop id, which is included in the ids.
  size_t first = size_t(std::find(ref.begin(), ref.end(), ref[3]) - ref.begin());
  EXPECT_EQ(got.ids, std::vector<int32_t>(ref.begin(), ref.begin() + long(first) + 1));
  EXPECT_EQ(got.last.finish_reason, FinishReason::Stop);
  ASSERT_TRUE(std::holds_alternative<int32_t>(got.last.matched_stop));
  EXPECT_EQ(std::get<int32_t>(got.last.matched_stop), ref[3]);
}

TEST(Scheduler, StopStringTrimsTextAndHoldsBack) {
  auto ref_model = load_model();
  auto p = prompt_of(16, 11);
  const int n = 16;
  auto ref = model_greedy(*ref_model, p, n);
  auto tok = Tokenizer::from_file(kModelDir + "/tokenizer.json");
  // The full text, decoded the way the scheduler decodes (incrementally).
  IncrementalDecoder dec(tok, true);
  std::string full;
  for (int32_t id : ref) dec.push(id, full);
  full += dec.finish();
  if (full.size() < 6) GTEST_SKIP() << "greedy text too short for a stop string";
  const std::string stop = full.substr(full.size() / 2, 3);
  const size_t at = full.find(stop);
  SchedulerConfig cfg;
  auto s = make_scheduler(cfg);
  Collector c;
  auto req = greedy_request("s1", p, n);
  req.sampling.stop = {stop};
  s->submit(req, c.sink("s1"));
  auto req2 = greedy_request("s2", p, n);
  req2.sampling.stop = {stop};
  req2.sampling.no_stop_trim = true;
  s->submit(req2, c.sink("s2"));
  c.wait(2);
  EXPECT_EQ(c.get("s1").text, full.substr(0, at));
  EXPECT_EQ(c.get("s2").text, full.substr(0, at + stop.size()));
  EXPECT_EQ(c.get("s1").last.finish_reason, FinishReason::Stop);
  ASSERT_TRUE(std::holds_alternative<std::string>(c.get("s1").last.matched_stop));
}

TEST(Scheduler, StreamedTextEqualsWholeDecode) {
  auto tok = Tokenizer::from_file(kModelDir + "/tokenizer.json");
  SchedulerConfig cfg;
  auto s = make_scheduler(cfg);
  Collector c;
  s->submit(greedy_request("t", prompt_of(12, 5), 20), c.sink("t"));
  c.wait(1);
  Collected got = c.get("t");
  EXPECT_EQ(got.text, tok.decode(got.ids, true));
  EXPECT_GE(got.events, 2);
}

}  // namespace
}  // namespace glm
