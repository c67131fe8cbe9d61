#include "model/weights.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "core/error.h"
#include "core/float_formats.h"
#include "core/log.h"
#include "kernels/linear.h"

namespace glm {

namespace {

std::string shape_str(const std::vector<int64_t>& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

// Binds tensors by name and owns the float32 copies it makes.
class Binder {
 public:
  Binder(const Checkpoint& ckpt, const ModelConfig& cfg, Glm4MoeWeights& w, bool expand_to_f32, const TpPlan& tp)
      : ckpt_(ckpt), cfg_(cfg), w_(w), expand_to_f32_(expand_to_f32), tp_(tp) {}

  const TensorView& tensor(const std::string& name, const std::vector<int64_t>& shape) {
    const TensorView& t = ckpt_.require(name);
    if (t.shape != shape)
      fail(ErrorKind::InvalidModel, "{}: tensor '{}' has shape {}, the config implies {}", t.file, name,
           t.shape_str(), shape_str(shape));
    return t;
  }

  // A small float tensor (norm weight, bias) copied to float32.
  const float* vector_f32(const std::string& name, const std::vector<int64_t>& shape) {
    return to_f32(tensor(name, shape));
  }
  // Elements [off, off + n) of a 1-D tensor (the biases of a column-parallel shard).
  const float* vector_f32_slice(const std::string& name, int64_t size, int64_t off, int64_t n) {
    return to_f32(tensor(name, {size}), off, n);
  }

  const float* to_f32(const TensorView& t, int64_t off = 0, int64_t count = -1) {
    const int64_t n = count < 0 ? t.numel() : count;
    auto buf = std::make_unique<float[]>(size_t(n));
    const uint8_t* p = t.data + off * int64_t(dtype_size(t.dtype));
    switch (t.dtype) {
      case DType::F32:
        std::memcpy(buf.get(), p, size_t(n) * 4);
        break;
      case DType::BF16:
      case DType::F16:
        for (int64_t i = 0; i < n; ++i) {
          uint16_t h;
          std::memcpy(&h, p + 2 * i, 2);
          buf[size_t(i)] = t.dtype == DType::BF16 ? bf16_to_f32(h) : f16_to_f32(h);
        }
        break;
      default:
        fail(ErrorKind::InvalidModel, "{}: tensor '{}' has dtype {}, expected F32, BF16 or F16", t.file, t.name,
             dtype_name(t.dtype));
    }
    w_.owned_bytes += size_t(n) * 4;
    w_.owned.push_back(std::move(buf));
    return w_.owned.back().get();
  }

  // module.weight as a (rows, cols) projection; FP8 weights get their float32 scales.
  WeightRef linear(const std::string& module, int64_t rows, int64_t cols) {
    return expand_to_f32_ ? linear_as_f32(module, rows, cols) : linear_in_place(module, rows, cols);
  }

  WeightRef linear_in_place(const std::string& module, int64_t rows, int64_t cols) {
    const std::string name = module + ".weight";
    const TensorView& t = tensor(name, {rows, cols});
    WeightRef r;
    r.dtype = t.dtype;
    r.data = t.data;
    r.rows = rows;
    r.cols = cols;
    const QuantizationConfig& q = cfg_.quantization;
    switch (t.dtype) {
      case DType::BF16: case DType::F16: case DType::F32:
        return r;
      case DType::F8_E4M3:
        break;
      default:
        fail(ErrorKind::InvalidModel, "{}: tensor '{}' has dtype {}, expected BF16, F16, F32 or F8_E4M3", t.file,
             name, dtype_name(t.dtype));
    }
    if (q.method == QuantMethod::None)
      fail(ErrorKind::InvalidModel, "{}: tensor '{}' is F8_E4M3 but config.json has no quantization_config", t.file,
           name);
    if (q.is_ignored(module))
      fail(ErrorKind::InvalidModel, "{}: tensor '{}' is F8_E4M3 but its module is in the quantization ignore list",
           t.file, name);
    const std::string scale_name = module + "." + q.scale_suffix();
    const TensorView* s = ckpt_.find(scale_name);
    if (!s)
      fail(ErrorKind::InvalidModel, "{}: missing tensor '{}' (scale of the F8_E4M3 weight '{}')", t.file, scale_name,
           name);
    if (q.per_row()) {
      if (s->shape != std::vector<int64_t>{rows, 1} && s->shape != std::vector<int64_t>{rows})
        fail(ErrorKind::InvalidModel, "{}: tensor '{}' has shape {}, expected [{}, 1] (per-channel scale)", s->file,
             scale_name, s->shape_str(), rows);
      r.scale_layout = ScaleLayout::PerRow;
    } else {
      const int64_t br = q.block_rows, bc = q.block_cols;
      std::vector<int64_t> want{(rows + br - 1) / br, (cols + bc - 1) / bc};
      if (s->shape != want)
        fail(ErrorKind::InvalidModel, "{}: tensor '{}' has shape {}, expected {} ({}x{} blocks of a [{}, {}] weight)",
             s->file, scale_name, s->shape_str(), shape_str(want), br, bc, rows, cols);
      r.scale_layout = ScaleLayout::Block;
      r.block_rows = int(br);
      r.block_cols = int(bc);
    }
    r.scale = to_f32(*s);
    return r;
  }

  // A projection kept as float32 (the router: its logits are float32 from float32 activations).
  WeightRef linear_as_f32(const std::string& module, int64_t rows, int64_t cols) {
    WeightRef src = linear_in_place(module, rows, cols);
    auto buf = std::make_unique<float[]>(size_t(rows * cols));
    for (int64_t o = 0; o < rows; ++o) weight_row_to_f32(src, o, buf.get() + o * cols);
    WeightRef r;
    r.dtype = DType::F32;
    r.data = buf.get();
    r.rows = rows;
    r.cols = cols;
    w_.owned_bytes += size_t(rows * cols) * 4;
    w_.owned.push_back(std::move(buf));
    return r;
  }

  // Tensor parallelism: this rank's intermediate features [f0, f0 + n) of a width-`width` MLP:
  // rows of gate/up (column-parallel), columns of down (row-parallel). Views into the mapping: the
  // other ranks' slices are never read.
  MlpWeights mlp(const std::string& pre, int64_t width, int64_t f0, int64_t n) {
    const int64_t H = cfg_.hidden_size;
    return {linear(pre + ".gate_proj", width, H).row_slice(f0, n), linear(pre + ".up_proj", width, H).row_slice(f0, n),
            row_parallel(linear(pre + ".down_proj", H, width), f0, n)};
  }

  // Columns [c0, c0 + n) of a row-parallel weight (o_proj, down_proj). A view would do, but its rows
  // are short pieces of the full rows (an expert's down_proj row is 1.5-3 KB: every 4 KiB page holds
  // some of this rank's columns), so the rank would fault in the whole tensor. Under tensor
  // parallelism the slice is therefore copied once into a packed buffer (same dtype; FP8 keeps its
  // block grid through block_col0 and the original scales) and the tensor's pages are dropped from this
  // process again (they stay in the page cache, reclaimable), so each rank keeps 1/N resident.
  WeightRef row_parallel(const WeightRef& full, int64_t c0, int64_t n) {
    WeightRef v = full.col_slice(c0, n);
    if (tp_.size == 1 || n == full.cols) return v;
    const size_t es = dtype_size(v.dtype), row_bytes = size_t(n) * es;
    const size_t bytes = size_t(v.rows) * row_bytes;
    auto buf = std::make_unique<float[]>((bytes + sizeof(float) - 1) / sizeof(float));
    auto* dst = reinterpret_cast<uint8_t*>(buf.get());
    const auto* src = static_cast<const uint8_t*>(v.data);
    for (int64_t o = 0; o < v.rows; ++o) std::memcpy(dst + size_t(o) * row_bytes, src + size_t(o * v.row_stride()) * es, row_bytes);
    if (!expand_to_f32_) {
      // Only whole pages inside the tensor: neighbours' pages stay mapped.
      const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
      const uintptr_t b = (uintptr_t(full.data) + page - 1) / page * page;
      const uintptr_t e = (uintptr_t(full.data) + size_t(full.rows * full.row_stride()) * es) / page * page;
      if (e > b) ::madvise(reinterpret_cast<void*>(b), e - b, MADV_DONTNEED);
    }
    v.data = buf.get();
    v.ld = 0;
    w_.owned_bytes += bytes;
    w_.owned.push_back(std::move(buf));
    return v;
  }

  LayerWeights layer(int64_t idx, bool force_moe) {
    const ModelConfig& c = cfg_;
    const int64_t H = c.hidden_size, D = c.head_dim, E = c.n_routed_experts;
    const int64_t q0 = tp_.q_head0 * D, qn = tp_.q_heads * D, kv0 = tp_.kv_head0 * D, kvn = tp_.kv_heads * D;
    const std::string pre = fmt::format("model.layers.{}", idx);
    LayerWeights l;
    l.input_layernorm = vector_f32(pre + ".input_layernorm.weight", {H});
    l.post_attention_layernorm = vector_f32(pre + ".post_attention_layernorm.weight", {H});
    AttentionWeights& a = l.attn;
    a.q_proj = linear(pre + ".self_attn.q_proj", c.q_dim(), H).row_slice(q0, qn);
    a.k_proj = linear(pre + ".self_attn.k_proj", c.kv_dim(), H).row_slice(kv0, kvn);
    a.v_proj = linear(pre + ".self_attn.v_proj", c.kv_dim(), H).row_slice(kv0, kvn);
    a.o_proj = row_parallel(linear(pre + ".self_attn.o_proj", H, c.q_dim()), q0, qn);
    if (c.attention_bias) {
      a.q_bias = vector_f32_slice(pre + ".self_attn.q_proj.bias", c.q_dim(), q0, qn);
      a.k_bias = vector_f32_slice(pre + ".self_attn.k_proj.bias", c.kv_dim(), kv0, kvn);
      a.v_bias = vector_f32_slice(pre + ".self_attn.v_proj.bias", c.kv_dim(), kv0, kvn);
    }
    if (c.use_qk_norm) {
      a.q_norm = vector_f32(pre + ".self_attn.q_norm.weight", {D});
      a.k_norm = vector_f32(pre + ".self_attn.k_norm.weight", {D});
    }
    l.is_moe = force_moe || c.is_moe_layer(idx);
    if (!l.is_moe) {
      l.dense = mlp(pre + ".mlp", c.intermediate_size, tp_.dense0, tp_.dense_n);
      return l;
    }
    MoeWeights& m = l.moe;
    m.router = linear_as_f32(pre + ".mlp.gate", E, H);
    const std::string bias = pre + ".mlp.gate.e_score_correction_bias";
    m.e_score_correction_bias = vector_f32(bias, {E});
    m.experts.reserve(size_t(E));
    for (int64_t e = 0; e < E; ++e) {
      // Expert parallelism: other ranks' experts stay empty (rows 0) and are never read.
      if (!tp_.holds_expert(e)) {
        m.experts.emplace_back();
        continue;
      }
      m.experts.push_back(mlp(fmt::format("{}.mlp.experts.{}", pre, e), c.moe_intermediate_size, tp_.moe0, tp_.moe_n));
    }
    if (c.n_shared_experts > 0)
      m.shared = mlp(pre + ".mlp.shared_experts", c.shared_intermediate_size(), tp_.shared0, tp_.shared_n);
    return l;
  }

 private:
  const Checkpoint& ckpt_;
  const ModelConfig& cfg_;
  Glm4MoeWeights& w_;
  bool expand_to_f32_;
  const TpPlan& tp_;
};

}  // namespace

Glm4MoeWeights bind_weights(const Checkpoint& ckpt, const ModelConfig& cfg, NextNLoad nextn, bool expand_to_f32,
                            const TpPlan* tp) {
  Glm4MoeWeights w;
  const TpPlan whole = TpPlan::make(cfg, 0, 1);
  const TpPlan& plan = tp ? *tp : whole;
  Binder b(ckpt, cfg, w, expand_to_f32, plan);
  const int64_t H = cfg.hidden_size, V = cfg.vocab_size, L = cfg.num_hidden_layers;
  w.embed_tokens = b.linear("model.embed_tokens", V, H).row_slice(plan.vocab0, plan.vocab_n);
  w.layers.reserve(size_t(L));
  for (int64_t l = 0; l < L; ++l) w.layers.push_back(b.layer(l, false));
  w.final_norm = b.vector_f32("model.norm.weight", {H});
  if (cfg.tie_word_embeddings && !ckpt.find("lm_head.weight")) w.lm_head = w.embed_tokens;
  else w.lm_head = b.linear("lm_head", V, H).row_slice(plan.vocab0, plan.vocab_n);

  const std::string mtp = fmt::format("model.layers.{}", L);
  bool want = nextn == NextNLoad::Require ||
              (nextn == NextNLoad::Auto && cfg.num_nextn_predict_layers > 0 && ckpt.find(mtp + ".eh_proj.weight"));
  if (nextn == NextNLoad::Auto && cfg.num_nextn_predict_layers > 0 && !want)
    spdlog::warn("config has num_nextn_predict_layers={} but the checkpoint has no '{}.eh_proj.weight': MTP disabled",
                 cfg.num_nextn_predict_layers, mtp);
  if (want) {
    NextNWeights n;
    n.enorm = b.vector_f32(mtp + ".enorm.weight", {H});
    n.hnorm = b.vector_f32(mtp + ".hnorm.weight", {H});
    n.eh_proj = b.linear(mtp + ".eh_proj", H, 2 * H);
    n.shared_head_norm = b.vector_f32(mtp + ".shared_head.norm.weight", {H});
    n.layer = b.layer(L, true);
    w.nextn = std::move(n);
  }
  return w;
}

}  // namespace glm
