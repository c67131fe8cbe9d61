// Tree drafting (--speculative-eagle-topk > 1; engine/spec_tree.h). The tree builder on handcrafted
// scores, the page forks on a pool, and end to end on the tiny fixtures against the oracle of
// speculative_test.cpp: the scheduler without speculation. Greedy requests give the same tokens, text and
// finish reasons token for token; pages go back to the pool exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "core/thread_pool.h"
#include "engine/scheduler.h"
#include "engine/spec_tree.h"
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

// steps 0: no speculation; topk 1: the chain; topk > 1: a tree of `draft_tokens` nodes.
std::unique_ptr<Scheduler> make(const std::string& dir, SchedulerConfig cfg, int steps, int topk = 1,
                                 int draft_tokens = 0, bool guard = false) {
  LoadOptions opt;
  opt.max_batch_tokens = 128;
  opt.nextn = steps > 0 ? NextNLoad::Require : NextNLoad::Skip;
  if (cfg.kv_capacity_tokens == 0) cfg.kv_capacity_tokens = 8192;
  cfg.spec.num_steps = steps;
  cfg.spec.topk = topk;
  cfg.spec.num_draft_tokens = draft_tokens > 0 ? draft_tokens : steps + 1;
  cfg.spec.guard = guard;
  return std::make_unique<Scheduler>(Glm4MoeModel::load(dir, pool(), opt),
                                     Tokenizer::from_file(dir + "/tokenizer.json"), cfg);
}

double accept_length(const std::map<std::string, Collected>& res) {
  int rounds = 0, tokens = 0;
  for (const auto& [rid, r] : res) {
    rounds += r.last.spec_verify_ct;
    tokens += r.last.spec_accepted_tokens + r.last.spec_verify_ct;
  }
  return rounds ? double(tokens) / rounds : 0.0;
}

// Candidates: root children a (log p -0.1), b (-1.0), c (-3.0); a's children a1 (-0.2: -0.3), a2 (-2.5:
// -2.6); b's child b1 (-0.1: -1.1); a1's child a11 (-0.05: -0.35). Keeping 5 nodes by cumulative score:
// a (-0.1), a1 (-0.3), a11 (-0.35), b (-1.0), b1 (-1.1); c and a2 are left out.
TEST(SpecTree, SelectsTheBestNodesByCumulativeScore) {
  std::vector<DraftCandidate> c{{10, -1, -0.1f}, {11, -1, -1.0f}, {12, -1, -3.0f},
                                {20, 0, -0.3f},  {21, 0, -2.6f},  {22, 1, -1.1f}, {30, 3, -0.35f}};
  DraftTree t = select_tree(c, 5);
  ASSERT_EQ(t.size(), 5);
  EXPECT_EQ(t.token, (std::vector<int32_t>{10, 11, 20, 22, 30}));  // creation order
  EXPECT_EQ(t.parent, (std::vector<int>{-1, -1, 0, 1, 2}));
  EXPECT_EQ(t.depth, (std::vector<int>{1, 1, 2, 2, 3}));
  EXPECT_EQ(t.children(-1), (std::vector<int>{0, 1}));  // best first
  ASSERT_EQ(t.paths.size(), 2u);                        // leaves b1 and a11, in creation order
  EXPECT_EQ(t.paths[0], (std::vector<int>{1, 3}));
  EXPECT_EQ(t.paths[1], (std::vector<int>{0, 2, 4}));
  EXPECT_EQ(t.home, (std::vector<int>{1, 0, 1, 0, 1}));
  // Equal scores (a child of probability 1) keep the parent: it was created first.
  std::vector<DraftCandidate> tie{{1, -1, -0.5f}, {2, -1, -0.7f}, {3, 0, -0.5f}};
  DraftTree u = select_tree(tie, 2);
  EXPECT_EQ(u.token, (std::vector<int32_t>{1, 3}));
  EXPECT_EQ(u.parent, (std::vector<int>{-1, 0}));
  // Keeping fewer paths drops their nodes from the children lists.
  keep_paths(t, 1);
  EXPECT_EQ(t.children(-1), (std::vector<int>{1}));
  EXPECT_TRUE(t.children(0).empty());
  EXPECT_EQ(t.home[3], 0);
}

