#pragma once
// The MTP / NextN draft (spec §1.8), built on the target's weights (its embedding and lm_head are reused):
//   x   = eh_proj([enorm(embed(next_token)), hnorm(prev_hidden)])
//   x   = decoder_layer(x)             (its own one-layer KV cache, positions of the target tokens)
//   out = shared_head.norm(x);  logits = lm_head(out)
// At position i the draft combines the target's post-norm hidden h_i with the embedding of token i+1 and
// predicts token i+2. Chained draft steps feed `out` back as prev_hidden.
// Tensor parallelism (as SGLang shards its GLM NextN model): the decoder layer is split like the target's
// (tp_plan.h; its K/V heads live in layer L of the rank's pool), embedding and lm_head are the target's
// vocabulary shards (embedding rows all-reduced, logits gathered on rank 0), and enorm / hnorm / eh_proj /
// shared_head.norm are replicated (eh_proj is a plain Linear in SGLang too: every rank computes it whole).
// On rank 0 forward() first sends the batch and prev_hidden to the other ranks (tp_link.h DraftForward),
// which run the same forward on their shard in lockstep; the logits exist on rank 0 only.
#include <memory>
#include <span>

#include "model/glm4_moe.h"

namespace glm {

class NextNDraft {
 public:
  // Throws GlmError(InvalidModel) when the target was loaded without an MTP layer.
  NextNDraft(const Glm4MoeModel& target, int64_t max_batch_tokens);

  // A one-layer pool of its own (not under tensor parallelism: use the target's pool there). The draft
  // also runs on a target pool made with
  // Glm4MoeModel::make_kv_pool(.., with_draft_layer = true): then it uses that pool's last layer (L), and a
  // sequence's KvSequence serves both models (the scheduler's speculative decoding does this).
  std::unique_ptr<KvPagePool> make_kv_pool(int64_t n_pages, int64_t page_size = 16,
                                           KvDType kv_dtype = KvDType::BF16) const;

  // batch[s].tokens are the NEXT tokens (x_{i+1}) at positions start_pos..; prev_hidden (T, H) holds the
  // hidden state for each token of the batch, in batch order (it may point into this draft's previous
  // result: it is consumed before the result is overwritten). Result as Glm4MoeModel::forward, with
  // hidden = shared_head.norm output.
  ForwardResult forward(std::span<const SequenceInput> batch, const float* prev_hidden, KvPagePool& kv_pool,
                        const ForwardOptions& opt = {});

  // FR-Spec (--speculative-token-map, model/speculative_token_map.h): from now on the draft's lm_head scores
  // only these token ids (sorted, unique, in range), so forward() returns logits rows of ids.size() columns
  // and ForwardResult::vocab_ids names their tokens. The rows are copied once (kernels/weight_rows.h: BF16
  // and per-row FP8 rows give the full head's logits bitwise; block FP8 is rounded to BF16). Under tensor
  // parallelism rank 0 sends the map to the other ranks (tp_link.h DraftVocabulary) and each keeps the
  // rows of its vocabulary shard.
  void restrict_vocabulary(std::vector<int32_t> ids);
  // Columns of a logits row: the vocabulary, or the token map's size.
  int64_t vocab() const;

 private:
  ForwardResult compute(std::span<const SequenceInput> batch, const float* prev_hidden, KvPagePool& kv_pool,
                        const ForwardOptions& opt);

  const Glm4MoeModel& target_;
  const NextNWeights& w_;
  ForwardWorkspace ws_;
  dist::Communicator* comm_ = nullptr;  // set under tensor parallelism
  // The token map's lm_head (restrict_vocabulary); hot_ids_ empty = the target's whole lm_head.
  std::vector<int32_t> hot_ids_;
  std::vector<uint8_t> hot_rows_;
  std::vector<float> hot_scales_;
  WeightRef hot_head_;
  std::vector<int64_t> hot_rank_rows_;  // under tensor parallelism: the map's ids in each rank's shard
};

}  // namespace glm
