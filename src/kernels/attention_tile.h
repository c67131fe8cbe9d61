// The block kernel of paged_attention(), written once over an `Ops` vector type and included by each
// per-ISA file inside its target pragma (no include guard on purpose: one instantiation per ISA).
//
// Layout: the block's R query rows (token-major: row = token * group + head) are split into lane groups
// of Ops::kW rows; queries are transposed so that one vector holds one dimension of kW rows. A score
// vector for key j is then sum_d q[d] * k_j[d] with k_j[d] broadcast, one FMA chain per lane (no
// horizontal sums), and softmax statistics (running max m, normaliser l) are plain lane-wise vectors.
// The V sum runs per row: acc_row = acc_row * corr + (sum_j p_j * v_j over the row's own keys of the tile).
//
// Ops provides: kW, Vec, zero, set1, load, store, add, sub, mul, fma(a, b, c) = a * b + c, max,
// select_lt(a, b, x, y) = a < b ? x : y, exp (exactly 0 for -inf and exactly 1 for 0), and
// load_row(dtype, src, dst, n) widening n KV elements to float32 exactly as kv_load_row does.
// With Ops::kBf16Dot, scores are bf16 pair dot products instead: each query row is rounded to bf16 once
// (pairs (q[2i], q[2i+1]) transposed like the float queries), K rows are kept as bf16
// (Ops::load_row_bf16, exact for bf16 and fp8 pages) and Ops::scores_bf16 computes each lane's score as one
// chain over the pairs; everything after the scores (softmax, V) is the float32 path unchanged.
#include <algorithm>
#include <cstdint>
#include <limits>

#include "core/float_formats.h"

namespace glm::attention_detail {
namespace {

template <class Ops>
struct BlockKernel {
  using Vec = typename Ops::Vec;
  static constexpr int64_t W = Ops::kW;

  // s (kKeyTile x W) = raw scores of the W rows of qt (D x W) against keys kf[0, nt) (rows of D floats).
  // Keys go 8 at a time: one query load feeds eight independent FMA chains (enough to cover the FMA latency
  // on two pipes). kf has kKeyTile rows, so the rows past nt that this reads exist (stale or zero).
  static void scores(const float* qt, const float* kf, int64_t D, int64_t nt, float* s) {
    static_assert(kKeyTile % 8 == 0);
    for (int64_t j = 0; j < nt; j += 8) {
      Vec a[8];
      for (int u = 0; u < 8; ++u) a[u] = Ops::zero();
      const float* k0 = kf + j * D;
      for (int64_t d = 0; d < D; ++d) {
        const Vec qd = Ops::load(qt + d * W);
        for (int u = 0; u < 8; ++u) a[u] = Ops::fma(qd, Ops::set1(k0[u * D + d]), a[u]);
      }
      for (int u = 0; u < 8; ++u) Ops::store(s + (j + u) * W, a[u]);
    }
  }

  // acc (NC vectors) = acc * corr + (sum_{j < jn} p[j * W] * vf[j]) for one row; NC vectors of D at a time.
  // The tile's sum starts from zero and joins the running sum once: float32 error grows with the number of
  // tiles plus the tile length, not with the context length.
  template <int NC>
  static void pv_chunk(float* acc, float corr, const float* p, const float* vf, int64_t D, int64_t jn) {
    Vec a[NC];
    for (int i = 0; i < NC; ++i) a[i] = Ops::zero();
    for (int64_t j = 0; j < jn; ++j) {
      const Vec pj = Ops::set1(p[j * W]);
      const float* v = vf + j * D;
      for (int i = 0; i < NC; ++i) a[i] = Ops::fma(pj, Ops::load(v + i * W), a[i]);
    }
    const Vec c = Ops::set1(corr);
    for (int i = 0; i < NC; ++i) Ops::store(acc + i * W, Ops::fma(Ops::load(acc + i * W), c, a[i]));
  }

