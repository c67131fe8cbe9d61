// Speculative decoding (engine/speculative.h) on the tiny fixtures. Oracle: the same scheduler without
// speculation (itself checked against the model run alone in test_scheduler.cpp): greedy requests must
// give the same tokens, text and finish reasons, token for token, in every combination.
#include <gtest/gtest.h>

#include <cmath>
#include <condition_variable>
#include <map>
#include <mutex>

#include "core/error.h"
#include "core/thread_pool.h"
#include "engine/scheduler.h"
#include "engine_test_support.h"

namespace glm {
namespace {

ThreadPool& pool() { return testing::engine_pool(); }

std::string fixture(const std::string& name) { return std::string(GLM_FIXTURES_DIR) + "/" + name; }

using testing::Collected;
using testing::Collector;
using testing::greedy_request;
using testing::prompt_of;
using testing::expect_pool_returns;
using testing::expect_same;
using testing::run;
using testing::expect_same_distribution;
using testing::sampled_requests;
using testing::thinking_budget_requests;
using Result = Collected;

std::unique_ptr<Scheduler> make(const std::string& dir, SchedulerConfig cfg, int steps, bool adaptive = false) {
  LoadOptions opt;
  opt.max_batch_tokens = 128;
  opt.nextn = steps > 0 ? NextNLoad::Require : NextNLoad::Skip;
  if (cfg.kv_capacity_tokens == 0) cfg.kv_capacity_tokens = 4096;
  cfg.spec.num_steps = steps;
  cfg.spec.guard = false;  // the fixed depth, whatever it costs here: these tests are about exactness
  cfg.spec.adaptive = adaptive;
  return std::make_unique<Scheduler>(Glm4MoeModel::load(dir, pool(), opt),
                                     Tokenizer::from_file(dir + "/tokenizer.json"), cfg);
}

// Every fixture: several concurrent requests of mixed lengths, small prefill chunks, then the same
// prompts again (prefix-cache hits). Greedy tokens equal plain decoding; the trained MTP layers get
// drafts accepted.
TEST(Speculative, GreedyEqualsPlainOnEveryFixtureBatchedChunkedAndCached) {
  for (const char* name : {"glm45-tiny", "glm-odd-tiny", "glm45air-tiny-fp8", "glm-tiny-fp8-channel"}) {
    std::vector<std::vector<GenerateRequest>> rounds(2);
    for (int round = 0; round < 2; ++round)
      for (int i = 0; i < 5; ++i)
        rounds[size_t(round)].push_back(
            greedy_request(std::to_string(round) + "_" + std::to_string(i), prompt_of(6 + i * 15, 30 + i), 12 + 3 * i));
    SchedulerConfig cfg;
    cfg.chunked_prefill_size = 7;
    cfg.max_prefill_tokens = 20;
    auto plain = run(*make(fixture(name), cfg, 0), rounds);
    auto spec_s = make(fixture(name), cfg, 3);
    auto spec = run(*spec_s, rounds);
    expect_same(plain, spec, name);
    int verify = 0, accepted = 0, drafted = 0, completion = 0;
    for (const auto& [rid, r] : spec) {
      verify += r.last.spec_verify_ct;
      accepted += r.last.spec_accepted_tokens;
      drafted += r.last.spec_draft_tokens;
      completion += r.last.completion_tokens;
      EXPECT_GT(r.last.spec_verify_ct, 0) << name << " " << rid;
      EXPECT_LE(r.last.spec_verify_ct, r.last.completion_tokens) << name << " " << rid;
      if (rid[0] == '1' && rid != "1_0") {
        EXPECT_GT(r.last.cached_tokens, 0) << name << " " << rid << " (prompt cached)";
      }
    }
    EXPECT_GT(accepted, 0) << name << ": the trained MTP layer had no draft accepted";
    // The draft's K/V that cache hits bring along is exact: the second round drafts exactly as the first.
    for (int i = 0; i < 5; ++i)
      EXPECT_EQ(spec.at("1_" + std::to_string(i)).last.spec_accepted_tokens,
                spec.at("0_" + std::to_string(i)).last.spec_accepted_tokens) << name << " request " << i;
    // Every verify round yields its accepted drafts plus one token; the first token comes from prefill.
    EXPECT_EQ(completion, accepted + verify + int(spec.size())) << name;
    EXPECT_GT(spec_s->stats().spec_accept_length, 1.0) << name;
    std::printf("[ %s ] %d rounds, %d/%d drafts accepted, accept length %.2f\n", name, verify, accepted, drafted,
                spec_s->stats().spec_accept_length);
    expect_pool_returns(*spec_s);
  }
}

// A prefix-cache hit whose prompt goes on differently right after the cached pages: the draft's K/V at
// the last cached position depended on the next token, so it is recomputed; the request then drafts
// exactly as on a cold start (same accepted count, same tokens).
TEST(Speculative, CacheHitDraftsLikeAColdStart) {
  const std::string dir = fixture("glm-tiny-fp8-channel");
  auto first = prompt_of(40, 5);
  std::vector<GenerateRequest> later;
  for (int i = 0; i < 4; ++i) {
    auto p = first;
    p.resize(32);
    for (int j = 0; j < 8; ++j) p.push_back(int32_t(100 + 37 * i + 11 * j));
    later.push_back(greedy_request("later" + std::to_string(i), p, 30));
  }
  SchedulerConfig cfg;
  auto cached = make(dir, cfg, 3);
  auto warm = run(*cached, {{greedy_request("first", first, 30)}, later});
  cfg.disable_radix_cache = true;
  auto cold = run(*make(dir, cfg, 3), {later});
  for (const auto& [rid, c] : cold) {
    EXPECT_EQ(warm.at(rid).last.cached_tokens, 31) << rid;
    EXPECT_EQ(warm.at(rid).ids, c.ids) << rid;
    EXPECT_EQ(warm.at(rid).last.spec_accepted_tokens, c.last.spec_accepted_tokens) << rid;
    EXPECT_EQ(warm.at(rid).last.spec_verify_ct, c.last.spec_verify_ct) << rid;
  }
}

// Adaptive depth (calibrated at start, re-chosen every round, exploring deeper every 16th): the depth
// changes between rounds and requests keep their exact greedy tokens.
TEST(Speculative, AdaptiveDepthStaysExact) {
  const std::string dir = fixture("glm-odd-tiny");
  std::vector<GenerateRequest> reqs;
  for (int i = 0; i < 6; ++i) reqs.push_back(greedy_request("a" + std::to_string(i), prompt_of(8 + 11 * i, 90 + i), 40));
  SchedulerConfig cfg;
  auto plain = run(*make(dir, cfg, 0), {reqs});
  auto spec = run(*make(dir, cfg, 5, true), {reqs});
  expect_same(plain, spec, "adaptive");
}

// Plain rounds (depth 0) defer the draft-extend and keep the target's hidden states; the catch-up when
// drafting resumes must leave the draft exactly as extending every round would: same drafts accepted.
TEST(Speculative, DeferredDraftExtendCatchesUpExactly) {
  const std::string dir = fixture("glm45-tiny");
  // One request at a time: the rounds (and so the schedule's depths) do not depend on submission timing.
  std::vector<std::vector<GenerateRequest>> reqs;
  for (int i = 0; i < 5; ++i) reqs.push_back({greedy_request("d" + std::to_string(i), prompt_of(9 + 13 * i, 70 + i), 45)});
  SchedulerConfig cfg;
  cfg.spec.depth_schedule = {0, 0, 2, 0, 1, 0, 0, 0, 3, 3, 0};
  auto deferred = run(*make(dir, cfg, 3), reqs);
  cfg.spec.defer_plain_extends = false;
  auto eager = run(*make(dir, cfg, 3), reqs);
  expect_same(eager, deferred, "deferred extend");
  int accepted = 0;
  for (const auto& [rid, r] : eager) {
    EXPECT_EQ(deferred.at(rid).last.spec_accepted_tokens, r.last.spec_accepted_tokens) << rid;
    EXPECT_EQ(deferred.at(rid).last.spec_draft_tokens, r.last.spec_draft_tokens) << rid;
    accepted += r.last.spec_accepted_tokens;
  }
  EXPECT_GT(accepted, 0);
}

// Stops inside an accepted run: stop ids and stop strings at every position of a greedy output, and
// max_new_tokens at every length; the request ends exactly where plain decoding ends it.
TEST(Speculative, StopsAndLimitsInsideTheAcceptedRun) {
  const std::string dir = fixture("glm45-tiny");
  SchedulerConfig cfg;
  auto plain_s = make(dir, cfg, 0);
  auto spec_s = make(dir, cfg, 4);
  const auto prompt = prompt_of(20, 7);
  auto base = run(*plain_s, {{greedy_request("base", prompt, 24)}}).at("base");
  ASSERT_EQ(base.ids.size(), 24u);
  std::vector<GenerateRequest> reqs;
  for (int j = 1; j < 16; ++j) {
    GenerateRequest r = greedy_request("len" + std::to_string(j), prompt, j);
    reqs.push_back(r);
    r = greedy_request("id" + std::to_string(j), prompt, 24);
    r.sampling.stop_token_ids = {base.ids[size_t(j)]};
    reqs.push_back(r);
  }
  // Stop strings: pieces of the greedy text at several offsets (matched on text, so any token boundary).
  for (size_t off = 1; off + 3 < base.text.size() && off < 40; off += 5) {
    GenerateRequest r = greedy_request("str" + std::to_string(off), prompt, 24);
    r.sampling.stop = {base.text.substr(off, 3)};
    reqs.push_back(r);
    r.rid = "keep" + std::to_string(off);
    r.sampling.no_stop_trim = true;
    reqs.push_back(r);
  }
  GenerateRequest r = greedy_request("min", prompt, 24);
  r.sampling.min_new_tokens = 6;
  r.sampling.stop_token_ids = {base.ids[2], base.ids[8]};
  reqs.push_back(r);
  auto plain = run(*plain_s, {reqs});
  auto spec = run(*spec_s, {reqs});
  expect_same(plain, spec, "stops");
  int accepted = 0;
  for (const auto& [rid, res] : spec) accepted += res.last.spec_accepted_tokens;
  EXPECT_GT(accepted, 0);
  expect_pool_returns(*spec_s);
}

// SGLang's thinking budget must end thinking at the same token with and without speculation: the
// processor sees, for every verified row, the output with the earlier accepted drafts appended.
TEST(Speculative, ThinkingBudgetEndsAtTheSameToken) {
  const std::string dir = fixture("glm45-tiny");
  std::vector<GenerateRequest> reqs = thinking_budget_requests();
  SchedulerConfig cfg;
  auto plain = run(*make(dir, cfg, 0), {reqs});
  auto spec = run(*make(dir, cfg, 3), {reqs});
  expect_same(plain, spec, "thinking budget");
  for (const auto& [rid, res] : plain)
    EXPECT_NE(std::find(res.ids.begin(), res.ids.end(), 1522), res.ids.end()) << rid << ": </think> never forced";
}

// Constrained decoding (response_format JSON): the constraint advances by accepted tokens only (the
// output grows one verified token at a time, rejected drafts never enter it), so it masks every verified
// row exactly as in plain decoding.
TEST(Speculative, JsonConstraintMasksEveryVerifiedRow) {
  const std::string dir = fixture("glm45-tiny");
  std::vector<GenerateRequest> reqs;
  for (int i = 0; i < 4; ++i) {
    GenerateRequest r = greedy_request("j" + std::to_string(i), prompt_of(10 + 7 * i, 20 + i), 40);
    r.sampling.ignore_eos = false;
    r.sampling.json_schema = i % 2 ? R"({"type": "object"})" : R"({"type": "array", "items": {"type": "integer"}})";
    reqs.push_back(r);
  }
  SchedulerConfig cfg;
  auto plain = run(*make(dir, cfg, 0), {reqs});
  auto spec = run(*make(dir, cfg, 3), {reqs});
  expect_same(plain, spec, "json constraint");
  for (const auto& [rid, r] : spec) {
    EXPECT_GT(r.last.spec_verify_ct, 0) << rid;
    const size_t first = r.text.find_first_not_of(" \t\n\r");
    ASSERT_NE(first, std::string::npos) << rid;
    EXPECT_TRUE(r.text[first] == '{' || r.text[first] == '[') << rid << ": " << r.text;  // the constraint ran
  }
}

// Penalties and logprobs per verified row, and the streamed events: same tokens and logprobs; text
// assembled from the (multi-token) events equals the whole text.
TEST(Speculative, PenaltiesLogprobsAndStreaming) {
  const std::string dir = fixture("glm45air-tiny-fp8");
  std::vector<GenerateRequest> reqs;
  for (int i = 0; i < 3; ++i) {
    GenerateRequest r = greedy_request("p" + std::to_string(i), prompt_of(10 + 9 * i, 50 + i), 20);
    r.sampling.repetition_penalty = 1.3f;
    r.sampling.frequency_penalty = 0.4f * float(i);
    r.return_logprob = true;
    r.top_logprobs_num = 2;
    reqs.push_back(r);
  }
  SchedulerConfig cfg;
  auto plain = run(*make(dir, cfg, 0), {reqs});
  auto spec = run(*make(dir, cfg, 3), {reqs});
  expect_same(plain, spec, "penalties");
  for (const auto& [rid, res] : spec) EXPECT_LT(res.events, plain.at(rid).events + 1) << rid;
}

// Sampling requests run through rejection sampling (its distribution is tested in
// tests/unit/sampling/draft_verify_test.cpp): valid tokens, the right count, the pool returns.
TEST(Speculative, SamplingRequestsComplete) {
  const std::string dir = fixture("glm45-tiny");
  SchedulerConfig cfg;
  auto s = make(dir, cfg, 3);
  std::vector<GenerateRequest> reqs;
  for (int i = 0; i < 4; ++i) {
    GenerateRequest r = greedy_request("s" + std::to_string(i), prompt_of(15, 80 + i), 25);
    r.sampling.temperature = 0.7f;
    r.sampling.top_p = 0.9f;
    r.sampling.seed = uint64_t(i);
    reqs.push_back(r);
  }
  auto res = run(*s, {reqs});
  int accepted = 0;
  for (const auto& [rid, r] : res) {
    EXPECT_EQ(r.ids.size(), 25u) << rid;
    for (int32_t t : r.ids) EXPECT_TRUE(t >= 0 && t < 1552) << rid;
    accepted += r.last.spec_accepted_tokens;
  }
  EXPECT_GT(accepted, 0);
  expect_pool_returns(*s);
}

// End to end, sampled tokens keep the target distribution: thousands of seeded requests with and without
// speculation; the marginal distribution of each output position (after the first, which prefill
// samples) agrees within sampling noise (total variation; a verify that accepted drafts too often, or
// resampled without removing the draft, moves it far beyond the bound).
TEST(Speculative, SampledTokensKeepTheTargetDistribution) {
  const std::string dir = fixture("glm-tiny-fp8-channel");
  const int n = 1500, len = 4;
  const std::vector<GenerateRequest> reqs = sampled_requests(n, len);
  SchedulerConfig cfg;
  cfg.max_running_requests = 128;
  auto plain = run(*make(dir, cfg, 0), {reqs});
  auto spec = run(*make(dir, cfg, 3), {reqs});
  int accepted = 0;
  for (const auto& [rid, r] : spec) accepted += r.last.spec_accepted_tokens;
  EXPECT_GT(accepted, n / 4);  // drafts were verified and accepted often enough to matter
  expect_same_distribution(plain, spec, n, len);
}

TEST(Speculative, RefusesAModelWithoutItsMtpLayer) {
  LoadOptions opt;
  opt.nextn = NextNLoad::Skip;
  const std::string dir = fixture("glm45-tiny");
  SchedulerConfig cfg;
  cfg.kv_capacity_tokens = 1024;
  cfg.spec.num_steps = 3;
  EXPECT_THROW(Scheduler(Glm4MoeModel::load(dir, pool(), opt), Tokenizer::from_file(dir + "/tokenizer.json"), cfg),
               GlmError);
}

}  // namespace
}  // namespace glm
