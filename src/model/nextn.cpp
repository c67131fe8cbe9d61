#include "model/nextn.h"

#include <algorithm>

#include "core/error.h"
#include "kernels/linear.h"
#include "kernels/rmsnorm.h"
#include "kernels/weight_rows.h"
#include "model/decoder_layer.h"
#include "model/tp_link.h"

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
    : target_(target),
      w_(require_nextn(target)),
      ws_(target.local_config(), max_batch_tokens),
      comm_(target.tp_plan().size > 1 ? &dist::world() : nullptr) {}

std::unique_ptr<KvPagePool> NextNDraft::make_kv_pool(int64_t n_pages, int64_t page_size, KvDType kv_dtype) const {
  // Under tensor parallelism the other ranks need a mirror of every pool the draft writes; only the
  // target's pools have one (Glm4MoeModel::make_kv_pool).
  if (comm_)
    fail(ErrorKind::InvalidArgument,
         "MTP draft: under tensor parallelism use the target's pool (Glm4MoeModel::make_kv_pool(.., true))");
  return std::make_unique<KvPagePool>(1, target_.local_config().kv_dim(), page_size, n_pages, kv_dtype);
}

void NextNDraft::restrict_vocabulary(std::vector<int32_t> ids) {
  const WeightRef& head = target_.weights().lm_head;  // under tensor parallelism: this rank's vocabulary rows
  const int64_t V = target_.config().vocab_size;
  if (ids.empty() || !std::is_sorted(ids.begin(), ids.end()) ||
      std::adjacent_find(ids.begin(), ids.end()) != ids.end() || ids.front() < 0 || ids.back() >= V)
    fail(ErrorKind::InvalidArgument, "MTP draft: token map ids must be sorted, unique and in [0, {})", V);
  if (!comm_) {
    hot_head_ = gather_weight_rows(head, ids, hot_rows_, hot_scales_);
    hot_ids_ = std::move(ids);
    return;
  }
  // Every rank keeps the map's ids inside its shard; rank 0's gather then concatenates the ranks' columns,
  // which is the sorted map again (shards are consecutive vocabulary ranges).
  if (tp_leader::active()) tp_leader::send_draft_vocabulary(ids);
  const TpPlan& tp = target_.tp_plan();
  hot_rank_rows_.assign(size_t(tp.size), 0);
  std::vector<int32_t> local;
  for (int32_t id : ids) {
    const int r = int(id / tp.vocab_per_rank);
    ++hot_rank_rows_[size_t(r)];
    if (r == tp.rank) local.push_back(int32_t(id - tp.vocab0));
  }
  hot_head_ = gather_weight_rows(head, local, hot_rows_, hot_scales_);
  hot_ids_ = std::move(ids);
}

int64_t NextNDraft::vocab() const {
  return hot_ids_.empty() ? target_.config().vocab_size : int64_t(hot_ids_.size());
}

ForwardResult NextNDraft::forward(std::span<const SequenceInput> batch, const float* prev_hidden, KvPagePool& kv_pool,
                                  const ForwardOptions& opt) {
  const ModelConfig& c = target_.config();
  const int64_t layers = kv_pool.n_layers(), kv_dim = target_.local_config().kv_dim();
  if ((layers != 1 && layers != c.num_hidden_layers + 1) || kv_pool.kv_dim() != kv_dim)
    fail(ErrorKind::InvalidArgument, "MTP forward: KV pool must have 1 (own) or {} (shared) layers of kv_dim {}",
         c.num_hidden_layers + 1, kv_dim);
  ws_.layout.build(batch, kv_pool, c.vocab_size, ws_.max_tokens, c.max_position_embeddings);
  if (!comm_) return compute(batch, prev_hidden, kv_pool, opt);
  if (tp_leader::active()) {
    if (kv_pool.mirror_id() < 0)
      fail(ErrorKind::Internal, "MTP forward: under tensor parallelism the KV pool must come from make_kv_pool()");
    // After build(): the page tables cover the new tokens. prev_hidden is read here, before compute()
    // may overwrite it (it can point into this draft's previous result).
    tp_leader::send_draft_forward(kv_pool.mirror_id(), kv_pool.take_pending_copies(), batch, prev_hidden,
                                  c.hidden_size);
  }
  try {
    return compute(batch, prev_hidden, kv_pool, opt);
  } catch (const std::exception& e) {
    // The other ranks are inside (or on their way to) this forward's collectives: stop them all.
    comm_->abort(fmt::format("MTP draft forward failed on rank {}: {}", comm_->rank(), e.what()));
  }
  __builtin_unreachable();  // abort() does not return
}

ForwardResult NextNDraft::compute(std::span<const SequenceInput> batch, const float* prev_hidden, KvPagePool& kv_pool,
                                  const ForwardOptions& opt) {
  const ModelConfig& c = target_.config();
  const int64_t T = ws_.layout.n_tokens, H = c.hidden_size;
  const float eps = float(c.rms_norm_eps);
  ThreadPool& pool = target_.pool();
  const TpPlan& tp = target_.tp_plan();
  if (comm_) {
    embed_tokens_shard(target_.weights().embed_tokens, tp.vocab0, ws_.layout.token_ids, ws_.x.data());
    comm_->all_reduce_sum(ws_.x.data(), T * H);
  } else {
    embed_tokens(target_.weights().embed_tokens, ws_.layout.token_ids, ws_.x.data());
  }
  rms_norm(ws_.x.data(), H, w_.enorm, ws_.eh_in.data(), 2 * H, T, H, eps);
  rms_norm(prev_hidden, H, w_.hnorm, ws_.eh_in.data() + H, 2 * H, T, H, eps);
  linear(ws_.eh_in.data(), T, w_.eh_proj, nullptr, ws_.x.data(), pool);  // replicated: the whole (H, 2H)
  if (opt.on_layer) opt.on_layer(0, ws_.x.data(), T);
  fill_rope(target_.rope(), ws_);
  run_decoder_layer(target_.local_config(), w_.layer, batch, kv_pool.n_layers() - 1, kv_pool, ws_, pool, opt, comm_);
  if (opt.on_layer) opt.on_layer(1, ws_.x.data(), T);
  for (const auto& in : batch) in.kv->set_length(in.start_pos + int64_t(in.tokens.size()));
  ForwardResult out = finish_forward(c, w_.shared_head_norm, hot_ids_.empty() ? target_.weights().lm_head : hot_head_,
                                     ws_, pool, comm_ ? &tp : nullptr, hot_rank_rows_);
  out.vocab_ids = hot_ids_;
  return out;
}

}  // namespace glm
