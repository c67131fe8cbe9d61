// FR-Spec (--speculative-token-map; model/speculative_token_map.h): the draft proposes only the map's
// tokens. Oracles: plain decoding (greedy outputs must not change, sampled ones keep their distribution)
// and the draft's own full-vocabulary logits (the restricted head must give exactly those columns).
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "core/error.h"
#include "core/thread_pool.h"
#include "engine/scheduler.h"
#include "engine_test_support.h"
#include "model/nextn.h"

namespace glm {
namespace {

using testing::Collected;
using testing::expect_pool_returns;
using testing::expect_same;
using testing::expect_same_distribution;
using testing::greedy_request;
using testing::prompt_of;
using testing::run;
using testing::sampled_requests;

ThreadPool& pool() { return testing::engine_pool(); }
std::string fixture(const std::string& name) { return std::string(GLM_FIXTURES_DIR) + "/" + name; }

std::unique_ptr<Glm4MoeModel> load(const std::string& dir, int steps) {
  LoadOptions opt;
  opt.max_batch_tokens = 128;
  opt.nextn = steps > 0 ? NextNLoad::Require : NextNLoad::Skip;
  return Glm4MoeModel::load(dir, pool(), opt);
}

std::unique_ptr<Scheduler> make(const std::string& dir, int steps, std::vector<int32_t> map, int topk = 1,
                                int draft_tokens = 0, int max_running = 64) {
  SchedulerConfig cfg;
  cfg.kv_capacity_tokens = 8192;
  cfg.max_running_requests = max_running;
  cfg.spec.num_steps = steps;
  cfg.spec.topk = topk;
  cfg.spec.num_draft_tokens = draft_tokens > 0 ? draft_tokens : steps + 1;
  cfg.spec.guard = false;  // the fixed depth every round: these tests are about exactness
  cfg.spec.token_map = std::move(map);
  return std::make_unique<Scheduler>(load(dir, steps), Tokenizer::from_file(dir + "/tokenizer.json"), cfg);
}

std::vector<GenerateRequest> greedy_requests() {
  std::vector<GenerateRequest> reqs;
  for (int i = 0; i < 5; ++i)
    reqs.push_back(greedy_request("g" + std::to_string(i), prompt_of(6 + i * 11, 40 + i), 24));
  return reqs;
}

// Every token the plain greedy outputs hold, and every other id.
std::pair<std::vector<int32_t>, std::vector<int32_t>> split_by_output(const std::map<std::string, Collected>& plain,
                                                                      int32_t vocab) {
  std::set<int32_t> used;
  for (const auto& [rid, r] : plain) used.insert(r.ids.begin(), r.ids.end());
  std::vector<int32_t> in(used.begin(), used.end()), out;
  for (int32_t t = 0; t < vocab; ++t)
    if (!used.count(t)) out.push_back(t);
  return {in, out};
}

int accepted(const std::map<std::string, Collected>& res) {
  int n = 0;
  for (const auto& [rid, r] : res) n += r.last.spec_accepted_tokens;
  return n;
}

// The restricted head's logits are the full head's at the map's ids, bit for bit (a BF16 lm_head).
TEST(SpeculativeTokenMap, DraftLogitsAreTheFullVocabularysAtTheMapsIds) {
  auto model = load(fixture("glm45-tiny"), 1);
  const int64_t V = model->config().vocab_size, H = model->config().hidden_size;
  std::vector<int32_t> map;
  for (int32_t t = 3; t < V; t += 7) map.push_back(t);
  const std::vector<int32_t> toks = prompt_of(9, 5);
  std::vector<float> hidden(toks.size() * size_t(H));
  for (size_t i = 0; i < hidden.size(); ++i) hidden[i] = float(int(i % 13) - 6) * 0.25f;
  auto logits_of = [&](NextNDraft& d, std::vector<int32_t>& ids) {
    auto kv_pool = d.make_kv_pool(16);
    KvSequence seq;
    SequenceInput in{std::span<const int32_t>(toks), 0, &seq, true};
    ForwardResult r = d.forward(std::span<const SequenceInput>(&in, 1), hidden.data(), *kv_pool);
    ids.assign(r.vocab_ids.begin(), r.vocab_ids.end());
    std::vector<float> out(r.logits, r.logits + r.n_logit_rows * r.vocab);
    seq.release(*kv_pool);
    return out;
  };
  NextNDraft full(*model, 64), hot(*model, 64);
  hot.restrict_vocabulary(map);
  EXPECT_EQ(full.vocab(), V);
  EXPECT_EQ(hot.vocab(), int64_t(map.size()));
  std::vector<int32_t> full_ids, hot_ids;
  const std::vector<float> a = logits_of(full, full_ids), b = logits_of(hot, hot_ids);
  EXPECT_TRUE(full_ids.empty());
  ASSERT_EQ(hot_ids, map);
  const size_t rows = a.size() / size_t(V);
  ASSERT_EQ(rows, toks.size());
  ASSERT_EQ(b.size(), rows * map.size());
  for (size_t r = 0; r < rows; ++r)
    for (size_t j = 0; j < map.size(); ++j)
      ASSERT_EQ(b[r * map.size() + j], a[r * size_t(V) + size_t(map[j])]) << "row " << r << " token " << map[j];
  EXPECT_THROW(hot.restrict_vocabulary({5, 3}), GlmError);                // not sorted
  EXPECT_THROW(hot.restrict_vocabulary({int32_t(V)}), GlmError);          // outside the vocabulary
}

// Greedy outputs are those of plain decoding whatever the map, chain and tree; a map without any token
// the outputs hold gets no draft accepted (so the draft really proposes map tokens only), a map of
// exactly those tokens gets drafts accepted.
TEST(SpeculativeTokenMap, GreedyEqualsPlainAndOnlyMapTokensAreAccepted) {
  const std::string dir = fixture("glm45air-tiny-fp8");
  const std::vector<GenerateRequest> reqs = greedy_requests();
  auto plain = run(*make(dir, 0, {}), {reqs});
  const auto [used, unused] = split_by_output(plain, 1552);
  ASSERT_GT(used.size(), 10u);
  for (const auto& [topk, draft_tokens] : std::vector<std::pair<int, int>>{{1, 0}, {2, 6}}) {
    const std::string label = topk == 1 ? "chain" : "tree";
    auto s_none = make(dir, 3, unused, topk, draft_tokens);
    auto none = run(*s_none, {reqs});
    expect_same(plain, none, label + ", map without the outputs' tokens");
    EXPECT_EQ(accepted(none), 0) << label;
    expect_pool_returns(*s_none);
    auto s_used = make(dir, 3, used, topk, draft_tokens);
    auto hits = run(*s_used, {reqs});
    expect_same(plain, hits, label + ", map of the outputs' tokens");
    EXPECT_GT(accepted(hits), 0) << label;
    expect_pool_returns(*s_used);
  }
  EXPECT_THROW(make(dir, 3, {7}, 2, 6), GlmError);  // fewer ids than topk
}

// Sampling keeps the target distribution with a map (verification is against the full vocabulary).
TEST(SpeculativeTokenMap, SampledTokensKeepTheTargetDistribution) {
  const std::string dir = fixture("glm-tiny-fp8-channel");
  const int n = 1500, len = 4;
  const std::vector<GenerateRequest> reqs = sampled_requests(n, len);
  auto plain = run(*make(dir, 0, {}, 1, 0, 128), {reqs});
  // The tokens plain decoding sampled, minus every third: drafts are often right and sometimes impossible.
  auto [used, unused] = split_by_output(plain, 1552);
  std::vector<int32_t> map;
  for (size_t i = 0; i < used.size(); ++i)
    if (i % 3 != 2) map.push_back(used[i]);
  auto spec = run(*make(dir, 3, map, 1, 0, 128), {reqs});
  EXPECT_GT(accepted(spec), n / 4);
  expect_same_distribution(plain, spec, n, len);
}

}  // namespace
}  // namespace glm
