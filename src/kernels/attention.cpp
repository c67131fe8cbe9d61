#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"

namespace glm {

namespace {

constexpr int64_t kKeyTile = 64;
constexpr int64_t kMaxHeadDim = 1024;

// One query head over keys [0, n_keys): scores in tiles, running max m and normaliser l, rescaled once per tile.
void attend_one_head(const float* qh, const KvPagesView& kv, int64_t kv_head, int64_t n_keys, int64_t head_dim,
                     float scale, float* out) {
  float acc[kMaxHeadDim];
  float scores[kKeyTile];
  std::fill(acc, acc + head_dim, 0.0f);
  float m = -std::numeric_limits<float>::infinity(), l = 0.0f;
  const int64_t off = kv_head * head_dim;
  for (int64_t t0 = 0; t0 < n_keys; t0 += kKeyTile) {
    const int64_t nt = std::min(kKeyTile, n_keys - t0);
    float tile_max = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < nt; ++j) {
      const float* k = kv.k_row(t0 + j) + off;
      float s = 0.0f;
      for (int64_t d = 0; d < head_dim; ++d) s += qh[d] * k[d];
      scores[j] = s * scale;
      tile_max = std::max(tile_max, scores[j]);
    }
    const float m_new = std::max(m, tile_max);
    const float correction = std::exp(m - m_new);  // 0 on the first tile (m = -inf)
    l *= correction;
    for (int64_t d = 0; d < head_dim; ++d) acc[d] *= correction;
    for (int64_t j = 0; j < nt; ++j) {
      const float p = std::exp(scores[j] - m_new);
      l += p;
      const float* v = kv.v_row(t0 + j) + off;
      for (int64_t d = 0; d < head_dim; ++d) acc[d] += p * v[d];
    }
    m = m_new;
  }
  const float inv_l = 1.0f / l;
  for (int64_t d = 0; d < head_dim; ++d) out[d] = acc[d] * inv_l;
}

void check_shape(const AttentionShape& s) {
  if (s.head_dim > kMaxHeadDim || s.n_kv_heads <= 0 || s.n_heads % s.n_kv_heads != 0)
    fail(ErrorKind::Internal, "attention: unsupported shape heads={} kv_heads={} head_dim={}", s.n_heads,
         s.n_kv_heads, s.head_dim);
}

}  // namespace

void paged_attention(const float* q, int64_t ld_q, std::span<const AttentionSequence> seqs, const AttentionShape& shape,
                     float* out, int64_t ld_out, ThreadPool& pool) {
  check_shape(shape);
  const int64_t group = shape.n_heads / shape.n_kv_heads;
  int64_t total_tokens = 0;
  for (const auto& s : seqs) total_tokens += s.n_tokens;
  // Work item = (token of the batch, kv head); items map to sequences through a linear scan over the
  // (few) sequences, which keeps the partition static and allocation-free.
  const int64_t n_items = total_tokens * shape.n_kv_heads;
  pool.parallel_for(n_items, [&](int64_t i0, int64_t i1) {
    size_t si = 0;
    int64_t seq_tok0 = 0;
    for (int64_t item = i0; item < i1; ++item) {
      const int64_t tok = item / shape.n_kv_heads, kvh = item % shape.n_kv_heads;
      while (tok >= seq_tok0 + seqs[si].n_tokens) seq_tok0 += seqs[si++].n_tokens;
      const AttentionSequence& s = seqs[si];
      const int64_t i = tok - seq_tok0;
      const int64_t n_keys = s.start_pos + i + 1;
      const float* qrow = q + (s.q_row + i) * ld_q;
      float* orow = out + (s.q_row + i) * ld_out;
      for (int64_t g = 0; g < group; ++g) {
        const int64_t h = kvh * group + g;
        attend_one_head(qrow + h * shape.head_dim, s.kv, kvh, n_keys, shape.head_dim, shape.scale,
                        orow + h * shape.head_dim);
      }
    }
  });
}

void paged_attention_reference(const float* q, int64_t ld_q, std::span<const AttentionSequence> seqs,
                               const AttentionShape& shape, float* out, int64_t ld_out) {
  check_shape(shape);
  const int64_t group = shape.n_heads / shape.n_kv_heads, hd = shape.head_dim;
  for (const auto& s : seqs) {
    for (int64_t i = 0; i < s.n_tokens; ++i) {
      const int64_t n_keys = s.start_pos + i + 1;
      std::vector<double> p(static_cast<size_t>(n_keys));
      for (int64_t h = 0; h < shape.n_heads; ++h) {
        const float* qh = q + (s.q_row + i) * ld_q + h * hd;
        const int64_t off = (h / group) * hd;
        double mx = -1e300, sum = 0;
        for (int64_t j = 0; j < n_keys; ++j) {
          double d = 0;
          for (int64_t e = 0; e < hd; ++e) d += double(qh[e]) * double(s.kv.k_row(j)[off + e]);
          p[size_t(j)] = d * shape.scale;
          mx = std::max(mx, p[size_t(j)]);
        }
        for (auto& v : p) sum += (v = std::exp(v - mx));
        float* o = out + (s.q_row + i) * ld_out + h * hd;
        for (int64_t e = 0; e < hd; ++e) {
          double acc = 0;
          for (int64_t j = 0; j < n_keys; ++j) acc += p[size_t(j)] * double(s.kv.v_row(j)[off + e]);
          o[e] = float(acc / sum);
        }
      }
    }
  }
}

}  // namespace glm
