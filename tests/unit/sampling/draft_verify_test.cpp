// Speculative verification of a point-mass draft (Sampler::sample with a DraftCheck): the token that
// comes out must follow the target distribution exactly, whatever the draft proposes. Checked by total
// variation against the exact softmax (with top-k / top-p / penalties applied) over many draws.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "sampling/sampler.h"

namespace glm::sampling {
namespace {

std::vector<double> softmax(const std::vector<float>& logits, double temperature) {
  double mx = -1e30, sum = 0;
  for (float l : logits) mx = std::max(mx, double(l));
  std::vector<double> p(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) sum += p[i] = std::exp((logits[i] - mx) / temperature);
  for (double& x : p) x /= sum;
  return p;
}

struct Draws {
  std::vector<double> freq;
  double accept_rate = 0;
};

Draws run(SamplingConfig cfg, const std::vector<float>& logits, int32_t draft, int n, DraftCheck check = {}) {
  cfg.seed = 1234;
  Sampler s(cfg, logits.size());
  Draws r;
  r.freq.assign(logits.size(), 0.0);
  std::vector<int32_t> prompt{1}, output;
  check.token = draft;
  int accepted = 0;
  for (int i = 0; i < n; ++i) {
    std::vector<float> row = logits;
    SampleResult res = s.sample(row, prompt, output, false, 0, check);
    r.freq[size_t(res.token_id)] += 1.0 / n;
    if (res.draft_accepted) {
      ++accepted;
      EXPECT_EQ(res.token_id, draft);
    }
  }
  r.accept_rate = double(accepted) / n;
  return r;
}

double total_variation(const std::vector<double>& a, const std::vector<double>& b) {
  double tv = 0;
  for (size_t i = 0; i < a.size(); ++i) tv += std::abs(a[i] - b[i]);
  return tv / 2;
}

const std::vector<float> kLogits{1.0f, 2.5f, 0.3f, -1.0f, 2.0f, 0.0f, 1.7f};

TEST(DraftVerify, OutputFollowsTargetForEveryDraftToken) {
  SamplingConfig cfg;
  cfg.temperature = 0.8f;
  const std::vector<double> exact = softmax(kLogits, 0.8);
  const int n = 200000;
  // TV of an empirical distribution over 7 bins with n draws is ~ sqrt(7 / n) / 2 ~ 0.003; a wrong
  // residual (e.g. not removing d) is off by ~p(d)^2, far above the bound.
  for (int32_t d = 0; d < int32_t(kLogits.size()); ++d) {
    Draws r = run(cfg, kLogits, d, n);
    EXPECT_LT(total_variation(r.freq, exact), 0.01) << "draft " << d;
    EXPECT_NEAR(r.accept_rate, exact[size_t(d)], 0.01) << "draft " << d;
  }
}

TEST(DraftVerify, RespectsTopKAndTopP) {
  SamplingConfig cfg;
  cfg.temperature = 1.0f;
  cfg.top_k = 3;  // ids 1, 4, 6
  std::vector<double> p = softmax(kLogits, 1.0), exact(kLogits.size(), 0.0);
  const double mass = p[1] + p[4] + p[6];
  for (int id : {1, 4, 6}) exact[size_t(id)] = p[size_t(id)] / mass;
  for (int32_t d : {1, 6, 0}) {  // 0 is outside the top-k: never accepted
    Draws r = run(cfg, kLogits, d, 100000);
    EXPECT_LT(total_variation(r.freq, exact), 0.01) << "draft " << d;
    EXPECT_NEAR(r.accept_rate, exact[size_t(d)], 0.01) << "draft " << d;
  }
  cfg.top_k = -1;
  cfg.top_p = 0.5f;  // keeps the best tokens while the mass before them is <= 0.5
  Draws r = run(cfg, kLogits, 4, 100000);
  std::vector<double> tp(kLogits.size(), 0.0);
  // Sorted: 1 (p~.37), 4 (~.22), 6 (~.17): mass before 6 is ~.59 > .5, so {1, 4}.
  tp[1] = p[1] / (p[1] + p[4]);
  tp[4] = p[4] / (p[1] + p[4]);
  EXPECT_LT(total_variation(r.freq, tp), 0.01);
}

TEST(DraftVerify, GreedyAcceptsExactlyTheArgmax) {
  SamplingConfig cfg;
  cfg.temperature = 0.0f;
  Draws hit = run(cfg, kLogits, 1, 10), miss = run(cfg, kLogits, 4, 10);
  EXPECT_EQ(hit.accept_rate, 1.0);
  EXPECT_EQ(miss.accept_rate, 0.0);
  EXPECT_NEAR(miss.freq[1], 1.0, 1e-9);  // the correction is the argmax
}

TEST(DraftVerify, ThresholdsMakeAcceptanceLossy) {
  SamplingConfig cfg;
  cfg.temperature = 1.0f;
  const double pd = softmax(kLogits, 1.0)[4];
  DraftCheck check;
  check.threshold_single = float(pd * 0.9);  // p(d) >= threshold: always accepted
  EXPECT_EQ(run(cfg, kLogits, 4, 2000, check).accept_rate, 1.0);
  check = {};
  check.threshold_acc = 0.5f;  // coin * 0.5 < p(d): accepted with probability 2 p(d)
  EXPECT_NEAR(run(cfg, kLogits, 4, 100000, check).accept_rate, 2 * pd, 0.01);
}

// Tree drafting: several candidate children tried in turn (DraftCheck::tokens). The token that comes out
// follows the target distribution whatever the candidates are (including ones top-k removed), the first
// candidate is accepted with p(c1), and the acceptance reports which candidate won.
TEST(DraftVerify, SeveralCandidatesKeepTheTargetDistribution) {
  SamplingConfig cfg;
  cfg.temperature = 0.9f;
  const std::vector<double> exact = softmax(kLogits, 0.9);
  const std::vector<std::vector<int32_t>> sets{{1, 4}, {4, 1, 6}, {3, 5}, {6, 0, 2, 4}, {0, 1, 2, 3, 4, 5, 6}};
  for (const auto& c : sets) {
    Sampler s(cfg, kLogits.size());
    std::vector<double> freq(kLogits.size(), 0.0);
    std::vector<int32_t> prompt{1}, output;
    const int n = 60000;
    int first = 0;
    for (int i = 0; i < n; ++i) {
      std::vector<float> row = kLogits;
      DraftCheck check;
      check.tokens = c;
      SampleResult res = s.sample(row, prompt, output, false, 0, check);
      freq[size_t(res.token_id)] += 1.0 / n;
      EXPECT_EQ(res.draft_accepted, std::find(c.begin(), c.end(), res.token_id) != c.end());
      if (res.token_id == c[0]) ++first;
    }
    EXPECT_LT(total_variation(freq, exact), 0.01) << "candidates starting with " << c[0];
    EXPECT_NEAR(double(first) / n, exact[size_t(c[0])], 0.01);
  }
  // With top-k 2 only {1, 4} have mass: candidates outside it are skipped, never emitted.
  cfg.top_k = 2;
  Sampler s(cfg, kLogits.size());
  const std::vector<double> p = softmax(kLogits, 0.9);
  std::vector<double> freq(kLogits.size(), 0.0), tk(kLogits.size(), 0.0);
  tk[1] = p[1] / (p[1] + p[4]);
  tk[4] = p[4] / (p[1] + p[4]);
  const std::vector<int32_t> c{6, 4, 0};
  std::vector<int32_t> prompt{1}, output;
  for (int i = 0; i < 40000; ++i) {
    std::vector<float> row = kLogits;
    DraftCheck check;
    check.tokens = c;
    freq[size_t(s.sample(row, prompt, output, false, 0, check).token_id)] += 1.0 / 40000;
  }
  EXPECT_LT(total_variation(freq, tk), 0.01);
}

TEST(DraftVerify, GreedyAcceptsTheCandidateEqualToTheArgmax) {
  SamplingConfig cfg;
  cfg.temperature = 0.0f;
  Sampler s(cfg, kLogits.size());
  std::vector<int32_t> prompt{1}, output;
  for (const std::vector<int32_t>& c : {std::vector<int32_t>{4, 1}, {6, 0}}) {
    std::vector<float> row = kLogits;
    DraftCheck check;
    check.tokens = c;
    SampleResult r = s.sample(row, prompt, output, false, 0, check);
    EXPECT_EQ(r.token_id, 1);
    EXPECT_EQ(r.draft_accepted, c[1] == 1);
  }
}

}  // namespace
}  // namespace glm::sampling
