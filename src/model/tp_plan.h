#pragma once
// How a Glm4Moe model is split over N tensor-parallel ranks (as SGLang shards it) and what rank r holds:
//   q_proj / k_proj / v_proj, gate_proj / up_proj (dense, routed and shared experts): column-parallel,
//     rank r keeps its block of OUTPUT rows (q heads, KV heads, intermediate features; biases with them);
//   o_proj / down_proj: row-parallel, rank r keeps the matching block of INPUT columns, and the partial
//     outputs are all-reduced (after o_proj; after routed + shared experts are summed, once);
//   KV heads: Nkv / N each, or, when N > Nkv, the one KV head its q heads use (replicated N / Nkv times);
//   embedding and lm_head: by vocabulary, ceil(V / N) rows per rank (the last one may hold fewer);
//     embedding rows are all-reduced (one rank contributes each token), logits gathered on rank 0;
//   router, norms, q/k norms: replicated.
// Expert parallelism (--ep-size N, equal to --tp): routed experts are not split by width; rank r holds
// experts [expert0, expert0 + expert_n) whole and computes them for every token routed there (tokens
// are replicated on all ranks, so no all-to-all is needed: the MoE all-reduce sums the ranks' experts).
// Bigger per-expert matrices than the width split (moe_intermediate_size / N rows is small), at the
// price of load imbalance when routing favours one rank's experts.
// Dimensions that do not divide are refused at start with the reason (make()). FP8 block scales are
// sliced with the weights; a shard may start inside a 128x128 block (WeightRef keeps the block grid).
#include <cstdint>
#include <string>

#include "model/config.h"

namespace glm {

struct TpPlan {
  int rank = 0, size = 1;
  int64_t q_head0 = 0, q_heads = 0;    // this rank's query heads [q_head0, q_head0 + q_heads)
  int64_t kv_head0 = 0, kv_heads = 0;  // its KV heads
  int64_t dense0 = 0, dense_n = 0;     // dense MLP intermediate features
  int64_t moe0 = 0, moe_n = 0;         // each routed expert's intermediate features (all under EP)
  bool expert_parallel = false;
  int64_t expert0 = 0, expert_n = 0;   // routed experts this rank holds (all of them without EP)
  int64_t shared0 = 0, shared_n = 0;   // shared expert(s) intermediate features
  int64_t vocab0 = 0, vocab_n = 0;     // embedding / lm_head rows
  int64_t vocab_per_rank = 0;          // ceil(V / N): rank r's rows start at r * vocab_per_rank

  // Throws GlmError(InvalidArgument) naming the dimension that does not divide by `size`.
  // ep_size: 1 (experts split by width) or == size (whole experts per rank).
  static TpPlan make(const ModelConfig& c, int rank, int size, int ep_size = 1);
  bool holds_expert(int64_t e) const { return e >= expert0 && e < expert0 + expert_n; }
  // The config this rank's forward runs with: its heads and intermediate widths; H, V, E unchanged.
  ModelConfig local_config(const ModelConfig& c) const;
  int64_t vocab_rows_of(int r, int64_t vocab) const;
};

}  // namespace glm
