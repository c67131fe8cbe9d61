#pragma once
// The batched forward API shared by the target model and the MTP draft. One call runs several sequences;
// each contributes a span of new tokens (a prefill chunk, one decode token, or several draft tokens to
// verify) at its own start position with its own KV cache. All tokens of the batch go through each weight
// matrix together; attention reads only each sequence's own pages.
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "kernels/attention.h"
#include "model/kv_cache.h"

namespace glm {

struct SequenceInput {
  std::span<const int32_t> tokens;  // new tokens of this sequence
  int64_t start_pos = 0;            // position of tokens[0]; the cache must hold [0, start_pos). Any cached
                                    // positions >= start_pos are overwritten (rejected speculative tokens).
  KvSequence* kv = nullptr;
  bool all_logits = false;          // logits for every new token (verification), else only for the last
};

// Debug hook: index 0 = the embeddings, index l + 1 = the residual stream after decoder layer l;
// hidden is (n_tokens, H) for all tokens of the batch in order.
using LayerHook = std::function<void(int64_t index, const float* hidden, int64_t n_tokens)>;

// Debug hook on each MoE layer's routing: router_logits (T, E) pre-sigmoid, expert_ids / weights (T, K)
// (weights after norm_topk_prob and x routed_scaling_factor).
using RouterHook = std::function<void(int64_t layer, const float* router_logits, const int32_t* expert_ids,
                                      const float* weights, int64_t n_tokens)>;

struct ForwardOptions {
  LayerHook on_layer;    // optional
  RouterHook on_router;  // optional
};

// Views into the model's workspace, valid until its next forward call.
struct ForwardResult {
  const float* logits = nullptr;        // (n_logit_rows, vocab) float32
  int64_t n_logit_rows = 0;
  int64_t vocab = 0;                    // logits row width: V, or the draft's token-map size (FR-Spec)
  std::span<const int32_t> vocab_ids;   // token id of each logits column when vocab < V; empty: column = id
  std::span<const int64_t> logit_rows;  // batch-token index of each logits row
  const float* hidden = nullptr;        // (n_tokens, H) after the final norm (target: model.norm;
                                        // draft: shared_head.norm); the MTP draft consumes these
  int64_t n_tokens = 0;
};

// Per-call bookkeeping derived from the inputs: token rows, positions, attention sequences, logits rows.
// Owned by the workspace and reused (capacity grows only when a larger batch arrives).
struct BatchLayout {
  std::vector<int32_t> token_ids;              // (T)
  std::vector<int64_t> positions;              // (T)
  std::vector<AttentionSequence> attention;    // one per sequence (kv views filled per layer)
  std::vector<int64_t> logit_rows;             // rows of the batch that get logits
  int64_t n_tokens = 0;

  // Validates the inputs (positions, KV coverage, token ids < vocab, T <= max_tokens), reserves KV pages
  // up to start_pos + n and fills the layout. Throws GlmError(InvalidArgument) on bad input.
  void build(std::span<const SequenceInput> batch, KvPagePool& pool, int64_t vocab_size, int64_t max_tokens,
             int64_t max_positions);
};

}  // namespace glm
