#pragma once
// Glm4MoeForCausalLM on the CPU: embedding, L decoder layers, final norm, lm_head (spec §1.2).
// The model owns the checkpoint mapping, the bound weights and one forward workspace; KV caches belong to
// the caller (one KvPagePool for the target's L layers, KvSequence per request).
#include <memory>
#include <span>
#include <string>

#include "core/thread_pool.h"
#include "kernels/rope.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/forward_batch.h"
#include "model/kv_cache.h"
#include "model/weights.h"
#include "model/workspace.h"

namespace glm {

struct LoadOptions {
  int64_t max_batch_tokens = 2048;  // tokens per forward call (workspace size)
  NextNLoad nextn = NextNLoad::Auto;
  bool expand_weights_to_f32 = false;  // numerics checks only (see bind_weights); memory grows 2-4x
};

class Glm4MoeModel {
 public:
  // Reads config.json, maps and validates every shard and binds all tensors before returning.
  // Logs a line per shard and the load time. Throws GlmError naming the file and tensor at fault.
  static std::unique_ptr<Glm4MoeModel> load(const std::string& model_dir, ThreadPool& pool,
                                            const LoadOptions& opt = {});

  const ModelConfig& config() const { return cfg_; }
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
               int64_t max_tokens);

  std::unique_ptr<Checkpoint> ckpt_;
  ModelConfig cfg_;
  Glm4MoeWeights weights_;
  RopeTable rope_;
  ThreadPool& pool_;
  ForwardWorkspace ws_;
};

// Token embedding rows: out (n, H) = embed[ids].
void embed_tokens(const WeightRef& embed, std::span<const int32_t> ids, float* out);

}  // namespace glm
