// Sampler: greedy, seeds, the top-k / top-p / min-p distributions checked statistically against
// exact probabilities computed here by the plain full-sort definition (SGLang's torch fallback
// top_k_top_p_min_p_sampling_from_probs_torch), penalties against SGLang's penaltylib formulas, and
// logprobs (log softmax after temperature, before filtering).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <numeric>

#include <gtest/gtest.h>

#include "core/error.h"
#include "sampling/sampler.h"

namespace glm::sampling {
namespace {

const std::vector<float> kLogits = {1.0f, 2.5f, 0.3f, 2.5f, -1.0f, 1.7f, 0.0f, 3.1f};

// Reference distribution: softmax(l / T), sort descending (ties: lower id first), zero where the
// exclusive cumulative mass > top_p, beyond top_k, or below min_p * p_max; renormalise.
std::vector<double> reference_distribution(const std::vector<float>& logits, float t, int top_k, float top_p,
                                           float min_p) {
  const size_t v = logits.size();
  std::vector<double> p(v);
  double m = *std::max_element(logits.begin(), logits.end()), z = 0;
  for (size_t i = 0; i < v; ++i) z += p[i] = std::exp((logits[i] - m) / t);
  for (auto& x : p) x /= z;
  std::vector<size_t> idx(v);
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
  std::vector<double> out(v, 0.0);
  double before = 0, pmax = p[idx[0]];
  for (size_t r = 0; r < v; ++r) {
    size_t i = idx[r];
    bool keep = before <= top_p && (top_k <= 0 || static_cast<int>(r) < top_k) && p[i] >= pmax * min_p;
    before += p[i];
    if (keep) out[i] = p[i];
  }
  double s = std::accumulate(out.begin(), out.end(), 0.0);
  for (auto& x : out) x /= s;
  return out;
}

void check_distribution(const SamplingConfig& cfg) {
  const int draws = 200000;
  Sampler sampler(cfg, kLogits.size());
  std::vector<int> counts(kLogits.size(), 0);
  for (int i = 0; i < draws; ++i) {
    auto row = kLogits;
    counts[static_cast<size_t>(sampler.sample(row, {}, {}).token_id)]++;
  }
  auto want = reference_distribution(kLogits, cfg.temperature, cfg.top_k, cfg.top_p, cfg.min_p);
  for (size_t i = 0; i < kLogits.size(); ++i) {
    double f = static_cast<double>(counts[i]) / draws;
    if (want[i] == 0.0) {
      EXPECT_EQ(counts[i], 0) << "token " << i << " must be filtered out";
    } else {
      double sigma = std::sqrt(want[i] * (1 - want[i]) / draws);
      EXPECT_NEAR(f, want[i], 5 * sigma + 1e-4) << "token " << i;
    }
  }
}

TEST(Sampler, GreedyPicksArgmaxWithTiesToLowestId) {
  SamplingConfig cfg;
  cfg.temperature = 0.0f;
  Sampler s(cfg, 8);
  std::vector<float> row = {0.f, 5.f, 1.f, 5.f, 2.f, -1.f, 5.f, 0.f};
  EXPECT_EQ(s.sample(row, {}, {}).token_id, 1);
  cfg.temperature = 0.7f;
  cfg.top_k = 1;  // SGLang treats top_k == 1 as greedy too
  Sampler s2(cfg, 8);
  auto row2 = kLogits;
  EXPECT_EQ(s2.sample(row2, {}, {}).token_id, 7);
}

TEST(Sampler, LogitBiasShiftsTheRowAndItsLogprobs) {
  SamplingConfig cfg;
  cfg.temperature = 0.0f;
  cfg.logit_bias = {{2, 10.0f}, {1, -100.0f}, {99, 5.0f}};  // an id past the vocabulary is ignored
  Sampler s(cfg, 4);
  std::vector<float> row = {0.f, 5.f, 1.f, 0.f};
  SampleResult r = s.sample(row, {}, {}, true);
  EXPECT_EQ(r.token_id, 2);  // 1 + 10 beats 5 - 100
  // logprob of the biased row: log_softmax({0, -95, 11, 0})[2]
  const double norm = std::log(std::exp(0.0) + std::exp(-95.0) + std::exp(11.0) + std::exp(0.0));
  EXPECT_NEAR(r.logprob, 11.0 - norm, 1e-5);
}

TEST(Sampler, SameSeedSameTokensDifferentSeedDifferentTokens) {
  SamplingConfig cfg;
  cfg.seed = 1234;
  auto run = [&](SamplingConfig c) {
    Sampler s(c, kLogits.size());
    std::vector<int32_t> out;
    for (int i = 0; i < 64; ++i) {
      auto row = kLogits;
      out.push_back(s.sample(row, {}, {}).token_id);
    }
    return out;
  };
  EXPECT_EQ(run(cfg), run(cfg));
  auto other = cfg;
  other.seed = 99;
  EXPECT_NE(run(cfg), run(other));
}

TEST(Sampler, TemperatureOnlyMatchesSoftmax) {
  SamplingConfig cfg;
  cfg.temperature = 0.8f;
  cfg.seed = 1;
  check_distribution(cfg);
}

TEST(Sampler, TopKMatchesReference) {
  SamplingConfig cfg;
  cfg.top_k = 3;
  cfg.seed = 2;
  check_distribution(cfg);
}

TEST(Sampler, TopPMatchesReference) {
  SamplingConfig cfg;
  cfg.top_p = 0.6f;
  cfg.temperature = 1.3f;
  cfg.seed = 3;
  check_distribution(cfg);
}

TEST(Sampler, MinPMatchesReference) {
  SamplingConfig cfg;
  cfg.min_p = 0.3f;
  cfg.seed = 4;
  check_distribution(cfg);
}

TEST(Sampler, CombinedFiltersMatchReference) {
  SamplingConfig cfg;
  cfg.top_k = 5;
  cfg.top_p = 0.9f;
  cfg.min_p = 0.1f;
  cfg.temperature = 0.9f;
  cfg.seed = 5;
  check_distribution(cfg);
}

TEST(Sampler, PenaltiesFollowPenaltylibFormulas) {
  SamplingConfig cfg;
  cfg.temperature = 0.0f;
  cfg.frequency_penalty = 0.5f;
  cfg.presence_penalty = 0.25f;
  Sampler s(cfg, 8);
  std::vector<float> row = kLogits;
  std::vector<int32_t> output = {7, 7, 1, 7};
  s.sample(row, {}, output);
  // frequency: -= 0.5 * count; presence: -= 0.25 once; untouched otherwise.
  EXPECT_FLOAT_EQ(row[7], 3.1f - 0.5f * 3 - 0.25f);
  EXPECT_FLOAT_EQ(row[1], 2.5f - 0.5f * 1 - 0.25f);
  EXPECT_FLOAT_EQ(row[3], 2.5f);

  SamplingConfig rep;
  rep.temperature = 0.0f;
  rep.repetition_penalty = 2.0f;
  Sampler r(rep, 8);
  row = kLogits;
  std::vector<int32_t> out2 = {7, 4, 4};
  const std::vector<int32_t> prompt = {5};
  r.sample(row, prompt, out2);  // prompt tokens are not penalised (SGLang penalises output tokens)
  EXPECT_FLOAT_EQ(row[7], 3.1f / 2.0f);   // positive: divided
  EXPECT_FLOAT_EQ(row[4], -1.0f * 2.0f);  // negative: multiplied
  EXPECT_FLOAT_EQ(row[5], 1.7f);
}

TEST(Sampler, PenaltyCountsAreIncrementalAndRecountAfterRollback) {
  SamplingConfig cfg;
  cfg.temperature = 0.0f;
  cfg.frequency_penalty = 1.0f;
  Sampler s(cfg, 8);
  std::vector<int32_t> output;
  for (int step = 0; step < 3; ++step) {
    auto row = kLogits;
    s.sample(row, {}, output);
    EXPECT_FLOAT_EQ(row[2], 0.3f - static_cast<float>(output.size()));
    output.push_back(2);
  }
  output = {2};
  auto row = kLogits;
  s.sample(row, {}, output);
  EXPECT_FLOAT_EQ(row[2], 0.3f - 1.0f);
}

TEST(Sampler, MinNewTokensBlocksStopIds) {
  SamplingConfig cfg;
  cfg.temperature = 0.0f;
  cfg.min_new_tokens = 2;
  cfg.stop_token_ids = {7};
  Sampler s(cfg, 8);
  std::vector<int32_t> output;
  auto row = kLogits;
  EXPECT_EQ(s.sample(row, {}, output).token_id, 1);  // 7 is the argmax but blocked
  output = {1, 1};
  row = kLogits;
  EXPECT_EQ(s.sample(row, {}, output).token_id, 7);
}

TEST(Sampler, LogprobsAreLogSoftmaxAfterTemperatureBeforeFiltering) {
  auto log_softmax = [](const std::vector<float>& l, double t, size_t i) {
    double m = *std::max_element(l.begin(), l.end()), z = 0;
    for (float x : l) z += std::exp((x - m) / t);
    return (l[i] - m) / t - std::log(z);
  };
  SamplingConfig cfg;
  cfg.temperature = 2.0f;
  cfg.top_k = 2;
  cfg.seed = 7;
  Sampler s(cfg, 8);
  auto row = kLogits;
  auto r = s.sample(row, {}, {}, true, 3);
  EXPECT_NEAR(r.logprob, log_softmax(kLogits, 2.0, static_cast<size_t>(r.token_id)), 1e-5);
  ASSERT_EQ(r.top_logprobs.size(), 3u);
  EXPECT_EQ(r.top_logprobs[0].first, 7);
  EXPECT_EQ(r.top_logprobs[1].first, 1);  // tie 1/3: lower id first
  EXPECT_EQ(r.top_logprobs[2].first, 3);
  EXPECT_NEAR(r.top_logprobs[2].second, log_softmax(kLogits, 2.0, 3), 1e-5);

  SamplingConfig greedy;
  greedy.temperature = 0.0f;
  Sampler g(greedy, 8);
  row = kLogits;
  r = g.sample(row, {}, {}, true, 1);
  EXPECT_EQ(r.token_id, 7);
  EXPECT_NEAR(r.logprob, log_softmax(kLogits, 1.0, 7), 1e-5);
}

TEST(Sampler, ProcessorRunsBeforeTemperature) {
  SamplingConfig cfg;
  cfg.temperature = 1.0f;
  cfg.seed = 11;
  Sampler s(cfg, 8);
  s.set_logit_processor(std::make_shared<ForcedSequenceProcessor>(std::vector<int32_t>{4, 6}), nullptr);
  std::vector<int32_t> output;
  for (int i = 0; i < 2; ++i) {
    auto row = kLogits;
    output.push_back(s.sample(row, {}, output).token_id);
  }
  EXPECT_EQ(output, (std::vector<int32_t>{4, 6}));
}

TEST(Sampler, RejectsInvalidConfig) {
  SamplingConfig cfg;
  cfg.top_p = 0.0f;
  EXPECT_THROW(Sampler(cfg, 8), GlmError);
  cfg = {};
  cfg.temperature = -1.0f;
  EXPECT_THROW(Sampler(cfg, 8), GlmError);
  Sampler ok({}, 8);
  std::vector<float> wrong(5);
  EXPECT_THROW(ok.sample(wrong, {}, {}), GlmError);
}

TEST(Sampler, FullVocabularyTopKIsFast) {
  const size_t vocab = 151552;
  std::vector<float> base(vocab);
  for (size_t i = 0; i < vocab; ++i) base[i] = static_cast<float>((i * 2654435761u) % 10007) / 1000.0f;
  SamplingConfig cfg;
  cfg.top_k = 20;
  cfg.top_p = 0.95f;
  cfg.seed = 3;
  Sampler s(cfg, vocab);
  auto row = base;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    row = base;
    s.sample(row, {}, {});
  }
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / 20;
  RecordProperty("ms_per_sample", std::to_string(ms));
  EXPECT_LT(ms, 50.0);  // generous: a full sort-free pass over 150k logits is a few ms
}

}  // namespace
}  // namespace glm::sampling
