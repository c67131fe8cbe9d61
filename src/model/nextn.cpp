#include "model/nextn.h"

#include "core/error.h"
#include "kernels/linear.h"
#include "kernels/rmsnorm.h"
#include "model/decoder_layer.h"

namespace glm {

namespace {

const NextNWeights& require_nextn(const Glm4MoeModel& target) {
  if (!target.weights().nextn)
    fail(ErrorKind::InvalidModel, "model has no MTP (NextN) layer loaded (num_nextn_predict_layers = {})",
         target.config().num_nextn_predict_layers);
  return *target.weights().nextn;
}

}  // namespace

NextNDraft::NextNDraft(const Glm4MoeModel& target, int64_t max_batch_tokens)
    : target_(target), w_(require_nextn(target)), ws_(target.config(), max_batch_tokens) {}

std::unique_ptr<KvPagePool> NextNDraft::make_kv_pool(int64_t n_pages, int64_t page_size, KvDType kv_dtype) const {
  return std::make_unique<KvPagePool>(1, target_.config().kv_dim(), page_size, n_pages, kv_dtype);
}

ForwardResult NextNDraft::forward(std::span<const SequenceInput> batch, const float* prev_hidden, KvPagePool& kv_pool,
                                  const ForwardOptions& opt) {
  const ModelConfig& c = target_.config();
  const int64_t layers = kv_pool.n_layers();
  if ((layers != 1 && layers != c.num_hidden_layers + 1) || kv_pool.kv_dim() != c.kv_dim())
    fail(ErrorKind::InvalidArgument, "MTP forward: KV pool must have 1 (own) or {} (shared) layers of kv_dim {}",
         c.num_hidden_layers + 1, c.kv_dim());
  ws_.layout.build(batch, kv_pool, c.vocab_size, ws_.max_tokens, c.max_position_embeddings);
  const int64_t T = ws_.layout.n_tokens, H = c.hidden_size;
  const float eps = float(c.rms_norm_eps);
  ThreadPool& pool = target_.pool();
  embed_tokens(target_.weights().embed_tokens, ws_.layout.token_ids, ws_.x.data());
  rms_norm(ws_.x.data(), H, w_.enorm, ws_.eh_in.data(), 2 * H, T, H, eps);
  rms_norm(prev_hidden, H, w_.hnorm, ws_.eh_in.data() + H, 2 * H, T, H, eps);
  linear(ws_.eh_in.data(), T, w_.eh_proj, nullptr, ws_.x.data(), pool);
  if (opt.on_layer) opt.on_layer(0, ws_.x.data(), T);
  fill_rope(target_.rope(), ws_);
  run_decoder_layer(c, w_.layer, batch, layers - 1, kv_pool, ws_, pool, opt);
  if (opt.on_layer) opt.on_layer(1, ws_.x.data(), T);
  for (const auto& in : batch) in.kv->set_length(in.start_pos + int64_t(in.tokens.size()));
  return finish_forward(c, w_.shared_head_norm, target_.weights().lm_head, ws_, pool);
}

}  // namespace glm
