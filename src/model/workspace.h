#pragma once
// Scratch memory of one forward pass, sized once for max_tokens tokens and reused by every call
// (no allocation per token). T = max_tokens; other letters as in weights.h; I = widest MLP, K = top-k.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "model/config.h"
#include "model/forward_batch.h"

namespace glm {

struct ForwardWorkspace {
  ForwardWorkspace(const ModelConfig& c, int64_t max_tokens)
      : max_tokens(max_tokens),
        x(size_t(max_tokens * c.hidden_size)),
        normed(size_t(max_tokens * c.hidden_size)),
        proj_out(size_t(max_tokens * c.hidden_size)),
        q(size_t(max_tokens * c.q_dim())),
        k(size_t(max_tokens * c.kv_dim())),
        v(size_t(max_tokens * c.kv_dim())),
        attn(size_t(max_tokens * c.q_dim())),
        gate(size_t(max_tokens * widest_mlp(c))),
        up(size_t(max_tokens * widest_mlp(c))),
        rope_cos(size_t(max_tokens * c.rotary_dim() / 2)),
        rope_sin(size_t(max_tokens * c.rotary_dim() / 2)),
        router_logits(size_t(max_tokens * c.n_routed_experts)),
        topk_ids(size_t(max_tokens * c.num_experts_per_tok)),
        topk_weights(size_t(max_tokens * c.num_experts_per_tok)),
        routing_scratch(size_t(2 * c.n_routed_experts + c.n_group)),
        expert_count(size_t(c.n_routed_experts)),
        expert_offset(size_t(c.n_routed_experts + 1)),
        expert_tokens(size_t(max_tokens * c.num_experts_per_tok)),
        expert_token_weight(size_t(max_tokens * c.num_experts_per_tok)),
        expert_in(size_t(max_tokens * c.hidden_size)),
        expert_out(size_t(max_tokens * c.hidden_size)),
        moe_acc(size_t(max_tokens * c.hidden_size)),
        final_hidden(size_t(max_tokens * c.hidden_size)),
        eh_in(size_t(max_tokens * 2 * c.hidden_size)) {}

  static int64_t widest_mlp(const ModelConfig& c) {
    return std::max({c.intermediate_size, c.moe_intermediate_size, c.shared_intermediate_size()});
  }

  int64_t max_tokens;
  BatchLayout layout;
  std::vector<float> x;              // (T, H) residual stream
  std::vector<float> normed;         // (T, H) RMSNorm output fed to projections
  std::vector<float> proj_out;       // (T, H) o_proj / MLP output
  std::vector<float> q, k, v, attn;  // (T, Nq*D), (T, Nkv*D), (T, Nkv*D), (T, Nq*D)
  std::vector<float> gate, up;       // (T, I)
  std::vector<float> rope_cos, rope_sin;  // (T, rotary_dim / 2)
  std::vector<float> router_logits;  // (T, E)
  std::vector<int32_t> topk_ids;     // (T, K)
  std::vector<float> topk_weights;   // (T, K)
  std::vector<float> routing_scratch;
  std::vector<int32_t> expert_count, expert_offset;  // (E), (E + 1)
  std::vector<int32_t> expert_tokens;        // (T*K) batch rows grouped by expert, ascending within an expert
  std::vector<float> expert_token_weight;    // (T*K) routing weight of each entry
  std::vector<float> expert_in, expert_out;  // (T, H) rows gathered for one expert, and its output
  std::vector<float> moe_acc;        // (T, H) weighted sum of routed experts
  std::vector<float> final_hidden;   // (T, H) after the final norm
  std::vector<float> eh_in;          // (T, 2H) MTP: [enorm(e), hnorm(h)]
  std::vector<float> head_in;        // (R, H) rows that get logits (grows with R)
  std::vector<float> logits;         // (R, V) (grows with R)
  std::vector<float> tp_logits, tp_gather;  // tensor parallelism: this rank's (R, V_r), rank 0's gather
};

}  // namespace glm
