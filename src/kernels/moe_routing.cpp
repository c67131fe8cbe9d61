#include "kernels/moe_routing.h"

#include <cmath>
#include <limits>

namespace glm {

namespace {

// Index of the largest value in v[0, n) not yet taken (ties: lowest index).
int64_t argmax_excluding(const float* v, int64_t n, const bool* taken) {
  int64_t best = -1;
  for (int64_t i = 0; i < n; ++i)
    if (!taken[i] && (best < 0 || v[i] > v[best])) best = i;
  return best;
}

}  // namespace

void route_tokens(const float* logits, const float* correction_bias, int64_t n_tokens, const MoeRoutingParams& p,
                  int32_t* expert_ids, float* weights, float* scratch) {
  const int64_t E = p.n_experts, per_group = E / p.n_group;
  const float neg_inf = -std::numeric_limits<float>::infinity();
  float* scores = scratch;             // (E) sigmoid
  float* choice = scratch + E;         // (E) biased, group-masked
  float* group_score = scratch + 2 * E;  // (n_group)
  bool taken[1024];                    // E and n_group are bounded by the model check (<= 1024)
  for (int64_t t = 0; t < n_tokens; ++t) {
    const float* lg = logits + t * E;
    for (int64_t e = 0; e < E; ++e) {
      scores[e] = 1.0f / (1.0f + std::exp(-lg[e]));
      choice[e] = scores[e] + (correction_bias ? correction_bias[e] : 0.0f);
    }
    if (p.n_group > 1) {
      for (int64_t g = 0; g < p.n_group; ++g) {
        const float* c = choice + g * per_group;
        float a = neg_inf, b = neg_inf;  // two largest
        for (int64_t i = 0; i < per_group; ++i) {
          if (c[i] > a) { b = a; a = c[i]; }
          else if (c[i] > b) { b = c[i]; }
        }
        group_score[g] = a + b;
      }
      for (int64_t g = 0; g < p.n_group; ++g) taken[g] = false;
      for (int64_t k = 0; k < p.topk_group; ++k) taken[argmax_excluding(group_score, p.n_group, taken)] = true;
      for (int64_t g = 0; g < p.n_group; ++g)
        if (!taken[g])
          for (int64_t i = 0; i < per_group; ++i) choice[g * per_group + i] = neg_inf;
    }
    for (int64_t e = 0; e < E; ++e) taken[e] = false;
    int32_t* ids = expert_ids + t * p.top_k;
    float* w = weights + t * p.top_k;
    float sum = 0.0f;
    for (int64_t k = 0; k < p.top_k; ++k) {
      int64_t e = argmax_excluding(choice, E, taken);
      taken[e] = true;
      ids[k] = int32_t(e);
      w[k] = scores[e];
      sum += w[k];
    }
    const float denom = sum + 1e-20f;
    for (int64_t k = 0; k < p.top_k; ++k) w[k] = (p.norm_topk_prob ? w[k] / denom : w[k]) * p.routed_scaling_factor;
  }
}

}  // namespace glm
