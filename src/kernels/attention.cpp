// paged_attention(): shape checks, work items (sequence, query block, KV head), round-robin threading,
// per-thread scratch, and the ISA dispatch to the block kernels of attention_tile.h.
#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "kernels/attention_kernels.h"

namespace glm {

namespace {

using attention_detail::AttnScratch;
using attention_detail::AttnWork;
using attention_detail::kKeyTile;
using attention_detail::kRowsPerBlock;

constexpr int64_t kMaxHeadDim = 1024;
constexpr int64_t kMaxLanes = 16;  // widest vector of any block kernel (AVX-512)
constexpr int64_t kMaxPositions = int64_t(1) << 24;  // causal masks compare positions as float32 (exact below)

void check_shape(const AttentionShape& s) {
  if (s.head_dim <= 0 || s.head_dim > kMaxHeadDim || s.n_kv_heads <= 0 || s.n_heads <= 0 ||
      s.n_heads % s.n_kv_heads != 0)
    fail(ErrorKind::Internal, "attention: unsupported shape heads={} kv_heads={} head_dim={}", s.n_heads,
         s.n_kv_heads, s.head_dim);
}

// Per-thread buffers; grow to the largest (head_dim, rows) seen, never shrink.
class ThreadScratch {
 public:
  AttnScratch get(int64_t D, int64_t rows) {
    const int64_t padded = (rows + kMaxLanes - 1) / kMaxLanes * kMaxLanes;
    const int64_t need = padded * D + 2 * kKeyTile * D + padded * kKeyTile + 4 * padded + rows * D;
    if (int64_t(buf_.size()) < need) buf_.resize(size_t(need), 0.0f);  // zeroed: key rows past a tile's end are read
    float* p = buf_.data();
    AttnScratch sc{};
    auto take = [&](int64_t n) { float* r = p; p += n; return r; };
    sc.qt = take(padded * D);
    sc.kf = take(kKeyTile * D);
    sc.vf = take(kKeyTile * D);
    sc.s = take(padded * kKeyTile);
    sc.m = take(padded);
    sc.l = take(padded);
    sc.corr = take(padded);
    sc.limit = take(padded);
    sc.acc = take(rows * D);
    return sc;
  }

