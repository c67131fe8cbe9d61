#pragma once
// Glm4MoeForCausalLM on the CPU: embedding, L decoder layers, final norm, lm_head (spec §1.2).
// The model owns the checkpoint mapping, the bound weights and one forward workspace; KV caches belong to
// the caller (one KvPagePool for the target's L layers, KvSequence per request).
// Tensor parallelism (--tp N, N MPI ranks; tp_plan.h for the split, tp_link.h for the control path):
// each rank holds its shard; on rank 0 load(), make_kv_pool() and forward() also send the same work to
// the other ranks, which run it in run_tp_follower(); forward()'s logits exist on rank 0 only.
#include <memory>
#include <span>
#include <string>

#include "core/thread_pool.h"
#include "dist/communicator.h"
#include "kernels/rope.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/forward_batch.h"
#include "model/kv_cache.h"
#include "model/tp_plan.h"
#include "model/weights.h"
#include "model/workspace.h"

namespace glm {

struct LoadOptions {
  int64_t max_batch_tokens = 2048;  // tokens per forward call (workspace size)
  NextNLoad nextn = NextNLoad::Auto;
  bool expand_weights_to_f32 = false;  // numerics checks only (see bind_weights); memory grows 2-4x
  int tp_size = 1;  // tensor-parallel ranks: must equal the MPI world size (dist::world())
  int ep_size = 1;  // 1, or tp_size: routed experts placed whole on ranks (tp_plan.h)
};

class Glm4MoeModel {
 public:
  // Reads config.json, maps and validates every shard and binds all tensors before returning.
  // Logs a line per shard and the load time. Throws GlmError naming the file and tensor at fault.
  // Under tensor parallelism (rank 0 only) every rank loads its shard; the error names each rank that
  // failed and why; opt.tp_size must equal the world size (else the error says how to launch).
  static std::unique_ptr<Glm4MoeModel> load(const std::string& model_dir, ThreadPool& pool,
                                            const LoadOptions& opt = {});
  // Ranks 1..N-1 (tp_link.cpp): the same, collectively with rank 0; null when some rank failed.
  static std::unique_ptr<Glm4MoeModel> load_tp_follower(const std::string& model_dir, ThreadPool& pool,
                                                        const LoadOptions& opt);

  // The checkpoint's config (all heads, full widths).
  const ModelConfig& config() const { return cfg_; }
  // What this rank computes: its heads and intermediate widths (== config() without tensor parallelism).
  const ModelConfig& local_config() const { return lcfg_; }
  const TpPlan& tp_plan() const { return tp_; }
  const Glm4MoeWeights& weights() const { return weights_; }
  const RopeTable& rope() const { return rope_; }
  ThreadPool& pool() const { return pool_; }
  int64_t max_batch_tokens() const { return ws_.max_tokens; }

  // A pool sized for this model's layers.
  // K/V stored as kv_dtype (bf16 = --kv-cache-dtype auto; see kernels/kv_format.h).
  // with_draft_layer adds layer L for the MTP draft (NextNDraft): with speculative decoding a position's
  // target and draft K/V live in the same page, so a sequence has one page table for both and the prefix
  // cache carries the draft's K/V along with the target's.
  std::unique_ptr<KvPagePool> make_kv_pool(int64_t n_pages, int64_t page_size = 16,
                                           KvDType kv_dtype = KvDType::BF16, bool with_draft_layer = false) const;

  // Runs the batch (layers 0..L-1 of kv_pool; a draft layer L is left alone), appends the new K/V to each
  // sequence's cache (its length becomes start_pos + n) and returns logits (last token of each sequence, or all tokens where asked) and final post-norm hidden
  // states. The result views the workspace and is valid until the next call.
  ForwardResult forward(std::span<const SequenceInput> batch, KvPagePool& kv_pool, const ForwardOptions& opt = {});

 private:
  Glm4MoeModel(std::unique_ptr<Checkpoint> ckpt, ModelConfig cfg, Glm4MoeWeights w, ThreadPool& pool,
               int64_t max_tokens, const TpPlan& tp);
  static std::unique_ptr<Glm4MoeModel> load_local(const std::string& model_dir, ThreadPool& pool,
                                                  const LoadOptions& opt);
  static std::unique_ptr<Glm4MoeModel> load_collective(const std::string& model_dir, ThreadPool& pool,
                                                       const LoadOptions& opt);
  ForwardResult compute(std::span<const SequenceInput> batch, KvPagePool& kv_pool, const ForwardOptions& opt);

  std::unique_ptr<Checkpoint> ckpt_;
  ModelConfig cfg_;
  TpPlan tp_;
  ModelConfig lcfg_;
  dist::Communicator* comm_ = nullptr;  // set when tp_.size > 1
  Glm4MoeWeights weights_;
  RopeTable rope_;
  ThreadPool& pool_;
  ForwardWorkspace ws_;
};

// Token embedding rows: out (n, H) = embed[ids].
void embed_tokens(const WeightRef& embed, std::span<const int32_t> ids, float* out);
// A vocabulary shard holding rows [vocab0, vocab0 + embed.rows): other ids get zero rows (the ranks'
// outputs are then summed, exactly: one rank contributes each token).
void embed_tokens_shard(const WeightRef& embed, int64_t vocab0, std::span<const int32_t> ids, float* out);

}  // namespace glm
