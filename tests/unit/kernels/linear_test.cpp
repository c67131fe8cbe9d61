// linear(): every ISA path x weight format x shape x batch size against linear_reference, plus the
// determinism contract (bitwise identical results whatever the batch size, batch position and
// thread count) and the FP8 register decode against the scalar e4m3 definition for all 254 values.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/float_formats.h"
#include "kernels/isa.h"
#include "kernels/linear.h"
#include "kernels/weight_rows.h"

namespace glm {
namespace {

struct Format {
  std::string name;
  DType dtype;
  ScaleLayout layout;
  int block_rows = 0, block_cols = 0;
};

const std::vector<Format>& formats() {
  static const std::vector<Format> f = {
      {"bf16", DType::BF16, ScaleLayout::None},
      {"f8_per_row", DType::F8_E4M3, ScaleLayout::PerRow},
      {"f8_block_128", DType::F8_E4M3, ScaleLayout::Block, 128, 128},
      {"f8_block_16x48", DType::F8_E4M3, ScaleLayout::Block, 16, 48},  // small blocks: many partial edges
      {"f8_unscaled", DType::F8_E4M3, ScaleLayout::None},
      {"f32", DType::F32, ScaleLayout::None},
      {"f16", DType::F16, ScaleLayout::None},
  };
  return f;
}

// A weight matrix with its storage; ref points into data/scale.
struct TestWeight {
  std::vector<uint8_t> data;
  std::vector<float> scale;
  WeightRef ref;
};

TestWeight make_weight(const Format& f, int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  TestWeight w;
  w.data.resize(size_t(rows * cols) * dtype_size(f.dtype));
  for (int64_t i = 0; i < rows * cols; ++i) {
    switch (f.dtype) {
      case DType::BF16: {
        uint16_t h = f32_to_bf16(normal(rng));
        std::memcpy(&w.data[size_t(i) * 2], &h, 2);
        break;
      }
      case DType::F16: {  // normal f16 numbers of magnitude 2^-5 .. 2^5 with random sign and mantissa
        uint16_t h = uint16_t((rng() & 1) << 15 | (10 + rng() % 11) << 10 | (rng() & 0x3ff));
        std::memcpy(&w.data[size_t(i) * 2], &h, 2);
        break;
      }
      case DType::F32: {
        float v = normal(rng);
        std::memcpy(&w.data[size_t(i) * 4], &v, 4);
        break;
      }
      default: {  // every e4m3 byte except the two NaN patterns, subnormals and zeros included
        uint8_t b;
        do b = uint8_t(rng()); while ((b & 0x7f) == 0x7f);
        w.data[size_t(i)] = b;
      }
    }
  }
  w.ref.dtype = f.dtype;
  w.ref.data = w.data.data();
  w.ref.rows = rows;
  w.ref.cols = cols;
  w.ref.scale_layout = f.layout;
  std::uniform_real_distribution<float> scale(0.002f, 0.02f);
  if (f.layout == ScaleLayout::PerRow) {
    w.scale.resize(size_t(rows));
  } else if (f.layout == ScaleLayout::Block) {
    w.ref.block_rows = f.block_rows;
    w.ref.block_cols = f.block_cols;
    w.scale.resize(size_t((rows + f.block_rows - 1) / f.block_rows * w.ref.scale_cols()));
  }
  for (float& s : w.scale) s = scale(rng);
  w.ref.scale = w.scale.empty() ? nullptr : w.scale.data();
  return w;
}

std::vector<float> random_vector(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

// Bound for |y - reference|: float32 rounding of the sum, relative to sum |x_i w_i| (x rounded as
// the contract says for BF16/FP8 weights); the scale placement (per element in the reference, per
// partial sum in the kernels) only moves roundings around within that bound.
// Bias adds one more rounding of the result: its magnitude counts too.
std::vector<float> error_bounds(const float* x, int64_t n, int64_t ldx, const WeightRef& w, const float* bias) {
  std::vector<float> row(size_t(w.cols));
  std::vector<float> b(size_t(n * w.rows));
  const bool round_x = w.dtype == DType::BF16 || w.dtype == DType::F8_E4M3;
  for (int64_t o = 0; o < w.rows; ++o) {
    weight_row_to_f32(w, o, row.data());
    for (int64_t t = 0; t < n; ++t) {
      double s = bias ? std::fabs(bias[o]) : 0.0;
      for (int64_t i = 0; i < w.cols; ++i) {
        float xv = x[t * ldx + i];
        if (round_x) xv = bf16_to_f32(f32_to_bf16(xv));
        s += std::fabs(double(xv) * row[size_t(i)]);
      }
      b[size_t(t * w.rows + o)] = float(2e-6 * s + 1e-30);
    }
  }
  return b;
}

std::string label(Isa isa, const Format& f, int64_t rows, int64_t cols, int64_t n) {
  return std::string(isa_name(isa)) + " " + f.name + " rows=" + std::to_string(rows) + " cols=" + std::to_string(cols) +
         " n=" + std::to_string(n);
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, 4) == 0; }

struct Pools {
  ThreadPool one{1, false};
  ThreadPool two{2, false};
  // ThreadPool's workers read the start generation when they begin running, so a region started
  // before a worker is scheduled is never seen by it (core/thread_pool.cpp startup race, reported).
  // Give the workers time to start.
  Pools() { std::this_thread::sleep_for(std::chrono::milliseconds(200)); }
};
Pools& pools() {
  static Pools p;
  return p;
}

// Against the reference, with strides and with/without bias; the gap columns of y stay untouched.
TEST(Linear, MatchesReferenceOnEveryPath) {
  const int64_t shapes[][2] = {{37, 1}, {37, 96}, {19, 200}, {41, 333}, {150, 300}, {5, 1000}, {9, 2100}};
  const int64_t batch_sizes[] = {1, 3, 16, 65};
  int checked = 0;
  for (Isa isa : supported_isas()) {
    for (const Format& f : formats()) {
      for (const auto& shape : shapes) {
        const int64_t rows = shape[0], cols = shape[1];
        TestWeight w = make_weight(f, rows, cols, uint32_t(rows * 131 + cols));
        const std::vector<float> bias = random_vector(size_t(rows), 7);
        for (int64_t n : batch_sizes) {
          for (bool with_bias : {false, true}) {
            SCOPED_TRACE(label(isa, f, rows, cols, n) + (with_bias ? " bias" : ""));
            const int64_t ldx = cols + 3, ldy = rows + 5;
            const std::vector<float> x = random_vector(size_t(n * ldx), uint32_t(n + cols));
            const float* b = with_bias ? bias.data() : nullptr;
            std::vector<float> y(size_t(n * ldy), -12345.f), ref(size_t(n * ldy), -12345.f);
            linear_with_isa(isa, x.data(), n, ldx, w.ref, b, y.data(), ldy, pools().two);
            linear_reference(x.data(), n, ldx, w.ref, b, ref.data(), ldy);
            const std::vector<float> bound = error_bounds(x.data(), n, ldx, w.ref, b);
            int bad = 0;
            for (int64_t t = 0; t < n; ++t) {
              for (int64_t o = 0; o < ldy; ++o) {
                const float got = y[size_t(t * ldy + o)], want = ref[size_t(t * ldy + o)];
                const bool ok = o < rows ? std::fabs(got - want) <= bound[size_t(t * rows + o)] : got == -12345.f;
                if (!ok && bad++ < 5) ADD_FAILURE() << "token " << t << " row " << o << ": " << got << " vs " << want;
              }
            }
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 0);
}

// The same output element, bitwise, whatever the batch it is computed in and the thread count.
TEST(Linear, BitwiseInvariantToBatchAndThreads) {
  const int64_t shapes[][2] = {{37, 200}, {150, 300}, {70, 96}, {20, 2500}};
  for (Isa isa : supported_isas()) {
    for (const Format& f : formats()) {
      for (const auto& shape : shapes) {
        const int64_t rows = shape[0], cols = shape[1], n = 65, ldx = cols + 1;
        SCOPED_TRACE(label(isa, f, rows, cols, n));
        TestWeight w = make_weight(f, rows, cols, 99);
        const std::vector<float> x = random_vector(size_t(n * ldx), 3), bias = random_vector(size_t(rows), 4);
        std::vector<float> full1(size_t(n * rows)), full2(size_t(n * rows));
        linear_with_isa(isa, x.data(), n, ldx, w.ref, bias.data(), full1.data(), rows, pools().one);
        linear_with_isa(isa, x.data(), n, ldx, w.ref, bias.data(), full2.data(), rows, pools().two);
        for (size_t i = 0; i < full1.size(); ++i)
          ASSERT_TRUE(same_bits(full1[i], full2[i])) << "1 vs 2 threads differ at " << i;
        // Sub-batches at various offsets and sizes, on both pools.
        const int64_t subs[][2] = {{0, 1}, {64, 1}, {17, 1}, {5, 3}, {40, 16}, {1, 7}, {2, 63}};
        for (const auto& sub : subs) {
          const int64_t t0 = sub[0], m = sub[1];
          for (ThreadPool* pool : {&pools().one, &pools().two}) {
            std::vector<float> part(size_t(m * rows));
            linear_with_isa(isa, x.data() + t0 * ldx, m, ldx, w.ref, bias.data(), part.data(), rows, *pool);
            for (int64_t t = 0; t < m; ++t)
              for (int64_t o = 0; o < rows; ++o)
                ASSERT_TRUE(same_bits(part[size_t(t * rows + o)], full1[size_t((t0 + t) * rows + o)]))
                    << "token " << t0 + t << " row " << o << " differs in a batch of " << m << " at " << t0;
          }
        }
      }
    }
  }
}

// linear_batch (the MoE experts of a decode step in one parallel region): every call's output is bitwise
// linear()'s, whatever the pool, with calls sharing their activations (gate and up), calls with a bias,
// strided x, a call without rows and one without tokens in the batch.
TEST(Linear, BatchGivesTheBitsOfSeparateCalls) {
  for (const Format& f : formats()) {
    SCOPED_TRACE(f.name);
    const int64_t cols = 200, n = 3, ldx = cols + 5;
    std::vector<TestWeight> ws;
    for (int64_t rows : {48, 48, 37, 150, 0, 20}) ws.push_back(make_weight(f, rows, cols, uint32_t(rows + 7)));
    const std::vector<float> x1 = random_vector(size_t(n * ldx), 21), x2 = random_vector(size_t(n * ldx), 22);
    const std::vector<float> bias = random_vector(150, 23);
    if (ws[4].ref.scale_layout != ScaleLayout::None) ws[4].ref.scale = bias.data();  // no rows, no scales: any pointer
    struct Case { const float* x; int64_t n; size_t w; const float* bias; };
    const std::vector<Case> cases = {{x1.data(), n, 0, nullptr}, {x1.data(), n, 1, nullptr},  // shared x
                                     {x2.data(), 2, 2, nullptr}, {x2.data(), n, 3, bias.data()},
                                     {x1.data(), n, 4, nullptr}, {x1.data(), 0, 5, nullptr}};
    for (ThreadPool* pool : {&pools().one, &pools().two}) {
      std::vector<std::vector<float>> got(cases.size()), want(cases.size());
      std::vector<LinearCall> calls;
      for (size_t i = 0; i < cases.size(); ++i) {
        const WeightRef& w = ws[cases[i].w].ref;
        got[i].assign(size_t(n * w.rows), -1.f);
        want[i].assign(size_t(n * w.rows), -1.f);
        linear(cases[i].x, cases[i].n, ldx, w, cases[i].bias, want[i].data(), w.rows, *pool);
        calls.push_back({cases[i].x, cases[i].n, ldx, &w, cases[i].bias, got[i].data(), w.rows});
      }
      linear_batch(calls, *pool);
      for (size_t i = 0; i < cases.size(); ++i)
        for (size_t k = 0; k < got[i].size(); ++k)
          ASSERT_TRUE(same_bits(got[i][k], want[i][k])) << "call " << i << " element " << k;
    }
  }
}

// gather_weight_rows (FR-Spec's draft head): linear() over the gathered rows gives those rows' outputs of
// the whole weight, bitwise where the rows are copied as they are (BF16, per-row FP8), within bf16 rounding
// of the weights where they are re-encoded (block FP8, F16, F32). The source is a strided row view.
TEST(Linear, GatheredRowsGiveThoseRowsOutputs) {
  const int64_t rows = 300, cols = 333, n = 3;
  const std::vector<int32_t> ids = {5, 0, 299, 17, 17, 128, 127, 256, 64};  // any order, repeats
  const std::vector<float> x = random_vector(size_t(n * cols), 31);
  for (const Format& f : formats()) {
    SCOPED_TRACE(f.name);
    TestWeight whole = make_weight(f, rows + 20, cols, 41);
    const WeightRef w = whole.ref.row_slice(20, rows);  // not starting at row 0 (nor at a block edge)
    std::vector<uint8_t> storage;
    std::vector<float> scales;
    const WeightRef g = gather_weight_rows(w, ids, storage, scales);
    ASSERT_EQ(g.rows, int64_t(ids.size()));
    std::vector<float> full(size_t(n * rows)), got(size_t(n) * ids.size());
    linear(x.data(), n, w, nullptr, full.data(), pools().one);
    linear(x.data(), n, g, nullptr, got.data(), pools().one);
    const bool exact = f.dtype == DType::BF16 || f.layout == ScaleLayout::PerRow;
    std::vector<float> row(static_cast<size_t>(cols));
    for (size_t j = 0; j < ids.size(); ++j) {
      weight_row_to_f32(w, ids[j], row.data());
      for (int64_t t = 0; t < n; ++t) {
        const float want = full[size_t(t * rows + ids[j])], have = got[size_t(t) * ids.size() + j];
        if (exact) {
          ASSERT_TRUE(same_bits(have, want)) << "row " << ids[j] << ": " << have << " vs " << want;
        } else {
          double mag = 0;
          for (int64_t i = 0; i < cols; ++i) mag += std::fabs(double(x[size_t(t * cols + i)]) * row[size_t(i)]);
          ASSERT_NEAR(have, want, 4e-3 * mag) << "row " << ids[j];
        }
      }
    }
  }
  std::vector<uint8_t> storage;
  std::vector<float> scales;
  TestWeight w = make_weight(formats()[0], 10, 8, 1);
  const std::vector<int32_t> bad = {10};
  EXPECT_THROW(gather_weight_rows(w.ref, bad, storage, scales), GlmError);
}

// Tensor-parallel shards are views into the full tensor: rows [r0, r0 + R) x columns [c0, c0 + C) with
// the full row stride, FP8 block scales of the ORIGINAL grid (shards need not start on a block boundary).
// Every ISA and format: the view decodes to exactly the slice of the full matrix, linear() on it matches
// the reference, and for unscaled/per-row formats it is bitwise equal to linear() on a packed copy.
TEST(Linear, StridedColumnAndRowSlicesOnEveryPath) {
  // (rows, cols of the full matrix, slice r0, rows, c0, cols); the last one is wide enough for the
  // prefill path to split its columns into several K blocks.
  const int64_t cases[][6] = {{70, 400, 0, 70, 0, 200},  {70, 400, 0, 70, 200, 200}, {70, 400, 35, 35, 128, 272},
                              {70, 400, 16, 20, 48, 96}, {70, 400, 3, 30, 7, 250},   {70, 400, 64, 6, 333, 67},
                              {12, 3200, 4, 8, 100, 3000}};
  for (Isa isa : supported_isas()) {
    for (const Format& f : formats()) {
      for (const auto& c : cases) {
        const int64_t rows = c[0], cols = c[1];
        const int64_t sl[4] = {c[2], c[3], c[4], c[5]};
        TestWeight w = make_weight(f, rows, cols, 11);
        std::vector<float> full_row(static_cast<size_t>(cols)), view_row(static_cast<size_t>(cols));
        {
          const int64_t r0 = sl[0], nr = sl[1], c0 = sl[2], nc = sl[3];
          SCOPED_TRACE(label(isa, f, nr, nc, 0) + " at (" + std::to_string(r0) + ", " + std::to_string(c0) + ")");
          // Column slice of a row slice and row slice of a column slice are the same view.
          const WeightRef v = w.ref.row_slice(r0, nr).col_slice(c0, nc);
          const WeightRef v2 = w.ref.col_slice(c0, nc).row_slice(r0, nr);
          ASSERT_EQ(v.data, v2.data);
          ASSERT_EQ(v.scale, v2.scale);
          ASSERT_EQ(v.row_stride(), cols);
          for (int64_t o = 0; o < nr; ++o) {
            weight_row_to_f32(w.ref, r0 + o, full_row.data());
            weight_row_to_f32(v, o, view_row.data());
            for (int64_t i = 0; i < nc; ++i)
              ASSERT_TRUE(same_bits(view_row[size_t(i)], full_row[size_t(c0 + i)])) << "row " << o << " col " << i;
          }
          for (int64_t n : {1, 5, 40}) {
            const int64_t ldx = nc + 2;
            const std::vector<float> x = random_vector(size_t(n * ldx), uint32_t(n + c0));
            std::vector<float> y(size_t(n * nr)), ref(size_t(n * nr));
            linear_with_isa(isa, x.data(), n, ldx, v, nullptr, y.data(), nr, pools().two);
            linear_reference(x.data(), n, ldx, v, nullptr, ref.data(), nr);
            const std::vector<float> bound = error_bounds(x.data(), n, ldx, v, nullptr);
            for (size_t i = 0; i < y.size(); ++i)
              ASSERT_LE(std::fabs(y[i] - ref[i]), bound[i]) << "n=" << n << " element " << i;
            if (f.layout == ScaleLayout::Block) continue;  // a packed copy would have another block grid
            TestWeight packed = make_weight(f, nr, nc, 1);
            const size_t es = dtype_size(f.dtype);
            for (int64_t o = 0; o < nr; ++o)
              std::memcpy(&packed.data[size_t(o * nc) * es], &w.data[size_t((r0 + o) * cols + c0) * es], size_t(nc) * es);
            if (f.layout == ScaleLayout::PerRow)
              std::copy(w.scale.begin() + r0, w.scale.begin() + r0 + nr, packed.scale.begin());
            std::vector<float> yp(y.size());
            linear_with_isa(isa, x.data(), n, ldx, packed.ref, nullptr, yp.data(), nr, pools().two);
            for (size_t i = 0; i < y.size(); ++i) ASSERT_TRUE(same_bits(y[i], yp[i])) << "n=" << n << " element " << i;
          }
        }
      }
    }
  }
}

// Weights straight from a checkpoint mapping need not be aligned (safetensors offsets are arbitrary):
// the same matrix one byte off must give the same bits.
TEST(Linear, UnalignedWeightsGiveTheSameBits) {
  for (Isa isa : supported_isas()) {
    for (const Format& f : formats()) {
      SCOPED_TRACE(std::string(isa_name(isa)) + " " + f.name);
      const int64_t rows = 21, cols = 300, n = 9;
      TestWeight w = make_weight(f, rows, cols, 5);
      std::vector<uint8_t> shifted(w.data.size() + 1);
      std::memcpy(shifted.data() + 1, w.data.data(), w.data.size());
      WeightRef off = w.ref;
      off.data = shifted.data() + 1;
      const std::vector<float> x = random_vector(size_t(n * cols), 6);
      std::vector<float> a(size_t(n * rows)), b(size_t(n * rows));
      linear_with_isa(isa, x.data(), n, cols, w.ref, nullptr, a.data(), rows, pools().two);
      linear_with_isa(isa, x.data(), n, cols, off, nullptr, b.data(), rows, pools().two);
      for (size_t i = 0; i < a.size(); ++i) ASSERT_TRUE(same_bits(a[i], b[i])) << "element " << i;
    }
  }
}

// cols = 1, x = 1: each output is one decoded weight, no rounding anywhere, so every path must
// reproduce the scalar e4m3 definition (and the bf16/f16 ones) exactly, subnormals and signs included.
TEST(Linear, DecodesEveryFp8ValueExactly) {
  std::vector<uint8_t> bytes;
  for (int b = 0; b < 256; ++b)
    if ((b & 0x7f) != 0x7f) bytes.push_back(uint8_t(b));
  WeightRef w;
  w.dtype = DType::F8_E4M3;
  w.data = bytes.data();
  w.rows = int64_t(bytes.size());
  w.cols = 1;
  const float one = 1.f;
  std::vector<float> y(bytes.size());
  for (Isa isa : supported_isas()) {
    SCOPED_TRACE(std::string(isa_name(isa)));
    linear_with_isa(isa, &one, 1, 1, w, nullptr, y.data(), w.rows, pools().two);
    for (size_t i = 0; i < bytes.size(); ++i)
      EXPECT_TRUE(same_bits(y[i], fp8_e4m3_to_f32(bytes[i])) || (y[i] == 0.f && fp8_e4m3_to_f32(bytes[i]) == 0.f))
          << "byte 0x" << std::hex << int(bytes[i]) << ": " << y[i] << " vs " << fp8_e4m3_to_f32(bytes[i]);
  }
}

// Activations are rounded to bf16 (nearest even) before the products, on every path.
TEST(Linear, RoundsActivationsToBf16) {
  const uint16_t one_bf16 = f32_to_bf16(1.f);
  WeightRef w;
  w.dtype = DType::BF16;
  w.data = &one_bf16;
  w.rows = 1;
  w.cols = 1;
  // 1 + 2^-8 is a tie between 1 and 1 + 2^-7 (rounds to even: 1); 1 + 3 * 2^-9 rounds up.
  const float xs[] = {1.f + 0x1p-8f, 1.f + 3 * 0x1p-9f, -3.1415926f, 1e-3f};
  for (Isa isa : supported_isas()) {
    for (float x : xs) {
      float y = 0;
      linear_with_isa(isa, &x, 1, 1, w, nullptr, &y, 1, pools().one);
      EXPECT_EQ(y, bf16_to_f32(f32_to_bf16(x))) << isa_name(isa) << " x=" << x;
    }
  }
}

TEST(Linear, RejectsBadOperands) {
  std::vector<uint16_t> data(16, 0);
  WeightRef w;
  w.dtype = DType::BF16;
  w.data = data.data();
  w.rows = 4;
  w.cols = 4;
  std::vector<float> x(16, 1.f), y(16);
  EXPECT_THROW(linear(x.data(), 2, 3, w, nullptr, y.data(), 4, pools().one), GlmError);  // ldx < cols
  EXPECT_THROW(linear(x.data(), 2, 4, w, nullptr, y.data(), 3, pools().one), GlmError);  // ldy < rows
  WeightRef bad = w;
  bad.dtype = DType::I32;
  EXPECT_THROW(linear(x.data(), 1, bad, nullptr, y.data(), pools().one), GlmError);
  WeightRef no_scale = w;
  no_scale.dtype = DType::F8_E4M3;
  no_scale.scale_layout = ScaleLayout::PerRow;
  EXPECT_THROW(linear(x.data(), 1, no_scale, nullptr, y.data(), pools().one), GlmError);
  EXPECT_NO_THROW(linear(x.data(), 1, w, nullptr, y.data(), pools().one));
}

TEST(Isa, NamesRoundTripAndLevelsAreOrdered) {
  for (Isa isa : {Isa::Portable, Isa::Avx2, Isa::Avx512, Isa::Avx512Bf16}) EXPECT_EQ(isa_from_name(isa_name(isa)), isa);
  EXPECT_THROW(isa_from_name("avx9"), GlmError);
  const std::vector<Isa> s = supported_isas();
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s.front(), Isa::Portable);
  EXPECT_EQ(s.back(), best_isa());
  EXPECT_LE(int(active_isa()), int(best_isa()));
  const CpuFeatures& f = cpu_features();
  if (best_isa() >= Isa::Avx512) {
    EXPECT_TRUE(f.avx512f && f.avx512bw && f.avx512vl);
  }
  if (best_isa() == Isa::Avx512Bf16) {
    EXPECT_TRUE(f.avx512_bf16);
  }
}

}  // namespace
}  // namespace glm
