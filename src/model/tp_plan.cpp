#include "model/tp_plan.h"

#include <algorithm>

#include "core/error.h"

namespace glm {

namespace {

void require_divisible(const char* what, int64_t value, int size) {
  if (value % size != 0)
    fail(ErrorKind::InvalidArgument, "--tp {} does not fit this model: {} = {} is not divisible by {}", size, what,
         value, size);
}

}  // namespace

TpPlan TpPlan::make(const ModelConfig& c, int rank, int size, int ep_size) {
  if (size < 1 || rank < 0 || rank >= size)
    fail(ErrorKind::InvalidArgument, "tensor parallel rank {} of {} is out of range", rank, size);
  TpPlan p;
  p.rank = rank;
  p.size = size;
  const int64_t Nq = c.num_attention_heads, Nkv = c.num_key_value_heads;
  require_divisible("num_attention_heads", Nq, size);
  p.q_heads = Nq / size;
  p.q_head0 = rank * p.q_heads;
  if (size <= Nkv) {
    require_divisible("num_key_value_heads", Nkv, size);
    p.kv_heads = Nkv / size;
    p.kv_head0 = rank * p.kv_heads;
  } else {
    // More ranks than KV heads: each KV head is replicated on size / Nkv ranks, and each rank's query
    // heads must all belong to its one KV head's group.
    if (size % Nkv != 0)
      fail(ErrorKind::InvalidArgument,
           "--tp {} does not fit this model: it exceeds num_key_value_heads = {} and is not a multiple of it", size,
           Nkv);
    p.kv_heads = 1;
    p.kv_head0 = rank / (size / Nkv);
  }
  require_divisible("intermediate_size", c.intermediate_size, size);
  p.dense_n = c.intermediate_size / size;
  p.dense0 = rank * p.dense_n;
  if (ep_size != 1 && ep_size != size)
    fail(ErrorKind::InvalidArgument, "--ep-size {} must be 1 or equal to --tp {}", ep_size, size);
  require_divisible("moe_intermediate_size", c.moe_intermediate_size, size);  // the shared expert(s)
  p.expert_parallel = ep_size > 1;
  if (p.expert_parallel) {
    if (c.n_routed_experts % size != 0)
      fail(ErrorKind::InvalidArgument, "--ep-size {} does not fit this model: n_routed_experts = {} is not divisible by {}",
           size, c.n_routed_experts, size);
    p.expert_n = c.n_routed_experts / size;
    p.expert0 = rank * p.expert_n;
    p.moe_n = c.moe_intermediate_size;
  } else {
    p.expert_n = c.n_routed_experts;
    p.moe_n = c.moe_intermediate_size / size;
    p.moe0 = rank * p.moe_n;
  }
  p.shared_n = c.shared_intermediate_size() / size;
  p.shared0 = rank * p.shared_n;
  p.vocab_per_rank = (c.vocab_size + size - 1) / size;
  p.vocab0 = std::min<int64_t>(c.vocab_size, rank * p.vocab_per_rank);
  p.vocab_n = p.vocab_rows_of(rank, c.vocab_size);
  return p;
}

int64_t TpPlan::vocab_rows_of(int r, int64_t vocab) const {
  const int64_t b = std::min<int64_t>(vocab, r * vocab_per_rank);
  return std::min<int64_t>(vocab, b + vocab_per_rank) - b;
}

ModelConfig TpPlan::local_config(const ModelConfig& c) const {
  ModelConfig l = c;
  l.num_attention_heads = q_heads;
  l.num_key_value_heads = kv_heads;
  l.intermediate_size = dense_n;
  // Without EP shared_intermediate_size() = moe_n * n_shared_experts = shared_n. Under EP routed experts
  // keep their width and the workspace is sized for the widest MLP; the shared expert's width comes from
  // its weights (linear() shapes), not from this config.
  l.moe_intermediate_size = moe_n;
  return l;
}

}  // namespace glm
