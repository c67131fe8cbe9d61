// Non-linear operators of the forward pass against plain double-precision statements of the same math
// (transformers' Glm4MoeRMSNorm / apply_rotary_pos_emb / Glm4MoeTopkRouter); attention is in attention_test.cpp.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "core/thread_pool.h"
#include "kernels/activation.h"
#include "kernels/moe_routing.h"
#include "kernels/rmsnorm.h"
#include "kernels/rope.h"

namespace glm {
namespace {

std::vector<float> randn(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

TEST(RmsNorm, MatchesDoubleReference) {
  const int64_t rows = 5, dim = 200;
  auto x = randn(size_t(rows * dim), 1, 3.0f), w = randn(size_t(dim), 2);
  std::vector<float> y(x.size());
  rms_norm(x.data(), dim, w.data(), y.data(), dim, rows, dim, 1e-5f);
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t i = 0; i < dim; ++i) ss += double(x[r * dim + i]) * x[r * dim + i];
    const double inv = 1.0 / std::sqrt(ss / dim + 1e-5);
    for (int64_t i = 0; i < dim; ++i) {
      const double want = double(w[i]) * x[r * dim + i] * inv;
      EXPECT_NEAR(y[r * dim + i], want, 1e-5 * std::max(1.0, std::abs(want)));
    }
  }
  // in place, with row strides (the per-head q/k norm)
  std::vector<float> z = x;
  rms_norm(z.data(), dim, w.data(), z.data(), dim, rows, dim, 1e-5f);
  EXPECT_EQ(0, std::memcmp(z.data(), y.data(), y.size() * 4));
}

TEST(Rope, NeoxPartialRotation) {
  const int64_t heads = 3, hd = 96, rot = 48;  // partial_rotary_factor 0.5
  const double theta = 1e6;
  RopeTable table(rot, theta);
  for (int64_t pos : {0, 1, 17, 4095}) {
    auto x = randn(size_t(heads * hd), uint32_t(pos) + 7);
    std::vector<float> y = x, c(size_t(rot / 2)), s(size_t(rot / 2));
    table.cos_sin(pos, c.data(), s.data());
    apply_rope_neox(y.data(), heads, hd, rot, c.data(), s.data());
    for (int64_t h = 0; h < heads; ++h) {
      const float* xh = x.data() + h * hd;
      const float* yh = y.data() + h * hd;
      for (int64_t i = 0; i < rot / 2; ++i) {
        const double ang = double(pos) * std::pow(theta, -2.0 * double(i) / double(rot));
        const double a = xh[i], b = xh[i + rot / 2];
        // float32 angle (as transformers) vs double: the difference grows with pos * ulp(inv_freq)
        const double tol = 1e-5 + 1e-6 * double(pos);
        EXPECT_NEAR(yh[i], a * std::cos(ang) - b * std::sin(ang), tol) << "pos " << pos << " i " << i;
        EXPECT_NEAR(yh[i + rot / 2], b * std::cos(ang) + a * std::sin(ang), tol);
      }
      for (int64_t i = rot; i < hd; ++i) EXPECT_EQ(yh[i], xh[i]) << "dims past rotary_dim pass through";
    }
  }
}

TEST(Activation, SiluMul) {
  auto g = randn(300, 3, 4.0f), u = randn(300, 4);
  std::vector<float> o(300);
  silu_mul(g.data(), 100, u.data(), 100, o.data(), 100, 3, 100);
  for (size_t i = 0; i < o.size(); ++i) {
    const double want = double(g[i]) / (1.0 + std::exp(-double(g[i]))) * u[i];
    EXPECT_NEAR(o[i], want, 1e-6 * std::max(1.0, std::abs(want)));
  }
}

// Brute-force statement of Glm4MoeTopkRouter.forward for one token.
void route_reference(const float* logits, const float* bias, const MoeRoutingParams& p, std::vector<int>& ids,
                     std::vector<double>& w) {
  const int64_t E = p.n_experts, per = E / p.n_group;
  std::vector<double> s(static_cast<size_t>(E)), c(static_cast<size_t>(E));
  for (int64_t e = 0; e < E; ++e) {
    s[e] = 1.0 / (1.0 + std::exp(-double(logits[e])));
    c[e] = s[e] + bias[e];
  }
  std::vector<std::pair<double, int>> groups;
  for (int64_t g = 0; g < p.n_group; ++g) {
    std::vector<double> v(c.begin() + g * per, c.begin() + (g + 1) * per);
    std::sort(v.rbegin(), v.rend());
    groups.push_back({v[0] + v[1], int(g)});
  }
  std::sort(groups.rbegin(), groups.rend());
  std::vector<bool> keep(size_t(p.n_group), false);
  for (int64_t k = 0; k < p.topk_group; ++k) keep[groups[k].second] = true;
  std::vector<std::pair<double, int>> cand;
  for (int64_t e = 0; e < E; ++e) cand.push_back({keep[e / per] ? c[e] : -INFINITY, int(e)});
  std::sort(cand.begin(), cand.end(), [](auto& a, auto& b) { return a.first > b.first; });
  ids.clear();
  w.clear();
  double sum = 0;
  for (int64_t k = 0; k < p.top_k; ++k) {
    ids.push_back(cand[k].second);
    w.push_back(s[cand[k].second]);
    sum += w.back();
  }
  for (auto& x : w) x = (p.norm_topk_prob ? x / (sum + 1e-20) : x) * p.routed_scaling_factor;
}

TEST(MoeRouting, MatchesReference) {
  for (auto [groups, keep, norm] : {std::tuple{1, 1, true}, {4, 2, true}, {8, 3, false}}) {
    MoeRoutingParams p{32, 6, groups, keep, norm, 2.5f};
    const int64_t T = 40;
    auto logits = randn(size_t(T * 32), 21 + groups, 2.0f), bias = randn(32, 22, 0.3f);
    std::vector<int32_t> ids(size_t(T * 6));
    std::vector<float> w(size_t(T * 6)), scratch(size_t(2 * 32 + groups));
    route_tokens(logits.data(), bias.data(), T, p, ids.data(), w.data(), scratch.data());
    for (int64_t t = 0; t < T; ++t) {
      std::vector<int> rid;
      std::vector<double> rw;
      route_reference(logits.data() + t * 32, bias.data(), p, rid, rw);
      for (int k = 0; k < 6; ++k) {
        EXPECT_EQ(ids[t * 6 + k], rid[k]) << "token " << t << " groups " << groups;
        EXPECT_NEAR(w[t * 6 + k], rw[k], 1e-6);
      }
    }
  }
}

TEST(MoeRouting, CorrectionBiasSelectsButDoesNotWeigh) {
  MoeRoutingParams p{8, 2, 1, 1, false, 1.0f};
  std::vector<float> logits{0, 0, 0, 0, 0, 0, 1.0f, 2.0f};  // experts 6, 7 score highest
  std::vector<float> bias(8, 0.0f);
  bias[1] = 5.0f;  // forces expert 1 in
  std::vector<int32_t> ids(2);
  std::vector<float> w(2), scratch(17);
  route_tokens(logits.data(), bias.data(), 1, p, ids.data(), w.data(), scratch.data());
  EXPECT_EQ(ids[0], 1);
  EXPECT_EQ(ids[1], 7);
  EXPECT_FLOAT_EQ(w[0], 0.5f);  // sigmoid(0), no bias in the weight
  EXPECT_NEAR(w[1], 1.0 / (1.0 + std::exp(-2.0)), 1e-6);
}

}  // namespace
}  // namespace glm