TEST(SpecTree, BeamsKeepTheBestExpansions) {
  std::vector<DraftCandidate> c{{10, -1, -0.1f}, {11, -1, -1.0f}};
  const std::vector<int> beams{0, 1};
  // Beam 0's children: 20 (-0.2), 21 (-3); beam 1's: 22 (-0.05), 23 (-0.5).
  const std::vector<int32_t> ids{20, 21, 22, 23};
  const std::vector<float> logp{-0.2f, -3.0f, -0.05f, -0.5f};
  std::vector<int> next = expand_beams(c, beams, ids, logp, 2);
  ASSERT_EQ(c.size(), 6u);  // every expansion stays a candidate
  EXPECT_EQ(next, (std::vector<int>{2, 4}));  // 20 (-0.3) and 22 (-1.05); 23 is -1.5, 21 is -3.1
  EXPECT_FLOAT_EQ(c[4].score, -1.05f);
  EXPECT_EQ(c[4].parent, 1);
  std::vector<int32_t> top;
  std::vector<float> lp;
  const float row[5] = {0.0f, 2.0f, 1.0f, 2.0f, -1.0f};
  top_k_logprobs(row, 5, 3, top, lp);
  EXPECT_EQ(top, (std::vector<int32_t>{1, 3, 2}));  // ties to the lower id
  double z = 0;
  for (float v : row) z += std::exp(double(v));
  EXPECT_NEAR(lp[0], 2.0 - std::log(z), 1e-5);
}

// Forks share the full pages, copy the partly filled one (rows and all layers), and adopt / release
// give every page back.
TEST(SpecTree, ForksShareFullPagesAndReturnTheirOwn) {
  KvPagePool kv(3, 4, 4, 16, KvDType::F32);
  KvSequence base;
  base.reserve(kv, 10);  // pages 0..2, positions 0..9
  base.set_length(10);
  std::vector<float> k(4), v(4);
  for (int64_t p = 0; p < 10; ++p)
    for (int64_t l = 0; l < 3; ++l) {
      std::fill(k.begin(), k.end(), float(p * 10 + l));
      std::fill(v.begin(), v.end(), float(-p * 10 - l));
      base.store(kv, l, p, k.data(), v.data());
    }
  const int64_t free0 = kv.free_pages();
  KvSequence a = fork_tail(base, 10, 10, kv), b = fork_tail(base, 10, 10, kv);
  EXPECT_EQ(kv.free_pages(), free0 - 2);
  EXPECT_EQ(a.pages()[0], base.pages()[0]);
  EXPECT_EQ(a.pages()[1], base.pages()[1]);
  EXPECT_NE(a.pages()[2], base.pages()[2]);
  // The copied rows (positions 8, 9 of every layer) hold base's values.
  const float* src = reinterpret_cast<const float*>(kv.page_data(base.pages()[2]));
  const float* dst = reinterpret_cast<const float*>(kv.page_data(a.pages()[2]));
  for (int64_t l = 0; l < 3; ++l)
    for (int64_t kvi = 0; kvi < 2; ++kvi)
      for (int64_t slot = 0; slot < 2; ++slot)
        for (int64_t d = 0; d < 4; ++d) {
          const int64_t i = ((l * 2 + kvi) * 4 + slot) * 4 + d;
          EXPECT_EQ(dst[i], src[i]);
        }
  a.reserve(kv, 14);  // grows its own pages
  a.set_length(14);
  KvSequence c = fork_tail(a, 10, 13, kv);  // a fork of a fork copies a's own pages, shares base's
  EXPECT_EQ(c.pages()[1], base.pages()[1]);
  EXPECT_NE(c.pages()[3], a.pages()[3]);
  adopt_tail(base, a, 10, kv);
  EXPECT_EQ(base.length(), 14);
  EXPECT_TRUE(a.pages().empty());
  release_tail(b, 10, kv);
  release_tail(c, 10, kv);
  base.release(kv);
  EXPECT_EQ(kv.free_pages(), kv.n_pages());
}

