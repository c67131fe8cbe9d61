// paged_attention() against a double-precision reference (full softmax, keys in order; fed the query rounded
// to bf16 where the kernel rounds it: attention_scores_in_bf16) for every ISA path,
// KV dtype, GQA ratio 1..8, head_dim 64/96/128, page size 1/16/64 and contexts up to 32k; its batch
// invariance (bitwise); and the KV number formats (kernels/kv_format.h, f32_to_fp8_e4m3).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/float_formats.h"
#include "core/thread_pool.h"
#include "kernels/attention.h"
#include "kernels/kv_format.h"

namespace glm {
namespace {

std::vector<float> randn(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

const KvDType kAllDtypes[] = {KvDType::F32, KvDType::BF16, KvDType::FP8_E4M3, KvDType::FP8_E5M2};

// K/V for several sequences in a shuffled page pool of the given dtype, laid out as the model's KV cache
// (one layer: page = (2 [K, V], page_size, kv_dim)).
struct PagedKv {
  int64_t page_size, kv_dim, n_pages = 0;
  KvDType dtype;
  std::vector<uint8_t> pool;
  std::vector<std::vector<int32_t>> page_ids;

  PagedKv(KvDType t, int64_t page_size, int64_t kv_dim, const std::vector<int64_t>& lens, uint32_t seed,
          float scale = 1.0f)
      : page_size(page_size), kv_dim(kv_dim), dtype(t) {
    n_pages = 3;  // spare pages so that ids are not contiguous
    for (int64_t len : lens) n_pages += (len + page_size - 1) / page_size;
    pool.assign(size_t(n_pages * 2 * page_size * kv_dim * kv_dtype_bytes(t)), 0xff);  // 0xff: NaN in every dtype
    std::vector<int32_t> ids(static_cast<size_t>(n_pages));
    std::iota(ids.begin(), ids.end(), 0);
    std::shuffle(ids.begin(), ids.end(), std::mt19937(seed));
    size_t next = 0;
    std::mt19937 g(seed + 1);
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> row(static_cast<size_t>(kv_dim));
    for (int64_t len : lens) {
      page_ids.emplace_back();
      for (int64_t p = 0; p < (len + page_size - 1) / page_size; ++p) page_ids.back().push_back(ids[next++]);
      for (int64_t p = 0; p < len; ++p)  // only positions < len are written: the rest stays NaN
        for (int kv = 0; kv < 2; ++kv) {
          for (auto& x : row) x = d(g);
          kv_store_row(t, row.data(), mutable_row(page_ids.size() - 1, p, kv), kv_dim);
        }
    }
  }
  KvPagesView view(size_t s) const {
    KvPagesView v;
    v.base = pool.data();
    v.dtype = dtype;
    v.page_ids = page_ids[s].data();
    v.page_size = page_size;
    v.page_stride = 2 * page_size * kv_dim;
    v.k_offset = 0;
    v.v_offset = page_size * kv_dim;
    v.kv_dim = kv_dim;
    return v;
  }
  void* mutable_row(size_t s, int64_t p, int kv) {
    const KvPagesView v = view(s);
    return const_cast<void*>(kv == 0 ? v.k_row(p) : v.v_row(p));
  }
};

std::string label(Isa isa, KvDType t, const AttentionShape& sh, int64_t page_size) {
  return std::string(isa_name(isa)) + " " + std::string(kv_dtype_name(t)) + " heads=" + std::to_string(sh.n_heads) +
         "/" + std::to_string(sh.n_kv_heads) + " head_dim=" + std::to_string(sh.head_dim) +
         " page=" + std::to_string(page_size);
}

// q with every element rounded to bf16: what the bf16-score path (attention_scores_in_bf16) computes with.
std::vector<float> rounded_to_bf16(std::vector<float> q) {
  for (auto& x : q) x = bf16_to_f32(f32_to_bf16(x));
  return q;
}

// The reference for one ISA: on the query as given, or rounded to bf16 where the kernel rounds it. Both are
// computed at most once (the reference is the slow part).
struct References {
  std::vector<float> plain, rounded;
  const std::vector<float>& get(Isa isa, KvDType t, const AttentionShape& shape, const std::vector<float>& q,
                                std::span<const AttentionSequence> seqs, int64_t qd) {
    const bool bf16 = attention_scores_in_bf16(isa, t, shape.head_dim);
    std::vector<float>& r = bf16 ? rounded : plain;
    if (r.empty()) {
      r.resize(q.size());
      paged_attention_reference(bf16 ? rounded_to_bf16(q).data() : q.data(), qd, seqs, shape, r.data(), qd);
    }
    return r;
  }
};

struct Pools {
  ThreadPool one{1, false}, two{2, false};
};
Pools& pools() {
  static Pools p;
  return p;
}

TEST(KvFormat, Fp8E4M3RoundTripsEveryCodeAndRoundsToNearestEven) {
  for (int c = 0; c < 256; ++c) {
    if ((c & 0x7f) == 0x7f) continue;  // NaN codes
    const float v = fp8_e4m3_to_f32(uint8_t(c));
    EXPECT_EQ(f32_to_fp8_e4m3(v), c == 0x80 ? 0x80 : uint8_t(c)) << c;
    if ((c & 0x7f) < 0x7e) {  // midpoint to the next code up in magnitude: ties go to the even mantissa
      const float next = fp8_e4m3_to_f32(uint8_t(c + 1));
      const float mid = 0.5f * (v + next);
      const uint8_t want = (c & 1) ? uint8_t(c + 1) : uint8_t(c);
      EXPECT_EQ(f32_to_fp8_e4m3(mid), want) << "midpoint above code " << c;
      EXPECT_EQ(f32_to_fp8_e4m3(std::nextafter(mid, next)), uint8_t(c + 1)) << c;
      EXPECT_EQ(f32_to_fp8_e4m3(std::nextafter(mid, v)), uint8_t(c)) << c;
    }
  }
  EXPECT_EQ(f32_to_fp8_e4m3(448.0f), 0x7e);
  EXPECT_EQ(f32_to_fp8_e4m3(470.0f), 0x7e);  // torch gives NaN here; the KV cache saturates
  EXPECT_EQ(f32_to_fp8_e4m3(-1e30f), 0xfe);
  EXPECT_EQ(f32_to_fp8_e4m3(INFINITY), 0x7e);
  EXPECT_EQ(f32_to_fp8_e4m3(NAN) & 0x7f, 0x7f);
  EXPECT_EQ(f32_to_fp8_e4m3(1e-9f), 0x00);
  EXPECT_EQ(f32_to_fp8_e4m3(std::ldexp(1.0f, -10)), 0x00);               // half the smallest subnormal: tie to 0
  EXPECT_EQ(f32_to_fp8_e4m3(std::ldexp(1.5f, -10)), 0x01);
}

TEST(KvFormat, Fp8E5M2RoundTripsEveryCodeAndRoundsToNearestEven) {
  for (int c = 0; c < 256; ++c) {
    if ((c & 0x7f) >= 0x7c) continue;  // inf and NaN codes
    const float v = fp8_e5m2_to_f32(uint8_t(c));
    EXPECT_EQ(f32_to_fp8_e5m2(v), c == 0x80 ? 0x80 : uint8_t(c)) << c;
    if ((c & 0x7f) < 0x7b) {
      const float next = fp8_e5m2_to_f32(uint8_t(c + 1));
      const float mid = 0.5f * (v + next);
      EXPECT_EQ(f32_to_fp8_e5m2(mid), (c & 1) ? uint8_t(c + 1) : uint8_t(c)) << "midpoint above code " << c;
      EXPECT_EQ(f32_to_fp8_e5m2(std::nextafter(mid, next)), uint8_t(c + 1)) << c;
      EXPECT_EQ(f32_to_fp8_e5m2(std::nextafter(mid, v)), uint8_t(c)) << c;
    }
  }
  EXPECT_EQ(fp8_e5m2_to_f32(0x7b), 57344.0f);
  EXPECT_EQ(fp8_e5m2_to_f32(0x04), std::ldexp(1.0f, -14));
  EXPECT_EQ(fp8_e5m2_to_f32(0x01), std::ldexp(1.0f, -16));
  EXPECT_EQ(f32_to_fp8_e5m2(1e9f), 0x7b);
  EXPECT_EQ(f32_to_fp8_e5m2(-INFINITY), 0xfb);
  EXPECT_EQ(f32_to_fp8_e5m2(NAN) & 0x7f, 0x7f);
}

TEST(KvFormat, StoreLoadAndNames) {
  const auto x = randn(64, 3, 100.0f);
  for (KvDType t : kAllDtypes) {
    std::vector<uint8_t> buf(size_t(64 * kv_dtype_bytes(t)));
    std::vector<float> back(64);
    kv_store_row(t, x.data(), buf.data(), 64);
    kv_load_row(t, buf.data(), back.data(), 64);
    for (size_t i = 0; i < 64; ++i) {
      const float want = t == KvDType::F32        ? x[i]
                         : t == KvDType::BF16     ? bf16_to_f32(f32_to_bf16(x[i]))
                         : t == KvDType::FP8_E4M3 ? fp8_e4m3_to_f32(f32_to_fp8_e4m3(x[i]))
                                                  : fp8_e5m2_to_f32(f32_to_fp8_e5m2(x[i]));
      EXPECT_EQ(back[i], want) << i;
    }
    EXPECT_EQ(kv_dtype_from_name(kv_dtype_name(t)), t);
  }
  EXPECT_EQ(kv_dtype_from_name("auto"), KvDType::BF16);
  EXPECT_EQ(kv_dtype_from_name("bfloat16"), KvDType::BF16);
  EXPECT_THROW(kv_dtype_from_name("fp8"), GlmError);
  EXPECT_THROW(kv_dtype_from_name("int4"), GlmError);
}

// One random batch: a decode step after a prefix, a chunk after a prefix that ends mid-page and a fresh
// prefill longer than a query block, checked against the reference (computed once) and for batch
// independence on each ISA path.
void check_case(KvDType t, const AttentionShape& shape, int64_t page_size, uint32_t seed) {
  const std::vector<std::pair<int64_t, int64_t>> spec{{70, 1}, {13, 9}, {0, 37}};
  std::vector<int64_t> lens;
  for (auto [pre, n] : spec) lens.push_back(pre + n);
  PagedKv kv(t, page_size, shape.n_kv_heads * shape.head_dim, lens, seed);
  std::vector<AttentionSequence> seqs;
  int64_t rows = 0;
  for (size_t s = 0; s < spec.size(); ++s) {
    seqs.push_back({kv.view(s), rows, spec[s].second, spec[s].first});
    rows += spec[s].second;
  }
  const int64_t qd = shape.n_heads * shape.head_dim;
  auto q = randn(size_t(rows * qd), seed + 7, 0.3f);
  std::vector<float> out(q.size());
  References refs;
  for (Isa isa : supported_isas()) {
    SCOPED_TRACE(label(isa, t, shape, page_size));
    const std::vector<float>& ref = refs.get(isa, t, shape, q, seqs, qd);
    paged_attention_with_isa(isa, q.data(), qd, seqs, shape, out.data(), qd, pools().two);
    float worst = 0;
    for (size_t i = 0; i < out.size(); ++i) worst = std::max(worst, std::abs(out[i] - ref[i]));
    EXPECT_LE(worst, 2e-5f);  // float32 sums over <= 128 dims and <= 71 keys of O(1) values
    // Each sequence alone, and split into single-token chunks, gives the same bits as the batch.
    for (size_t s = 0; s < seqs.size(); ++s) {
      AttentionSequence one = seqs[s];
      one.q_row = 0;
      std::vector<float> o1(size_t(one.n_tokens * qd));
      paged_attention_with_isa(isa, q.data() + seqs[s].q_row * qd, qd, std::span<const AttentionSequence>(&one, 1),
                               shape, o1.data(), qd, pools().one);
      EXPECT_EQ(0, std::memcmp(o1.data(), out.data() + seqs[s].q_row * qd, o1.size() * 4)) << "sequence " << s;
      for (int64_t i = 0; i < one.n_tokens; i += 5) {
        AttentionSequence tok{seqs[s].kv, 0, 1, seqs[s].start_pos + i};
        std::vector<float> ot(static_cast<size_t>(qd));
        paged_attention_with_isa(isa, q.data() + (seqs[s].q_row + i) * qd, qd, std::span<const AttentionSequence>(&tok, 1),
                                 shape, ot.data(), qd, pools().two);
        EXPECT_EQ(0, std::memcmp(ot.data(), out.data() + (seqs[s].q_row + i) * qd, ot.size() * 4))
            << "sequence " << s << " token " << i << " as a decode step";
      }
    }
  }
}

TEST(PagedAttention, MatchesReferenceEveryIsaDtypeAndShape) {
  uint32_t seed = 1;
  for (KvDType t : kAllDtypes)
    for (int64_t group = 1; group <= 8; ++group)
      for (int64_t hd : {64, 96, 128}) {
        const int64_t page_size = std::vector<int64_t>{1, 16, 64}[size_t(seed % 3)];
        const int64_t kv_heads = group >= 6 ? 1 : 2;
        check_case(t, AttentionShape{group * kv_heads, kv_heads, hd, 1.0f / std::sqrt(float(hd))}, page_size, seed++);
      }
}

// head_dim 40: AVX2 (8 lanes) runs it, AVX-512 (16) falls back to the portable kernel.
TEST(PagedAttention, HeadDimNotAMultipleOfTheVectorWidth) {
  check_case(KvDType::BF16, AttentionShape{6, 2, 40, 0.2f}, 16, 99);
}

TEST(PagedAttention, EveryPageSize) {
  for (int64_t page_size : {1, 16, 64})
    check_case(KvDType::BF16, AttentionShape{12, 2, 128, 1.0f / std::sqrt(128.0f)}, page_size, 50);
}

// Decode and a short chunk at the end of a 32k context (and a prefill chunk at 8k): online softmax over
// hundreds of tiles, no buffer proportional to the context.
TEST(PagedAttention, LongContexts) {
  struct Case {
    int64_t prefix, n;
    KvDType t;
  };
  for (const Case& c : {Case{32765, 3, KvDType::BF16}, Case{32765, 3, KvDType::FP8_E4M3}, Case{32765, 3, KvDType::FP8_E5M2},
                        Case{8192, 48, KvDType::BF16}}) {
    const AttentionShape shape{8, 2, 128, 1.0f / std::sqrt(128.0f)};
    PagedKv kv(c.t, 16, shape.n_kv_heads * shape.head_dim, {c.prefix + c.n}, 21);
    std::vector<AttentionSequence> seqs{{kv.view(0), 0, c.n, c.prefix}};
    const int64_t qd = shape.n_heads * shape.head_dim;
    auto q = randn(size_t(c.n * qd), 22, 1.0f);
    std::vector<float> out(q.size());
    References refs;
    for (Isa isa : supported_isas()) {
      SCOPED_TRACE(label(isa, c.t, shape, 16) + " context " + std::to_string(c.prefix + c.n));
      const std::vector<float>& ref = refs.get(isa, c.t, shape, q, seqs, qd);
      paged_attention_with_isa(isa, q.data(), qd, seqs, shape, out.data(), qd, pools().two);
      float worst = 0;
      for (size_t i = 0; i < out.size(); ++i) worst = std::max(worst, std::abs(out[i] - ref[i]));
      EXPECT_LE(worst, 1e-5f);  // outputs are averages of ~32k O(1) values: ~1/sqrt(n) in size
    }
  }
}

TEST(PagedAttention, LargeLateScoresRescaleTheRunningMax) {
  const AttentionShape shape{2, 1, 16, 1.0f};
  const int64_t len = 300;
  for (Isa isa : supported_isas()) {
    PagedKv kv(KvDType::F32, 4, 16, {len}, 11);
    for (int64_t p = 250; p < 260; ++p)  // a block of strongly matching keys late in the sequence
      for (int64_t d = 0; d < 16; ++d) static_cast<float*>(kv.mutable_row(0, p, 0))[d] = 3.0f;
    std::vector<AttentionSequence> seqs{{kv.view(0), 0, 1, len - 1}};
    std::vector<float> q(32, 1.0f), out(32), ref(32);
    paged_attention_with_isa(isa, q.data(), 32, seqs, shape, out.data(), 32, pools().one);
    paged_attention_reference(q.data(), 32, seqs, shape, ref.data(), 32);
    for (size_t i = 0; i < 32; ++i) EXPECT_NEAR(out[i], ref[i], 1e-4f) << isa_name(isa);
  }
}

// On the bf16-score path the query's only approximation is its one rounding to bf16: the query as given
// and the query rounded beforehand give the same bits, for a decode step and a prefill block alike.
TEST(PagedAttention, Bf16ScoresRoundTheQueryOnce) {
  if (!attention_scores_in_bf16(best_isa(), KvDType::BF16, 128)) GTEST_SKIP() << "no AVX-512 BF16 on this CPU";
  const AttentionShape shape{16, 4, 128, 1.0f / std::sqrt(128.0f)};
  for (KvDType t : {KvDType::BF16, KvDType::FP8_E4M3, KvDType::FP8_E5M2}) {
    PagedKv kv(t, 16, 4 * 128, {300}, 41);
    std::vector<AttentionSequence> seqs{{kv.view(0), 0, 40, 260}};
    const int64_t qd = 16 * 128;
    auto q = randn(size_t(40 * qd), 42);
    const auto qr = rounded_to_bf16(q);
    ASSERT_NE(q, qr);
    std::vector<float> a(q.size()), b(q.size());
    paged_attention_with_isa(Isa::Avx512Bf16, q.data(), qd, seqs, shape, a.data(), qd, pools().two);
    paged_attention_with_isa(Isa::Avx512Bf16, qr.data(), qd, seqs, shape, b.data(), qd, pools().two);
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * 4)) << kv_dtype_name(t);
  }
}

TEST(PagedAttention, ThreadCountDoesNotChangeBits) {
  const AttentionShape shape{16, 2, 128, 0.1f};
  PagedKv kv(KvDType::BF16, 16, 256, {700, 300}, 31);
  std::vector<AttentionSequence> seqs{{kv.view(0), 0, 200, 500}, {kv.view(1), 200, 1, 299}};
  const int64_t qd = 16 * 128;
  auto q = randn(size_t(201 * qd), 32);
  std::vector<float> a(q.size()), b(q.size());
  paged_attention(q.data(), qd, seqs, shape, a.data(), qd, pools().one);
  paged_attention(q.data(), qd, seqs, shape, b.data(), qd, pools().two);
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * 4));
}

TEST(PagedAttention, BadShapesAreErrors) {
  std::vector<float> q(64), out(64);
  std::vector<AttentionSequence> none;
  EXPECT_THROW(paged_attention(q.data(), 64, none, AttentionShape{3, 2, 32, 1.0f}, out.data(), 64, pools().one), GlmError);
  EXPECT_THROW(paged_attention(q.data(), 64, none, AttentionShape{2, 0, 32, 1.0f}, out.data(), 64, pools().one), GlmError);
  EXPECT_THROW(paged_attention(q.data(), 64, none, AttentionShape{2, 1, 0, 1.0f}, out.data(), 64, pools().one), GlmError);
  PagedKv kv(KvDType::BF16, 16, 32, {4}, 1);
  std::vector<AttentionSequence> far{{kv.view(0), 0, 1, int64_t(1) << 24}};
  EXPECT_THROW(paged_attention(q.data(), 64, far, AttentionShape{2, 1, 32, 1.0f}, out.data(), 64, pools().one), GlmError);
}

}  // namespace
}  // namespace glm
