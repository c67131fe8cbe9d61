#include "model/glm4_moe.h"

#include <chrono>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "core/log.h"
#include "kernels/linear.h"
#include "model/decoder_layer.h"
#include "model/tp_link.h"

namespace glm {

void embed_tokens(const WeightRef& embed, std::span<const int32_t> ids, float* out) {
  for (size_t t = 0; t < ids.size(); ++t) weight_row_to_f32(embed, ids[t], out + int64_t(t) * embed.cols);
}

void embed_tokens_shard(const WeightRef& embed, int64_t vocab0, std::span<const int32_t> ids, float* out) {
  const int64_t H = embed.cols;
  for (size_t t = 0; t < ids.size(); ++t) {
    const int64_t row = int64_t(ids[t]) - vocab0;
    if (row >= 0 && row < embed.rows) weight_row_to_f32(embed, row, out + int64_t(t) * H);
    else std::memset(out + int64_t(t) * H, 0, size_t(H) * sizeof(float));
  }
}

Glm4MoeModel::Glm4MoeModel(std::unique_ptr<Checkpoint> ckpt, ModelConfig cfg, Glm4MoeWeights w, ThreadPool& pool,
                           int64_t max_tokens, const TpPlan& tp)
    : ckpt_(std::move(ckpt)),
      cfg_(std::move(cfg)),
      tp_(tp),
      lcfg_(tp_.local_config(cfg_)),
      comm_(tp.size > 1 ? &dist::world() : nullptr),
      weights_(std::move(w)),
      rope_(cfg_.rotary_dim(), cfg_.rope_theta),
      pool_(pool),
      ws_(lcfg_, max_tokens) {}

std::unique_ptr<Glm4MoeModel> Glm4MoeModel::load_local(const std::string& model_dir, ThreadPool& pool,
                                                       const LoadOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  const dist::Communicator& comm = dist::world();
  if (opt.max_batch_tokens <= 0)
    fail(ErrorKind::InvalidArgument, "max_batch_tokens must be positive, got {}", opt.max_batch_tokens);
  // Test hook (tests/python/test_tensor_parallel.py): one rank reads another directory, so a broken
  // shard on one rank can be checked to stop the whole job with that rank's reason.
  std::string dir = model_dir;
  if (const char* over = std::getenv(fmt::format("GLMSERVE_TEST_TP_MODEL_PATH_RANK{}", comm.rank()).c_str())) dir = over;
  ModelConfig cfg = load_model_config(dir);
  if (cfg.n_routed_experts > 1024 || cfg.n_group > 1024)
    fail(ErrorKind::InvalidModel, "{}/config.json: n_routed_experts {} is above the supported 1024", dir,
         cfg.n_routed_experts);
  const TpPlan plan = TpPlan::make(cfg, comm.rank(), comm.size(), opt.ep_size);
  auto ckpt = std::make_unique<Checkpoint>(dir);
  Glm4MoeWeights w = bind_weights(*ckpt, cfg, opt.nextn, opt.expand_weights_to_f32, &plan);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  spdlog::info("model: {} layers, H={}, {} experts (top-{}), {}{}; {:.1f} MiB mapped, {:.1f} MiB float32 copies; "
               "loaded in {:.3f} s{}",
               cfg.num_hidden_layers, cfg.hidden_size, cfg.n_routed_experts, cfg.num_experts_per_tok,
               cfg.quantization.method == QuantMethod::None ? "unquantized" : "FP8",
               w.nextn ? ", MTP layer" : "", double(ckpt->total_bytes()) / (1 << 20),
               double(w.owned_bytes) / (1 << 20), secs,
               plan.size > 1 ? fmt::format(" (tensor-parallel rank {}/{}: {} q heads, {} KV heads, vocab rows {}+{}{})",
                                           plan.rank, plan.size, plan.q_heads, plan.kv_heads, plan.vocab0, plan.vocab_n,
                                           plan.expert_parallel ? fmt::format(", experts {}+{}", plan.expert0, plan.expert_n) : "")
                             : std::string());
  return std::unique_ptr<Glm4MoeModel>(
      new Glm4MoeModel(std::move(ckpt), std::move(cfg), std::move(w), pool, opt.max_batch_tokens, plan));
}

// Every rank loads, then all exchange their status: either all have a model or rank 0 throws an error
// naming each failed rank (followers get null and wait for rank 0's next message: Shutdown).
std::unique_ptr<Glm4MoeModel> Glm4MoeModel::load_collective(const std::string& model_dir, ThreadPool& pool,
                                                            const LoadOptions& opt) {
  dist::Communicator& comm = dist::world();
  std::unique_ptr<Glm4MoeModel> m;
  std::string err;
  ErrorKind kind = ErrorKind::InvalidModel;
  try {
    m = load_local(model_dir, pool, opt);
  } catch (const GlmError& e) {
    if (comm.size() == 1) throw;
    err = e.what();
    kind = e.kind();
  } catch (const std::exception& e) {
    if (comm.size() == 1) throw;
    err = e.what();
    kind = ErrorKind::Internal;
  }
  if (comm.size() == 1) return m;
  const std::vector<std::string> all = comm.all_gather_strings(err);
  std::string msg;
  int failed = 0;
  bool same = true;
  for (size_t r = 0; r < all.size(); ++r) {
    if (all[r].empty()) continue;
    ++failed;
    same = same && all[r] == all[0];
    msg += fmt::format("{}rank {}: {}", msg.empty() ? "" : "; ", r, all[r]);
  }
  if (failed == 0) return m;
  if (comm.rank() != 0) {
    if (!err.empty()) spdlog::error("rank {}: loading failed: {}", comm.rank(), err);
    return nullptr;
  }
  if (failed == comm.size() && same) msg = fmt::format("{} (on every rank)", all[0]);
  if (err.empty()) kind = ErrorKind::InvalidModel;
  throw GlmError(kind, fmt::format("tensor-parallel load failed: {}", msg));
}

std::unique_ptr<Glm4MoeModel> Glm4MoeModel::load(const std::string& model_dir, ThreadPool& pool,
                                                 const LoadOptions& opt) {
  const dist::Communicator& comm = dist::world();
  if (opt.tp_size < 1) fail(ErrorKind::InvalidArgument, "--tp must be >= 1, got {}", opt.tp_size);
  if (opt.tp_size != comm.size()) {
    if (comm.size() == 1)
      fail(ErrorKind::InvalidArgument,
           "--tp {0} needs {0} processes started by MPI: mpirun -np {0} glmserve <command> --tp {0} ... "
           "(on several hosts add --hostfile FILE; see README 'Tensor parallelism')",
           opt.tp_size);
    fail(ErrorKind::InvalidArgument, "started as {0} MPI processes but --tp is {1}: pass --tp {0}", comm.size(),
         opt.tp_size);
  }
  if (comm.rank() != 0) fail(ErrorKind::Internal, "Glm4MoeModel::load on tensor-parallel rank {}", comm.rank());
  tp_leader::send_load(model_dir, opt, pool.size());
  return load_collective(model_dir, pool, opt);
}

std::unique_ptr<Glm4MoeModel> Glm4MoeModel::load_tp_follower(const std::string& model_dir, ThreadPool& pool,
                                                             const LoadOptions& opt) {
  return load_collective(model_dir, pool, opt);
}

std::unique_ptr<KvPagePool> Glm4MoeModel::make_kv_pool(int64_t n_pages, int64_t page_size, KvDType kv_dtype,
                                                       bool with_draft_layer) const {
  auto p = std::make_unique<KvPagePool>(lcfg_.num_hidden_layers + (with_draft_layer ? 1 : 0), lcfg_.kv_dim(),
                                        page_size, n_pages, kv_dtype);
  if (tp_leader::active()) {
    p->set_mirror(tp_leader::create_pool(n_pages, page_size, kv_dtype, with_draft_layer), [](int64_t id) {
      try {
        tp_leader::drop_pool(id);
      } catch (const std::exception& e) {  // a destructor must not throw; the pool is only leaked there
        spdlog::warn("tensor parallelism: dropping KV pool {} on the other ranks failed: {}", id, e.what());
      }
    });
  }
  return p;
}

ForwardResult Glm4MoeModel::forward(std::span<const SequenceInput> batch, KvPagePool& kv_pool,
                                    const ForwardOptions& opt) {
  const int64_t L = cfg_.num_hidden_layers;
  if ((kv_pool.n_layers() != L && kv_pool.n_layers() != L + 1) || kv_pool.kv_dim() != lcfg_.kv_dim())
    fail(ErrorKind::InvalidArgument, "forward: KV pool shape ({} layers, kv_dim {}) does not match the model",
         kv_pool.n_layers(), kv_pool.kv_dim());
  ws_.layout.build(batch, kv_pool, cfg_.vocab_size, ws_.max_tokens, cfg_.max_position_embeddings);
  if (!comm_) return compute(batch, kv_pool, opt);
  if (tp_leader::active()) {
    if (kv_pool.mirror_id() < 0)
      fail(ErrorKind::Internal, "forward: under tensor parallelism the KV pool must come from make_kv_pool()");
    // After build(): the page tables now cover the new tokens, and the other ranks get exactly them.
    tp_leader::send_forward(kv_pool.mirror_id(), kv_pool.take_pending_copies(), batch);
  }
  try {
    return compute(batch, kv_pool, opt);
  } catch (const std::exception& e) {
    // The other ranks are inside (or on their way to) this forward's collectives: stop them all.
    comm_->abort(fmt::format("forward failed on rank {}: {}", tp_.rank, e.what()));
  }
  __builtin_unreachable();  // abort() does not return
}

ForwardResult Glm4MoeModel::compute(std::span<const SequenceInput> batch, KvPagePool& kv_pool,
                                    const ForwardOptions& opt) {
  const int64_t T = ws_.layout.n_tokens, H = cfg_.hidden_size;
  if (comm_) {
    embed_tokens_shard(weights_.embed_tokens, tp_.vocab0, ws_.layout.token_ids, ws_.x.data());
    comm_->all_reduce_sum(ws_.x.data(), T * H);
  } else {
    embed_tokens(weights_.embed_tokens, ws_.layout.token_ids, ws_.x.data());
  }
  if (opt.on_layer) opt.on_layer(0, ws_.x.data(), T);
  fill_rope(rope_, ws_);
  for (size_t l = 0; l < weights_.layers.size(); ++l) {
    run_decoder_layer(lcfg_, weights_.layers[l], batch, int64_t(l), kv_pool, ws_, pool_, opt, comm_);
    if (opt.on_layer) opt.on_layer(int64_t(l) + 1, ws_.x.data(), T);
  }
  for (const auto& in : batch) in.kv->set_length(in.start_pos + int64_t(in.tokens.size()));
  return finish_forward(cfg_, weights_.final_norm, weights_.lm_head, ws_, pool_, comm_ ? &tp_ : nullptr);
}

}  // namespace glm