// The guard tries both modes, then keeps the cheaper per batch class and re-measures the other every
// 16th iteration.
TEST(SpecTree, GuardPicksTheCheaperModeAndProbes) {
  TreeGuard g;
  std::vector<bool> picks;
  for (int i = 0; i < 6; ++i) {
    const bool tree = g.choose(1);
    picks.push_back(tree);
    g.record(tree, 1, tree ? 3 : 1, 0.01);  // tree: 3 tokens per 10 ms, plain: 1
  }
  EXPECT_EQ(picks, (std::vector<bool>{true, true, true, false, false, false}));
  EXPECT_FALSE(g.plain_better(1));
  int plain = 0;
  for (int i = 0; i < 32; ++i) plain += !g.choose(1);
  EXPECT_EQ(plain, 2);  // probes
  // Batch class 8-15 measures on its own: there plain decoding wins.
  for (int i = 0; i < 6; ++i) {
    const bool tree = g.choose(9);
    g.record(tree, 9, tree ? 9 : 9, tree ? 0.05 : 0.01);
  }
  EXPECT_TRUE(g.plain_better(9));
  EXPECT_FALSE(g.plain_better(1));
}

// With the guard on (the server's default), whatever the guard picks, greedy output stays plain
// decoding's and the pages return.
TEST(SpeculativeTree, GuardedTreeStaysExact) {
  const std::string dir = fixture("glm45-tiny");
  SchedulerConfig cfg;
  std::vector<GenerateRequest> reqs;
  for (int i = 0; i < 4; ++i) reqs.push_back(greedy_request("g" + std::to_string(i), prompt_of(9 + 4 * i, 70 + i), 60));
  auto plain = run(*make(dir, cfg, 0), {reqs});
  auto s = make(dir, cfg, 3, 2, 6, true);
  expect_same(plain, run(*s, {reqs}), "guarded tree");
  expect_pool_returns(*s);
}

// Every fixture, topk 2 and 4: concurrent requests of mixed lengths, small prefill chunks, then the same
// prompts again (prefix-cache hits); greedy equals plain decoding; accept length at least the chain's on
// the trained MTP layers; the pool returns exactly.
TEST(SpeculativeTree, GreedyEqualsPlainOnEveryFixtureBatchedChunkedAndCached) {
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
    auto chain = run(*make(fixture(name), cfg, 3), rounds);
    const double chain_len = accept_length(chain);
    for (auto [topk, nodes] : {std::pair{2, 6}, std::pair{4, 8}}) {
      auto s = make(fixture(name), cfg, 3, topk, nodes);
      auto spec = run(*s, rounds);
      const std::string what = std::string(name) + " topk " + std::to_string(topk);
      expect_same(plain, spec, what);
      int verify = 0, accepted = 0, completion = 0;
      for (const auto& [rid, r] : spec) {
        verify += r.last.spec_verify_ct;
        accepted += r.last.spec_accepted_tokens;
        completion += r.last.completion_tokens;
      }
      EXPECT_EQ(completion, accepted + verify + int(spec.size())) << what;
      for (int i = 0; i < 5; ++i)  // cache hits draft exactly as the cold start
        EXPECT_EQ(spec.at("1_" + std::to_string(i)).last.spec_accepted_tokens,
                  spec.at("0_" + std::to_string(i)).last.spec_accepted_tokens) << what << " request " << i;
      const double len = accept_length(spec);
      // The tree usually contains the chain's path (the root's best child is the chain's d1, and the
      // chain's later drafts are kept unless topk other expansions outscore them), so on these trained
      // layers it accepts at least as much (measured: well above; the margin covers different round
      // boundaries).
      EXPECT_GE(len, chain_len - 0.05) << what;
      std::printf("[ %s ] topk %d, %d draft tokens: accept length %.3f (chain %.3f), %d rounds\n", name, topk, nodes,
                  len, chain_len, verify);
      expect_pool_returns(*s);
    }
  }
}

// Stop ids, stop strings and max_new_tokens at every position inside the accepted run; penalties,
// logprobs and streaming events.
TEST(SpeculativeTree, StopsLimitsPenaltiesAndLogprobs) {
  const std::string dir = fixture("glm45-tiny");
  SchedulerConfig cfg;
  auto plain_s = make(dir, cfg, 0);
  auto spec_s = make(dir, cfg, 4, 3, 10);
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
  for (size_t off = 1; off + 3 < base.text.size() && off < 40; off += 5) {
    GenerateRequest r = greedy_request("str" + std::to_string(off), prompt, 24);
    r.sampling.stop = {base.text.substr(off, 3)};
    reqs.push_back(r);
  }
  for (int i = 0; i < 3; ++i) {
    GenerateRequest r = greedy_request("p" + std::to_string(i), prompt_of(10 + 9 * i, 50 + i), 20);
    r.sampling.repetition_penalty = 1.3f;
    r.sampling.frequency_penalty = 0.4f * float(i);
    r.return_logprob = true;
    r.top_logprobs_num = 2;
    reqs.push_back(r);
  }
  auto plain = run(*plain_s, {reqs});
  auto spec = run(*spec_s, {reqs});
  expect_same(plain, spec, "stops");
  for (int i = 0; i < 3; ++i) {
    const std::string rid = "p" + std::to_string(i);
    ASSERT_EQ(spec.at(rid).last.spec_verify_ct > 0, true) << rid;
  }
  int accepted = 0;
  for (const auto& [rid, res] : spec) accepted += res.last.spec_accepted_tokens;
  EXPECT_GT(accepted, 0);
  expect_pool_returns(*spec_s);
}

