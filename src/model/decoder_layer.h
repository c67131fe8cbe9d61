#pragma once
// One Glm4Moe decoder layer over a batch (pre-norm, residual adds as transformers' Glm4MoeDecoderLayer):
//   x += o_proj(attention(rope(qk_norm(qkv_proj(rmsnorm(x))))))
//   x += mlp_or_moe(rmsnorm(x))
// Shared by the target model and the MTP draft.
#include "core/thread_pool.h"
#include "dist/communicator.h"
#include "kernels/rope.h"
#include "model/config.h"
#include "model/kv_cache.h"
#include "model/tp_plan.h"
#include "model/weights.h"
#include "model/workspace.h"

namespace glm {

// ws.x (T, H) is updated in place; ws.rope_cos/sin must hold the batch's positions; ws.layout.attention
// must describe the batch. K/V of the new tokens go to layer `kv_layer` of `kv_pool` for each sequence.
// Tensor parallelism: cfg is the rank's local config, w its shard, and tp sums the partial outputs of
// o_proj and of the MLP / MoE (routed + shared, one all-reduce) over the ranks.
void run_decoder_layer(const ModelConfig& cfg, const LayerWeights& w, std::span<const SequenceInput> batch,
                       int64_t kv_layer, KvPagePool& kv_pool, ForwardWorkspace& ws, ThreadPool& pool,
                       const ForwardOptions& opt, dist::Communicator* tp = nullptr);

// ws.rope_cos / rope_sin for the positions of ws.layout.
void fill_rope(const RopeTable& rope, ForwardWorkspace& ws);

// ws.final_hidden = rmsnorm(ws.x); logits for ws.layout.logit_rows into ws.logits. Returns the views.
// tp: lm_head holds this rank's vocabulary rows; the logits are gathered on rank 0 (null elsewhere).
// rank_rows: the lm_head rows of every rank when they are not the vocabulary split (the draft's token map:
// each rank holds the map's ids in its shard); the gathered row then has their sum of columns.
ForwardResult finish_forward(const ModelConfig& cfg, const float* norm_weight, const WeightRef& lm_head,
                             ForwardWorkspace& ws, ThreadPool& pool, const TpPlan* tp = nullptr,
                             std::span<const int64_t> rank_rows = {});

}  // namespace glm
