#include "model/glm4_moe.h"

#include <chrono>

#include "core/error.h"
#include "core/log.h"
#include "kernels/linear.h"
#include "model/decoder_layer.h"

namespace glm {

void embed_tokens(const WeightRef& embed, std::span<const int32_t> ids, float* out) {
  for (size_t t = 0; t < ids.size(); ++t) weight_row_to_f32(embed, ids[t], out + int64_t(t) * embed.cols);
}

Glm4MoeModel::Glm4MoeModel(std::unique_ptr<Checkpoint> ckpt, ModelConfig cfg, Glm4MoeWeights w, ThreadPool& pool,
                           int64_t max_tokens)
    : ckpt_(std::move(ckpt)),
      cfg_(std::move(cfg)),
      weights_(std::move(w)),
      rope_(cfg_.rotary_dim(), cfg_.rope_theta),
      pool_(pool),
      ws_(cfg_, max_tokens) {}

std::unique_ptr<Glm4MoeModel> Glm4MoeModel::load(const std::string& model_dir, ThreadPool& pool,
                                                 const LoadOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  if (opt.max_batch_tokens <= 0)
    fail(ErrorKind::InvalidArgument, "max_batch_tokens must be positive, got {}", opt.max_batch_tokens);
  ModelConfig cfg = load_model_config(model_dir);
  if (cfg.n_routed_experts > 1024 || cfg.n_group > 1024)
    fail(ErrorKind::InvalidModel, "{}/config.json: n_routed_experts {} is above the supported 1024", model_dir,
         cfg.n_routed_experts);
  auto ckpt = std::make_unique<Checkpoint>(model_dir);
  Glm4MoeWeights w = bind_weights(*ckpt, cfg, opt.nextn, opt.expand_weights_to_f32);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  spdlog::info("model: {} layers, H={}, {} experts (top-{}), {}{}; {:.1f} MiB mapped, {:.1f} MiB float32 copies; "
               "loaded in {:.3f} s",
               cfg.num_hidden_layers, cfg.hidden_size, cfg.n_routed_experts, cfg.num_experts_per_tok,
               cfg.quantization.method == QuantMethod::None ? "unquantized" : "FP8",
               w.nextn ? ", MTP layer" : "", double(ckpt->total_bytes()) / (1 << 20),
               double(w.owned_bytes) / (1 << 20), secs);
  return std::unique_ptr<Glm4MoeModel>(
      new Glm4MoeModel(std::move(ckpt), std::move(cfg), std::move(w), pool, opt.max_batch_tokens));
}

std::unique_ptr<KvPagePool> Glm4MoeModel::make_kv_pool(int64_t n_pages, int64_t page_size, KvDType kv_dtype,
                                                       bool with_draft_layer) const {
  return std::make_unique<KvPagePool>(cfg_.num_hidden_layers + (with_draft_layer ? 1 : 0), cfg_.kv_dim(), page_size,
                                      n_pages, kv_dtype);
}

ForwardResult Glm4MoeModel::forward(std::span<const SequenceInput> batch, KvPagePool& kv_pool,
                                    const ForwardOptions& opt) {
  const int64_t L = cfg_.num_hidden_layers;
  if ((kv_pool.n_layers() != L && kv_pool.n_layers() != L + 1) || kv_pool.kv_dim() != cfg_.kv_dim())
    fail(ErrorKind::InvalidArgument, "forward: KV pool shape ({} layers, kv_dim {}) does not match the model",
         kv_pool.n_layers(), kv_pool.kv_dim());
  ws_.layout.build(batch, kv_pool, cfg_.vocab_size, ws_.max_tokens, cfg_.max_position_embeddings);
  const int64_t T = ws_.layout.n_tokens;
  embed_tokens(weights_.embed_tokens, ws_.layout.token_ids, ws_.x.data());
  if (opt.on_layer) opt.on_layer(0, ws_.x.data(), T);
  fill_rope(rope_, ws_);
  for (size_t l = 0; l < weights_.layers.size(); ++l) {
    run_decoder_layer(cfg_, weights_.layers[l], batch, int64_t(l), kv_pool, ws_, pool_, opt);
    if (opt.on_layer) opt.on_layer(int64_t(l) + 1, ws_.x.data(), T);
  }
  for (const auto& in : batch) in.kv->set_length(in.start_pos + int64_t(in.tokens.size()));
  return finish_forward(cfg_, weights_.final_norm, weights_.lm_head, ws_, pool_);
}

}  // namespace glm
