#include "model/decoder_layer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/linear.h"
#include "kernels/moe_routing.h"
#include "kernels/rmsnorm.h"

namespace glm {

namespace {

void add_inplace(float* x, const float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

// out (n, H) = down(silu(gate(in)) * up(in)) for n rows of `in` (row stride H).
void run_mlp(const MlpWeights& w, const float* in, int64_t n, float* out, ForwardWorkspace& ws, ThreadPool& pool) {
  const int64_t I = w.gate_proj.rows;
  linear(in, n, w.gate_proj, nullptr, ws.gate.data(), pool);
  linear(in, n, w.up_proj, nullptr, ws.up.data(), pool);
  silu_mul(ws.gate.data(), I, ws.up.data(), I, ws.gate.data(), I, n, I);
  linear(ws.gate.data(), n, w.down_proj, nullptr, out, pool);
}

void run_attention(const ModelConfig& c, const AttentionWeights& w, std::span<const SequenceInput> batch,
                   int64_t kv_layer, KvPagePool& kv_pool, ForwardWorkspace& ws, ThreadPool& pool) {
  const int64_t T = ws.layout.n_tokens, D = c.head_dim, Nq = c.num_attention_heads, Nkv = c.num_key_value_heads;
  const int64_t qd = c.q_dim(), kvd = c.kv_dim(), half = c.rotary_dim() / 2;
  linear(ws.normed.data(), T, w.q_proj, w.q_bias, ws.q.data(), pool);
  linear(ws.normed.data(), T, w.k_proj, w.k_bias, ws.k.data(), pool);
  linear(ws.normed.data(), T, w.v_proj, w.v_bias, ws.v.data(), pool);
  const float eps = float(c.rms_norm_eps);
  if (w.q_norm) {  // one head per row: (T * heads, D)
    rms_norm(ws.q.data(), D, w.q_norm, ws.q.data(), D, T * Nq, D, eps);
    rms_norm(ws.k.data(), D, w.k_norm, ws.k.data(), D, T * Nkv, D, eps);
  }
  for (int64_t t = 0; t < T; ++t) {
    const float* cs = ws.rope_cos.data() + t * half;
    const float* sn = ws.rope_sin.data() + t * half;
    apply_rope_neox(ws.q.data() + t * qd, Nq, D, c.rotary_dim(), cs, sn);
    apply_rope_neox(ws.k.data() + t * kvd, Nkv, D, c.rotary_dim(), cs, sn);
  }
  auto& seqs = ws.layout.attention;
  for (size_t s = 0; s < batch.size(); ++s) {
    KvSequence& kv = *batch[s].kv;
    for (int64_t i = 0; i < seqs[s].n_tokens; ++i) {
      const int64_t row = seqs[s].q_row + i, p = seqs[s].start_pos + i;
      kv.store(kv_pool, kv_layer, p, ws.k.data() + row * kvd, ws.v.data() + row * kvd);  // rounded to the KV dtype
    }
    seqs[s].kv = kv.view(kv_pool, kv_layer);
  }
  AttentionShape shape{Nq, Nkv, D, float(1.0 / std::sqrt(double(D)))};
  paged_attention(ws.q.data(), qd, seqs, shape, ws.attn.data(), qd, pool);
  linear(ws.attn.data(), T, w.o_proj, nullptr, ws.proj_out.data(), pool);
}

// Up to this many tokens, the routed experts' products run as two linear_batch() regions (see run_moe).
constexpr int64_t kBatchedExpertsMaxTokens = 32;

// Routed experts (grouped by expert, one linear() per active expert over its tokens) plus the shared expert.
// Each token's routed sum is accumulated in ascending expert order, whatever else is in the batch.
void run_moe(const ModelConfig& c, const MoeWeights& w, ForwardWorkspace& ws, ThreadPool& pool, int64_t layer,
             const ForwardOptions& opt) {
  const int64_t T = ws.layout.n_tokens, H = c.hidden_size, E = c.n_routed_experts, K = c.num_experts_per_tok;
  linear(ws.normed.data(), T, w.router, nullptr, ws.router_logits.data(), pool);
  MoeRoutingParams rp{E, K, c.n_group, c.topk_group, c.norm_topk_prob, float(c.routed_scaling_factor)};
  route_tokens(ws.router_logits.data(), w.e_score_correction_bias, T, rp, ws.topk_ids.data(), ws.topk_weights.data(),
               ws.routing_scratch.data());
  if (opt.on_router) opt.on_router(layer, ws.router_logits.data(), ws.topk_ids.data(), ws.topk_weights.data(), T);

  std::fill(ws.expert_count.begin(), ws.expert_count.end(), 0);
  for (int64_t i = 0; i < T * K; ++i) ++ws.expert_count[size_t(ws.topk_ids[size_t(i)])];
  ws.expert_offset[0] = 0;
  for (int64_t e = 0; e < E; ++e) ws.expert_offset[size_t(e + 1)] = ws.expert_offset[size_t(e)] + ws.expert_count[size_t(e)];
  std::fill(ws.expert_count.begin(), ws.expert_count.end(), 0);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t k = 0; k < K; ++k) {
      const int32_t e = ws.topk_ids[size_t(t * K + k)];
      const int32_t slot = ws.expert_offset[size_t(e)] + ws.expert_count[size_t(e)]++;
      ws.expert_tokens[size_t(slot)] = int32_t(t);
      ws.expert_token_weight[size_t(slot)] = ws.topk_weights[size_t(t * K + k)];
    }

  std::fill(ws.moe_acc.begin(), ws.moe_acc.begin() + T * H, 0.0f);
  auto active = [&](int64_t e) {  // has tokens, and is this rank's expert (expert parallelism)
    return ws.expert_count[size_t(e)] > 0 && w.experts[size_t(e)].gate_proj.rows > 0;
  };
  auto accumulate = [&](int64_t e, const float* out) {  // out: the expert's rows, (n, H)
    const int32_t begin = ws.expert_offset[size_t(e)], n = ws.expert_count[size_t(e)];
    for (int32_t j = 0; j < n; ++j) {
      float* acc = ws.moe_acc.data() + ws.expert_tokens[size_t(begin + j)] * H;
      const float* o = out + j * H;
      const float g = ws.expert_token_weight[size_t(begin + j)];
      for (int64_t i = 0; i < H; ++i) acc[i] += o[i] * g;
    }
  };
  if (T * K <= ws.max_tokens && T <= kBatchedExpertsMaxTokens) {
    // Small batches (decode): every active expert's gate and up in one parallel region, then every down in
    // another, instead of three regions per expert: each is a small matrix, and at two threads the
    // synchronisations cost a quarter of the experts' time. Rows stay grouped by expert at expert_offset,
    // so each product, and the accumulation below in ascending expert order, is exactly the loop's.
    thread_local std::vector<LinearCall> calls;
    calls.clear();
    for (int64_t e = 0; e < E; ++e) {
      if (!active(e)) continue;
      const int32_t begin = ws.expert_offset[size_t(e)], n = ws.expert_count[size_t(e)];
      for (int32_t j = 0; j < n; ++j)
        std::memcpy(ws.expert_in.data() + (begin + j) * H, ws.normed.data() + ws.expert_tokens[size_t(begin + j)] * H,
                    size_t(H) * sizeof(float));
      const MlpWeights& m = w.experts[size_t(e)];
      const int64_t I = m.gate_proj.rows;  // this rank's width (tensor parallelism splits it), the same for all
      const float* in = ws.expert_in.data() + begin * H;
      calls.push_back({in, n, H, &m.gate_proj, nullptr, ws.gate.data() + begin * I, I});
      calls.push_back({in, n, H, &m.up_proj, nullptr, ws.up.data() + begin * I, I});
    }
    linear_batch(calls, pool);
    calls.clear();
    for (int64_t e = 0; e < E; ++e) {
      if (!active(e)) continue;
      const int32_t begin = ws.expert_offset[size_t(e)], n = ws.expert_count[size_t(e)];
      const int64_t I = w.experts[size_t(e)].gate_proj.rows;
      float* g = ws.gate.data() + begin * I;
      silu_mul(g, I, ws.up.data() + begin * I, I, g, I, n, I);
      calls.push_back({g, n, I, &w.experts[size_t(e)].down_proj, nullptr, ws.expert_out.data() + begin * H, H});
    }
    linear_batch(calls, pool);
    for (int64_t e = 0; e < E; ++e)
      if (active(e)) accumulate(e, ws.expert_out.data() + ws.expert_offset[size_t(e)] * H);
  } else {
    for (int64_t e = 0; e < E; ++e) {
      if (!active(e)) continue;
      const int32_t begin = ws.expert_offset[size_t(e)], n = ws.expert_count[size_t(e)];
      for (int32_t j = 0; j < n; ++j)
        std::memcpy(ws.expert_in.data() + j * H, ws.normed.data() + ws.expert_tokens[size_t(begin + j)] * H,
                    size_t(H) * sizeof(float));
      run_mlp(w.experts[size_t(e)], ws.expert_in.data(), n, ws.expert_out.data(), ws, pool);
      accumulate(e, ws.expert_out.data());
    }
  }
  if (w.shared) {
    run_mlp(*w.shared, ws.normed.data(), T, ws.proj_out.data(), ws, pool);
    for (int64_t i = 0; i < T * H; ++i) ws.proj_out[size_t(i)] = ws.moe_acc[size_t(i)] + ws.proj_out[size_t(i)];
  } else {
    std::copy(ws.moe_acc.begin(), ws.moe_acc.begin() + T * H, ws.proj_out.begin());
  }
}

}  // namespace

void fill_rope(const RopeTable& rope, ForwardWorkspace& ws) {
  const int64_t half = rope.rotary_dim() / 2;
  for (int64_t t = 0; t < ws.layout.n_tokens; ++t)
    rope.cos_sin(ws.layout.positions[size_t(t)], ws.rope_cos.data() + t * half, ws.rope_sin.data() + t * half);
}

void run_decoder_layer(const ModelConfig& c, const LayerWeights& w, std::span<const SequenceInput> batch,
                       int64_t kv_layer, KvPagePool& kv_pool, ForwardWorkspace& ws, ThreadPool& pool,
                       const ForwardOptions& opt, dist::Communicator* tp) {
  const int64_t T = ws.layout.n_tokens, H = c.hidden_size;
  const float eps = float(c.rms_norm_eps);
  rms_norm(ws.x.data(), H, w.input_layernorm, ws.normed.data(), H, T, H, eps);
  run_attention(c, w.attn, batch, kv_layer, kv_pool, ws, pool);
  if (tp) tp->all_reduce_sum(ws.proj_out.data(), T * H);
  add_inplace(ws.x.data(), ws.proj_out.data(), T * H);
  rms_norm(ws.x.data(), H, w.post_attention_layernorm, ws.normed.data(), H, T, H, eps);
  if (w.is_moe) run_moe(c, w.moe, ws, pool, kv_layer, opt);
  else run_mlp(w.dense, ws.normed.data(), T, ws.proj_out.data(), ws, pool);
  if (tp) tp->all_reduce_sum(ws.proj_out.data(), T * H);
  add_inplace(ws.x.data(), ws.proj_out.data(), T * H);
}

ForwardResult finish_forward(const ModelConfig& c, const float* norm_weight, const WeightRef& lm_head,
                             ForwardWorkspace& ws, ThreadPool& pool, const TpPlan* tp,
                             std::span<const int64_t> rank_rows) {
  const int64_t T = ws.layout.n_tokens, H = c.hidden_size, V = c.vocab_size;
  rms_norm(ws.x.data(), H, norm_weight, ws.final_hidden.data(), H, T, H, float(c.rms_norm_eps));
  const int64_t R = int64_t(ws.layout.logit_rows.size());
  if (int64_t(ws.head_in.size()) < R * H) ws.head_in.resize(size_t(R * H));
  // Without tensor parallelism the head may be the draft's token-map rows (fewer than V).
  if (int64_t(ws.logits.size()) < R * V) ws.logits.resize(size_t(R * std::max(V, lm_head.rows)));
  for (int64_t r = 0; r < R; ++r)
    std::memcpy(ws.head_in.data() + r * H, ws.final_hidden.data() + ws.layout.logit_rows[size_t(r)] * H,
                size_t(H) * sizeof(float));
  ForwardResult out;
  out.vocab = lm_head.rows;
  if (tp) {
    // Each rank's (R, V_r) block of its vocabulary rows, gathered on rank 0 and interleaved into (R, V).
    const int64_t Vl = lm_head.rows;
    if (int64_t(ws.tp_logits.size()) < R * Vl) ws.tp_logits.resize(size_t(R * Vl));
    linear(ws.head_in.data(), R, lm_head, nullptr, ws.tp_logits.data(), pool);
    dist::Communicator& comm = dist::world();
    std::vector<int64_t> rows(size_t(tp->size));
    for (int r = 0; r < tp->size; ++r) rows[size_t(r)] = rank_rows.empty() ? tp->vocab_rows_of(r, V) : rank_rows[size_t(r)];
    int64_t total = 0;
    std::vector<int64_t> counts(size_t(tp->size));
    for (int r = 0; r < tp->size; ++r) {
      counts[size_t(r)] = R * rows[size_t(r)];
      total += rows[size_t(r)];
    }
    out.vocab = total;
    if (comm.rank() == 0 && int64_t(ws.tp_gather.size()) < R * total) ws.tp_gather.resize(size_t(R * total));
    if (comm.rank() == 0 && int64_t(ws.logits.size()) < R * total) ws.logits.resize(size_t(R * total));
    comm.gather_to_root(ws.tp_logits.data(), counts, ws.tp_gather.data());
    if (comm.rank() == 0) {
      const float* block = ws.tp_gather.data();
      int64_t v0 = 0;  // ranks hold consecutive vocabulary ranges (and so consecutive token-map columns)
      for (int r = 0; r < tp->size; ++r) {
        const int64_t vr = rows[size_t(r)];
        for (int64_t i = 0; i < R; ++i)
          std::memcpy(ws.logits.data() + i * total + v0, block + i * vr, size_t(vr) * sizeof(float));
        block += R * vr;
        v0 += vr;
      }
      out.logits = ws.logits.data();
    }
  } else {
    linear(ws.head_in.data(), R, lm_head, nullptr, ws.logits.data(), pool);
    out.logits = ws.logits.data();
  }
  out.n_logit_rows = R;
  out.logit_rows = ws.layout.logit_rows;
  out.hidden = ws.final_hidden.data();
  out.n_tokens = T;
  return out;
}

}  // namespace glm