 private:
  std::vector<float> buf_;
};

using BlockFn = void (*)(const AttnWork&, const AttnScratch&);

BlockFn block_kernel(Isa isa, KvDType t, int64_t head_dim) {
  if (attention_scores_in_bf16(isa, t, head_dim)) return attention_detail::attend_block_avx512bf16;
  switch (isa) {
    case Isa::Portable: return attention_detail::attend_block_portable;
    case Isa::Avx2: return head_dim % 8 == 0 ? attention_detail::attend_block_avx2 : attention_detail::attend_block_portable;
    case Isa::Avx512:
    case Isa::Avx512Bf16:  // float32 pages keep float32 scores: rounding K to bf16 would lose what they keep
      return head_dim % 16 == 0 ? attention_detail::attend_block_avx512 : attention_detail::attend_block_portable;
  }
  return attention_detail::attend_block_portable;
}

}  // namespace

bool attention_scores_in_bf16(Isa isa, KvDType t, int64_t head_dim) {
  return isa == Isa::Avx512Bf16 && t != KvDType::F32 && head_dim % 16 == 0;
}

void paged_attention_with_isa(Isa isa, const float* q, int64_t ld_q, std::span<const AttentionSequence> seqs,
                              const AttentionShape& shape, float* out, int64_t ld_out, ThreadPool& pool) {
  check_shape(shape);
  if (int(isa) > int(best_isa())) fail(ErrorKind::Internal, "attention: ISA {} is not supported by this CPU", isa_name(isa));
  const int64_t G = shape.n_heads / shape.n_kv_heads, Hkv = shape.n_kv_heads, D = shape.head_dim;
  // Query tokens per block: enough to fill kRowsPerBlock rows with the group's heads. The grouping only
  // decides which rows share one pass over the keys, never a row's arithmetic.
  const int64_t block_tokens = std::max<int64_t>(1, kRowsPerBlock / G);
  const int64_t rows_max = block_tokens * G;
  int64_t n_items = 0;
  for (const auto& s : seqs) {
    if (s.start_pos < 0 || s.n_tokens < 0 || s.start_pos + s.n_tokens > kMaxPositions)
      fail(ErrorKind::Internal, "attention: positions [{}, {}) outside [0, 2^24)", s.start_pos, s.start_pos + s.n_tokens);
    n_items += (s.n_tokens + block_tokens - 1) / block_tokens * Hkv;
  }
  if (n_items == 0) return;

  // Items in (sequence, block, kv head) order, dealt round-robin: heads of one block land on different
  // threads and long prefill blocks spread evenly. Results do not depend on which thread runs an item.
  pool.run([&](int ti, int nt) {
    thread_local ThreadScratch scratch;
    const AttnScratch sc = scratch.get(D, rows_max);
    size_t si = 0;
    int64_t seq_item0 = 0;
    for (int64_t item = ti; item < n_items; item += nt) {
      auto seq_items = [&](size_t i) { return (seqs[i].n_tokens + block_tokens - 1) / block_tokens * Hkv; };
      while (item >= seq_item0 + seq_items(si)) seq_item0 += seq_items(si++);
      const AttentionSequence& s = seqs[si];
      const int64_t local = item - seq_item0, block = local / Hkv;
      AttnWork w;
      w.q = q;
      w.ld_q = ld_q;
      w.out = out;
      w.ld_out = ld_out;
      w.seq = &s;
      w.shape = &shape;
      w.kv_head = local % Hkv;
      w.tok0 = block * block_tokens;
      w.tok1 = std::min(s.n_tokens, w.tok0 + block_tokens);
      block_kernel(isa, s.kv.dtype, D)(w, sc);  // the dtype is the sequence's: pick per item
    }
  });
}

void paged_attention(const float* q, int64_t ld_q, std::span<const AttentionSequence> seqs, const AttentionShape& shape,
                     float* out, int64_t ld_out, ThreadPool& pool) {
  paged_attention_with_isa(active_isa(), q, ld_q, seqs, shape, out, ld_out, pool);
}

void paged_attention_reference(const float* q, int64_t ld_q, std::span<const AttentionSequence> seqs,
                               const AttentionShape& shape, float* out, int64_t ld_out) {
  check_shape(shape);
  const int64_t group = shape.n_heads / shape.n_kv_heads, hd = shape.head_dim;
  std::vector<float> k(static_cast<size_t>(hd)), v(static_cast<size_t>(hd));
  for (const auto& s : seqs) {
    const int64_t eb = kv_dtype_bytes(s.kv.dtype);
    for (int64_t i = 0; i < s.n_tokens; ++i) {
      const int64_t n_keys = s.start_pos + i + 1;
      std::vector<double> p(static_cast<size_t>(n_keys)), acc(static_cast<size_t>(hd));
      for (int64_t h = 0; h < shape.n_heads; ++h) {
        const float* qh = q + (s.q_row + i) * ld_q + h * hd;
        const int64_t off = (h / group) * hd * eb;
        double mx = -1e300, sum = 0;
        for (int64_t j = 0; j < n_keys; ++j) {
          kv_load_row(s.kv.dtype, static_cast<const uint8_t*>(s.kv.k_row(j)) + off, k.data(), hd);
          double d = 0;
          for (int64_t e = 0; e < hd; ++e) d += double(qh[e]) * double(k[size_t(e)]);
          p[size_t(j)] = d * shape.scale;
          mx = std::max(mx, p[size_t(j)]);
        }
        for (auto& x : p) sum += (x = std::exp(x - mx));
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t j = 0; j < n_keys; ++j) {
          kv_load_row(s.kv.dtype, static_cast<const uint8_t*>(s.kv.v_row(j)) + off, v.data(), hd);
          for (int64_t e = 0; e < hd; ++e) acc[size_t(e)] += p[size_t(j)] * double(v[size_t(e)]);
        }
        float* o = out + (s.q_row + i) * ld_out + h * hd;
        for (int64_t e = 0; e < hd; ++e) o[e] = float(acc[size_t(e)] / sum);
      }
    }
  }
}

}  // namespace glm
