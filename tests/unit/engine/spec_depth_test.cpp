// The speculative depth policy (engine/spec_depth.h) against simulated machines: each test fixes what a
// round at depth k really costs (as a multiple of a plain round) and how often drafts are accepted, lets
// the policy choose round after round from its own measurements, and checks the throughput it realises
// against plain decoding's. "Never lose": where speculation is slower the policy must settle on plain
// decoding (probes included, >= 0.97x); where it pays it must draft.
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <vector>

#include "engine/spec_depth.h"

namespace glm {
namespace {

struct Machine {
  std::function<double(int depth)> ratio;  // real cost of a round at depth k / a plain round
  double alpha = 0.8;                      // P(draft accepted | previous ones were)
  std::function<double(int round)> plain = [](int) { return 1e-3; };  // seconds of a plain round
};

struct Outcome {
  double speedup = 0;          // realised tokens/s over plain decoding's
  std::vector<int64_t> rounds;  // by chosen depth
  int last_best = -1;
};

// Runs `n` rounds of `batch` requests. A probe from plain decoding that drafts for one request of several
// costs that request's share of the depth's extra cost and is not timed (as SpeculativeDecoder does).
Outcome simulate(SpecDepthPolicy& p, const Machine& m, int batch, int n, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::bernoulli_distribution accept(m.alpha);
  Outcome o;
  o.rounds.assign(size_t(p.max_depth()) + 1, 0);
  double tokens = 0, seconds = 0, plain_seconds = 0;
  for (int i = 0; i < n; ++i) {
    const int k = p.choose(batch);
    ++o.rounds[size_t(k)];
    const bool one = k > 0 && p.probe_from_plain() && !p.probe_measures_cost() && batch > 1;
    const int drafting = one ? 1 : k > 0 ? batch : 0;
    for (int r = 0; r < batch; ++r) {
      int a = 0;
      if (r < drafting) {
        while (a < k && accept(rng)) ++a;
        p.record_round(k, a);
      }
      tokens += 1 + a;
    }
    const double plain = m.plain(i);
    const double s = k == 0 ? plain : one ? plain * (1 + (m.ratio(k) - 1) / batch) : plain * m.ratio(k);
    if (!one) p.record_iteration(k, batch, s);
    seconds += s;
    plain_seconds += plain;
  }
  o.speedup = (tokens / seconds) / (double(n) * batch / plain_seconds);
  o.last_best = p.best_depth(batch);
  return o;
}

// Start-up calibration as SpeculativeDecoder::calibrate records it: forward-only seconds by token count.
void calibrate(SpecDepthPolicy& p, double verify_per_extra_token, double draft) {
  for (int n = 1; n <= 32; ++n) p.record_target(n, 1e-3 * (1 + verify_per_extra_token * (n - 1)));
  p.record_draft(1, 1e-3 * draft);
}

TEST(SpecDepthPolicy, SettlesOnPlainDecodingWhereSpeculationLoses) {
  // The tiny fixtures: a depth-k round costs 1.2 + 0.9 k plain rounds, 80% of drafts accepted.
  const Machine m{[](int k) { return 1.2 + 0.9 * k; }, 0.8};
  for (int batch : {1, 8}) {
    SpecDepthPolicy p(3);
    calibrate(p, 0.3, 0.45);
    const Outcome o = simulate(p, m, batch, 2000);
    EXPECT_EQ(o.last_best, 0) << "batch " << batch;
    EXPECT_GE(o.speedup, 0.97) << "batch " << batch;
    EXPECT_LT(o.rounds[1] + o.rounds[2] + o.rounds[3], 40) << "batch " << batch;
  }
}

TEST(SpecDepthPolicy, ForwardOnlyCalibrationThatFlattersIsCorrectedByMeasuredRounds) {
  // Calibration says verifying more tokens is free and drafts are cheap (it times forwards alone), but
  // whole rounds cost 2.5x and more: the measured ratios must win within a few rounds.
  const Machine m{[](int k) { return 2.5 + 0.5 * k; }, 0.8};
  SpecDepthPolicy p(3);
  calibrate(p, 0.0, 0.05);
  EXPECT_GT(p.best_depth(1), 0);  // the prior alone would draft
  const Outcome o = simulate(p, m, 1, 2000);
  EXPECT_EQ(o.last_best, 0);
  EXPECT_GE(o.speedup, 0.97);
}

TEST(SpecDepthPolicy, DraftsWhereItPays) {
  // A large MoE on a CPU with a good MTP layer: verify rounds are nearly free next to the weights' reads.
  const Machine m{[](int k) { return 1.0 + 0.15 * k; }, 0.8};
  for (int batch : {1, 8}) {
    SpecDepthPolicy p(3);
    calibrate(p, 0.1, 0.05);
    const Outcome o = simulate(p, m, batch, 2000);
    EXPECT_EQ(o.last_best, 3) << "batch " << batch;
    EXPECT_GT(o.speedup, 1.6) << "batch " << batch;
  }
}

TEST(SpecDepthPolicy, FindsSpeculationWhenThePriorSaysItLoses) {
  // Calibration over-estimates the cost (a cold first forward); probes from plain decoding measure the
  // real ratio and the policy switches to drafting.
  const Machine m{[](int k) { return 1.0 + 0.15 * k; }, 0.8};
  SpecDepthPolicy p(3);
  calibrate(p, 1.0, 1.0);
  EXPECT_EQ(p.best_depth(8), 0);
  const Outcome o = simulate(p, m, 8, 2000);
  EXPECT_EQ(o.last_best, 3);
  EXPECT_GT(o.speedup, 1.4);
}

TEST(SpecDepthPolicy, MarginalGainsDoNotLeavePlainDecoding) {
  // Speculation would gain 2% (less than the catch-up and the noise are worth): stay plain.
  const Machine m{[](int k) { return k == 1 ? 1.8 / 1.02 : 5.0; }, 0.8};
  SpecDepthPolicy p(3);
  calibrate(p, 0.5, 0.5);
  for (int i = 0; i < 1000; ++i) p.record_round(1, i % 5 != 0);  // the traffic's acceptance is known: 0.8
  const Outcome o = simulate(p, m, 1, 1000);
  EXPECT_LT(o.rounds[1], 20);
  EXPECT_GE(o.speedup, 0.97);
}

TEST(SpecDepthPolicy, RatiosStayValidAsRoundsSlowDown) {
  // Every round gets 3x slower over the run (contexts grow): the cost of drafting relative to plain
  // decoding does not change, so neither may the decision.
  Machine pays{[](int k) { return 1.0 + 0.15 * k; }, 0.8, [](int i) { return 1e-3 * (1 + i / 1000.0); }};
  Machine loses{[](int k) { return 1.5 + 0.6 * k; }, 0.8, pays.plain};
  SpecDepthPolicy a(3), b(3);
  calibrate(a, 0.1, 0.05);
  calibrate(b, 0.1, 0.05);
  EXPECT_EQ(simulate(a, pays, 1, 2000).last_best, 3);
  const Outcome o = simulate(b, loses, 1, 2000);
  EXPECT_EQ(o.last_best, 0);
  EXPECT_GE(o.speedup, 0.97);
}

TEST(SpecDepthPolicy, AcceptanceAndExpectedTokens) {
  SpecDepthPolicy p(4);
  for (int i = 0; i < 200; ++i) p.record_round(4, 3);  // drafts 1-3 accepted, 4 rejected
  EXPECT_NEAR(p.alpha(1), 1.0, 0.02);
  EXPECT_LT(p.alpha(4), 0.05);
  EXPECT_NEAR(p.expected_tokens(3), 4.0, 0.05);
}

TEST(SpecDepthPolicy, ProbesFromPlainDecodingBackOff) {
  // While plain decoding is best, depth 1 is probed once a plain round is timed (the whole batch until its
  // cost is measured: rounds 2-3), then after 32, 64, 128 rounds and so on. Where depth 1 costs 1.5 rounds it could pay at
  // high acceptance: the interval stops at 128. Where it costs 3 rounds no acceptance could pay (2 tokens
  // at most): the interval keeps doubling.
  for (double ratio : {1.5, 3.0}) {
    SpecDepthPolicy p(1);
    for (int n = 1; n <= 40; ++n) p.record_target(n, double(n));
    p.record_draft(1, 0.5);
    for (int i = 0; i < 100; ++i) p.record_round(1, 0);  // nothing accepted: plain is best either way
    std::vector<int> probes;
    std::vector<bool> whole;
    for (int i = 1; i <= 700; ++i) {
      const int k = p.choose(8);
      p.record_iteration(k, 8, k == 0 ? 1.0 : ratio);
      if (k == 1) {
        probes.push_back(i);
        whole.push_back(p.probe_measures_cost());
        EXPECT_TRUE(p.probe_from_plain());
      }
    }
    EXPECT_EQ(std::vector<bool>(whole.begin(), whole.begin() + 4), (std::vector<bool>{true, true, false, false}));
    if (ratio < 2)
      EXPECT_EQ(probes, (std::vector<int>{2, 3, 35, 99, 227, 355, 483, 611})) << "ratio " << ratio;
    else
      EXPECT_EQ(probes, (std::vector<int>{2, 3, 35, 99, 227, 483})) << "ratio " << ratio;
  }
}

TEST(SpecDepthPolicy, ADueProbeWaitsForACheapRound) {
  SpecDepthPolicy p(1);
  for (int n = 1; n <= 40; ++n) p.record_target(n, double(n));
  p.record_draft(1, 0.5);
  std::vector<int> probes;
  for (int i = 1; i <= 300; ++i) {
    const int k = p.choose(1, /*cheap_probe=*/i == 200);
    p.record_iteration(k, 1, k == 0 ? 1.0 : 3.0);
    if (k == 1) probes.push_back(i);
  }
  EXPECT_EQ(probes, (std::vector<int>{200}));
}

}  // namespace
}  // namespace glm