  static void pv(float* acc, float corr, const float* p, const float* vf, int64_t D, int64_t jn) {
    int64_t d = 0;
    for (; d + 8 * W <= D; d += 8 * W) pv_chunk<8>(acc + d, corr, p, vf + d, D, jn);
    for (; d + 4 * W <= D; d += 4 * W) pv_chunk<4>(acc + d, corr, p, vf + d, D, jn);
    for (; d + 2 * W <= D; d += 2 * W) pv_chunk<2>(acc + d, corr, p, vf + d, D, jn);
    for (; d < D; d += W) pv_chunk<1>(acc + d, corr, p, vf + d, D, jn);
  }

  static void run(const AttnWork& w, const AttnScratch& sc) {
    const AttentionSequence& s = *w.seq;
    const KvPagesView& kv = s.kv;
    const int64_t D = w.shape->head_dim, G = w.shape->n_heads / w.shape->n_kv_heads;
    const int64_t R = (w.tok1 - w.tok0) * G, NG = (R + W - 1) / W;
    const int64_t max_keys = s.start_pos + w.tok1, head_bytes = w.kv_head * D * kv_dtype_bytes(kv.dtype);
    const float neg_inf = -std::numeric_limits<float>::infinity();

    // bf16 pairs of query row r: qp[(r / W) * (D / 2) * W + i * W + r % W] (D is even on that path).
    uint32_t* const qp = reinterpret_cast<uint32_t*>(sc.qt);
    for (int64_t r = 0; r < NG * W; ++r) {
      float* qt = sc.qt + (r / W) * D * W + r % W;
      uint32_t* qpr = qp + (r / W) * (D / 2) * W + r % W;
      if (r < R) {
        const int64_t tok = w.tok0 + r / G, head = w.kv_head * G + r % G;
        const float* qrow = w.q + (s.q_row + tok) * w.ld_q + head * D;
        if constexpr (Ops::kBf16Dot) {
          for (int64_t i = 0; i < D / 2; ++i)
            qpr[i * W] = uint32_t(f32_to_bf16(qrow[2 * i])) | uint32_t(f32_to_bf16(qrow[2 * i + 1])) << 16;
        } else {
          for (int64_t d = 0; d < D; ++d) qt[d * W] = qrow[d];
        }
        sc.limit[r] = float(s.start_pos + tok + 1);
        std::fill(sc.acc + r * D, sc.acc + (r + 1) * D, 0.0f);
      } else {  // padding lanes attend to key 0 only, so their statistics stay finite; never stored
        if constexpr (Ops::kBf16Dot) {
          for (int64_t i = 0; i < D / 2; ++i) qpr[i * W] = 0;
        } else {
          for (int64_t d = 0; d < D; ++d) qt[d * W] = 0.0f;
        }
        sc.limit[r] = 1.0f;
      }
      sc.m[r] = neg_inf;
      sc.l[r] = 0.0f;
    }

    const Vec scale = Ops::set1(w.shape->scale), ninf = Ops::set1(neg_inf);
    for (int64_t t0 = 0; t0 < max_keys; t0 += kKeyTile) {
      const int64_t nt = std::min(kKeyTile, max_keys - t0);
      uint16_t* const kb = reinterpret_cast<uint16_t*>(sc.kf);  // bf16 K rows (kBf16Dot)
      // Walk pages and slots instead of KvPagesView::k_row(p), which costs two 64-bit divisions per key.
      // Row j of the next tile is prefetched beside row j of this one: a head's rows are a strided part of
      // each token's KV row, scattered over pages, which the hardware prefetchers follow poorly (decode at
      // long context waits on memory otherwise); one tile of compute ahead is far enough and fits in L2.
      int64_t page = t0 / kv.page_size, slot = t0 % kv.page_size;
      int64_t next_page = (t0 + kKeyTile) / kv.page_size, next_slot = (t0 + kKeyTile) % kv.page_size;
      const int64_t n_next = std::min(kKeyTile, max_keys - t0 - kKeyTile), row_bytes = D * kv_dtype_bytes(kv.dtype);
      for (int64_t j = 0; j < nt; ++j) {
        const int64_t row = kv.page_ids[page] * kv.page_stride + slot * kv.kv_dim;
        const uint8_t* krow = static_cast<const uint8_t*>(kv.at(row + kv.k_offset)) + head_bytes;
        const uint8_t* vrow = static_cast<const uint8_t*>(kv.at(row + kv.v_offset)) + head_bytes;
        if (j < n_next) {
          const int64_t nrow = kv.page_ids[next_page] * kv.page_stride + next_slot * kv.kv_dim;
          const uint8_t* nk = static_cast<const uint8_t*>(kv.at(nrow + kv.k_offset)) + head_bytes;
          const uint8_t* nv = static_cast<const uint8_t*>(kv.at(nrow + kv.v_offset)) + head_bytes;
          for (int64_t b = 0; b < row_bytes; b += 64) __builtin_prefetch(nk + b, 0, 2), __builtin_prefetch(nv + b, 0, 2);
          if (++next_slot == kv.page_size) next_slot = 0, ++next_page;
        }
        if constexpr (Ops::kBf16Dot) Ops::load_row_bf16(kv.dtype, krow, kb + j * D, D);
        else Ops::load_row(kv.dtype, krow, sc.kf + j * D, D);
        Ops::load_row(kv.dtype, vrow, sc.vf + j * D, D);
        if (++slot == kv.page_size) slot = 0, ++page;
      }
      for (int64_t g = 0; g < NG; ++g) {
        float* sg = sc.s + g * kKeyTile * W;
        // K rows >= nt of the tile are stale but finite, or masked below
        if constexpr (Ops::kBf16Dot) Ops::scores_bf16(qp + g * (D / 2) * W, kb, D, nt, sg);
        else scores(sc.qt + g * D * W, sc.kf, D, nt, sg);
        const Vec lim = Ops::load(sc.limit + g * W);
        Vec tmax = ninf;
        for (int64_t j = 0; j < nt; ++j) {
          const Vec v = Ops::select_lt(Ops::set1(float(t0 + j)), lim, Ops::mul(Ops::load(sg + j * W), scale), ninf);
          Ops::store(sg + j * W, v);
          tmax = Ops::max(tmax, v);
        }
        const Vec m_old = Ops::load(sc.m + g * W), m_new = Ops::max(m_old, tmax);
        const Vec corr = Ops::exp(Ops::sub(m_old, m_new));
        Vec lsum = Ops::zero();
        for (int64_t j = 0; j < nt; ++j) {
          const Vec p = Ops::exp(Ops::sub(Ops::load(sg + j * W), m_new));
          Ops::store(sg + j * W, p);
          lsum = Ops::add(lsum, p);
        }
        Ops::store(sc.m + g * W, m_new);
        Ops::store(sc.l + g * W, Ops::fma(Ops::load(sc.l + g * W), corr, lsum));
        Ops::store(sc.corr + g * W, corr);
        for (int64_t lane = 0; lane < W && g * W + lane < R; ++lane) {
          const int64_t r = g * W + lane;
          const int64_t jn = std::min<int64_t>(nt, int64_t(sc.limit[r]) - t0);
          // A tile wholly past the row's causal limit has corr == 1 and adds nothing: skipping it is exact.
          if (jn > 0) pv(sc.acc + r * D, sc.corr[r], sg + lane, sc.vf, D, jn);
        }
      }
    }

    for (int64_t r = 0; r < R; ++r) {
      const int64_t tok = w.tok0 + r / G, head = w.kv_head * G + r % G;
      float* o = w.out + (s.q_row + tok) * w.ld_out + head * D;
      const float inv_l = 1.0f / sc.l[r];
      for (int64_t d = 0; d < D; ++d) o[d] = sc.acc[r * D + d] * inv_l;
    }
  }
};

}  // namespace
}  // namespace glm::attention_detail
