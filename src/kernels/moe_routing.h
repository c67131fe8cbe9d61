#pragma once
// GLM-4.5 router (spec §1.5): sigmoid scores in float32; the correction bias only steers which experts are
// chosen; group-limited selection (top-2 sum per group, keep topk_group groups); weights are the unbiased
// scores of the chosen experts, optionally renormalised (+1e-20 as transformers), times routed_scaling_factor.
#include <cstdint>

namespace glm {

struct MoeRoutingParams {
  int64_t n_experts = 0;       // E
  int64_t top_k = 0;           // experts per token
  int64_t n_group = 1, topk_group = 1;
  bool norm_topk_prob = true;
  float routed_scaling_factor = 1.0f;
};

// logits: (n_tokens, E) router logits; correction_bias: (E) or nullptr.
// expert_ids, weights: (n_tokens, top_k), written in descending order of the biased score.
// scratch: 2 * E + n_group floats (no allocation here).
void route_tokens(const float* logits, const float* correction_bias, int64_t n_tokens, const MoeRoutingParams& p,
                  int32_t* expert_ids, float* weights, float* scratch);

}  // namespace glm