// Processors and constraints see, for every node row, the output with the accepted path appended: the
// thinking budget ends thinking and the JSON constraint masks exactly as in plain decoding.
TEST(SpeculativeTree, ThinkingBudgetAndJsonConstraint) {
  const std::string dir = fixture("glm45-tiny");
  std::vector<GenerateRequest> reqs = thinking_budget_requests();
  for (int i = 0; i < 4; ++i) {
    GenerateRequest r = greedy_request("j" + std::to_string(i), prompt_of(10 + 7 * i, 20 + i), 40);
    r.sampling.ignore_eos = false;
    r.sampling.json_schema = i % 2 ? R"({"type": "object"})" : R"({"type": "array", "items": {"type": "integer"}})";
    reqs.push_back(r);
  }
  SchedulerConfig cfg;
  auto plain = run(*make(dir, cfg, 0), {reqs});
  auto s = make(dir, cfg, 3, 4, 8);
  expect_same(plain, run(*s, {reqs}), "processors");
  expect_pool_returns(*s);
}

// Many rounds with a tight batch (the trees get trimmed to fit) and a small pool: no page leaks.
TEST(SpeculativeTree, TightBatchAndManyRoundsLeakNoPages) {
  const std::string dir = fixture("glm45air-tiny-fp8");
  SchedulerConfig cfg;
  cfg.kv_capacity_tokens = 8192;
  std::vector<GenerateRequest> reqs;
  for (int i = 0; i < 12; ++i) reqs.push_back(greedy_request("t" + std::to_string(i), prompt_of(5 + i, 90 + i), 60));
  auto plain = run(*make(dir, cfg, 0), {reqs});
  auto s = make(dir, cfg, 5, 4, 16);  // up to 15 paths of 6 tokens: far more than 128 / 12 per request
  std::vector<GenerateRequest> again = reqs;  // the same prompts again (cache hits), second ids
  for (auto& r : again) r.rid += "b";
  auto spec = run(*s, {reqs, again});
  std::map<std::string, Collected> first, second;
  for (const auto& [rid, r] : spec) (rid.back() == 'b' ? second[rid.substr(0, rid.size() - 1)] : first[rid]) = r;
  expect_same(plain, first, "tight");
  expect_same(plain, second, "tight, cached");
  expect_pool_returns(*s);
}

// Sampled tree verification keeps the target distribution end to end (as the chain's test in
// speculative_test.cpp): per output position, total variation between plain and tree decoding.
// The printed variations equal the chain test's on this fixture, which is not a sign that the tree path
// is skipped: with the same seeds both draw the same uniforms in the same order, and when the draft's
// second child is the token the chain's residual sample would try first (top_k 3 leaves few candidates),
// accepting it with probability p2 / (1 - p1) picks exactly what the residual sample picks from that
// uniform, so the two produce the same tokens. A verifier that skipped the rejected child's removal or
// accepted too often would move the variation past the bound.
TEST(SpeculativeTree, SampledTokensKeepTheTargetDistribution) {
  const std::string dir = fixture("glm-tiny-fp8-channel");
  const int n = 1500, len = 4;
  const std::vector<GenerateRequest> reqs = sampled_requests(n, len);
  SchedulerConfig cfg;
  cfg.max_running_requests = 32;
  auto plain = run(*make(dir, cfg, 0), {reqs});
  auto s = make(dir, cfg, 3, 2, 6);
  auto spec = run(*s, {reqs});
  int accepted = 0;
  for (const auto& [rid, r] : spec) accepted += r.last.spec_accepted_tokens;
  EXPECT_GT(accepted, n / 4);
  expect_same_distribution(plain, spec, n, len);
  expect_pool_returns(*s);
}

}  // namespace
}  // namespace glm
