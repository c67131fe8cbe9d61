// linear() decode of FP8 e4m3 weights at decode batch sizes (n = 1..4): every e4m3 code in every lane of
// the paired 64-column decode step, both scale layouts, partial and odd-sized blocks; and the AVX512-VBMI
// byte-table decode (linear_avx512bf16_vbmi.cpp) against the shift/add decode it replaces, bitwise, at
// decode batch sizes and for a 9-token prefill batch (token tiles).
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/float_formats.h"
#include "kernels/gemm_kernels.h"
#include "kernels/isa.h"
#include "kernels/linear.h"

namespace glm {
namespace {

ThreadPool& pool() {
  static ThreadPool* p = [] {
    auto* tp = new ThreadPool(2, false);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // workers running before the first region
    return tp;
  }();
  return *p;
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, 4) == 0; }

// Every (ISA, byte-table decode on/off) pair this CPU can run.
struct Path {
  Isa isa;
  bool byte_tables;
  std::string name() const { return std::string(isa_name(isa)) + (byte_tables ? "+vbmi" : ""); }
};
std::vector<Path> paths() {
  std::vector<Path> out;
  for (Isa isa : supported_isas()) {
    out.push_back({isa, false});
    if (isa == Isa::Avx512Bf16 && cpu_features().avx512_vbmi) out.push_back({isa, true});
  }
  return out;
}

// Runs linear() on one path, with the byte-table decode switched as the path says.
void run(const Path& path, const float* x, int64_t n, const WeightRef& w, float* y) {
  bool& enabled = linear_detail::fp8_vbmi_decode_enabled();
  const bool saved = enabled;
  enabled = path.byte_tables;
  linear_with_isa(path.isa, x, n, w.cols, w, nullptr, y, w.rows, pool());
  enabled = saved;
}

struct Fp8Matrix {
  std::vector<uint8_t> data;
  std::vector<float> scale;
  WeightRef ref;
};

// layout: None, PerRow, or Block with the given block shape; scales random in [0.002, 0.02).
Fp8Matrix make_matrix(std::vector<uint8_t> data, int64_t rows, int64_t cols, ScaleLayout layout, int block_rows,
                      int block_cols, uint32_t seed) {
  Fp8Matrix m;
  m.data = std::move(data);
  m.ref.dtype = DType::F8_E4M3;
  m.ref.data = m.data.data();
  m.ref.rows = rows;
  m.ref.cols = cols;
  m.ref.scale_layout = layout;
  if (layout == ScaleLayout::PerRow) m.scale.resize(size_t(rows));
  if (layout == ScaleLayout::Block) {
    m.ref.block_rows = block_rows;
    m.ref.block_cols = block_cols;
    m.scale.resize(size_t((rows + block_rows - 1) / block_rows * m.ref.scale_cols()));
  }
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.002f, 0.02f);
  for (float& s : m.scale) s = u(rng);
  m.ref.scale = m.scale.empty() ? nullptr : m.scale.data();
  return m;
}

struct LayoutCase {
  const char* name;
  ScaleLayout layout;
  int block_rows, block_cols;
};
const LayoutCase kLayouts[] = {{"unscaled", ScaleLayout::None, 0, 0},
                               {"per-row", ScaleLayout::PerRow, 0, 0},
                               {"block 128x128", ScaleLayout::Block, 128, 128},
                               {"block 16x48", ScaleLayout::Block, 16, 48}};  // blocks end inside a 64-column step

// One-hot activations (x = 1 at one column per token): each output is one decoded weight times its scale,
// with no rounding but the scale's, so every path must reproduce the scalar e4m3 definition exactly.
// Row o, column j holds code (o + 3 j) mod 254: every code visits every lane of the 64-column steps,
// including the 2-column tail (cols = 130).
TEST(LinearFp8Decode, EveryCodeInEveryLaneIsExact) {
  std::vector<uint8_t> codes;
  for (int b = 0; b < 256; ++b)
    if ((b & 0x7f) != 0x7f) codes.push_back(uint8_t(b));  // all but the two NaN patterns: +-448 saturate
  const int64_t rows = int64_t(codes.size()), cols = 130;
  std::vector<uint8_t> data(size_t(rows * cols));
  for (int64_t o = 0; o < rows; ++o)
    for (int64_t j = 0; j < cols; ++j) data[size_t(o * cols + j)] = codes[size_t((o + 3 * j) % rows)];
  for (const LayoutCase& lc : kLayouts) {
    const Fp8Matrix m = make_matrix(data, rows, cols, lc.layout, lc.block_rows, lc.block_cols, 3);
    for (const Path& path : paths()) {
      for (int64_t n : {1, 2, 3, 4}) {
        SCOPED_TRACE(path.name() + " " + lc.name + " n=" + std::to_string(n));
        std::vector<float> x(size_t(n * cols)), y(size_t(n * rows));
        for (int64_t j0 = 0; j0 < cols; ++j0) {
          std::fill(x.begin(), x.end(), 0.f);
          for (int64_t t = 0; t < n; ++t) x[size_t(t * cols + (j0 + 37 * t) % cols)] = 1.f;
          run(path, x.data(), n, m.ref, y.data());
          int bad = 0;
          for (int64_t t = 0; t < n; ++t) {
            const int64_t j = (j0 + 37 * t) % cols;
            for (int64_t o = 0; o < rows; ++o) {
              const uint8_t code = data[size_t(o * cols + j)];
              float want = fp8_e4m3_to_f32(code);
              if (lc.layout == ScaleLayout::PerRow) want *= m.scale[size_t(o)];
              if (lc.layout == ScaleLayout::Block) want *= m.ref.block_scale(o, j);
              const float got = y[size_t(t * rows + o)];
              if (!(same_bits(got, want) || (got == 0.f && want == 0.f)) && bad++ < 3)
                ADD_FAILURE() << "code 0x" << std::hex << int(code) << std::dec << " at column " << j << " (lane "
                              << j % 64 << ") token " << t << ": " << got << " vs " << want;
            }
          }
          if (bad) return;
        }
      }
    }
  }
}

// Decode batches (n = 1..4) through the byte tables give the bits of the shift/add decode and of the same
// tokens inside a prefill batch, for packed matrices and for tensor-parallel views that start inside a block.
TEST(LinearFp8Decode, ByteTablesGiveTheBitsOfTheOtherDecode) {
  if (!linear_detail::fp8_vbmi_decode_enabled()) GTEST_SKIP() << "CPU without AVX512-VBMI: nothing to compare";
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.f, 1.f);
  const int64_t shapes[][2] = {{37, 96}, {37, 200}, {41, 333}, {9, 4100}, {70, 400}};
  for (const auto& shape : shapes) {
    const int64_t rows = shape[0], cols = shape[1];
    std::vector<uint8_t> data(size_t(rows * cols));
    for (uint8_t& b : data) do b = uint8_t(rng()); while ((b & 0x7f) == 0x7f);
    for (const LayoutCase& lc : kLayouts) {
      const Fp8Matrix m = make_matrix(data, rows, cols, lc.layout, lc.block_rows, lc.block_cols, 5);
      std::vector<WeightRef> views = {m.ref};
      if (cols > 100) views.push_back(m.ref.row_slice(3, rows - 5).col_slice(7, cols - 50));  // off the block grid
      for (const WeightRef& w : views) {
        const int64_t big = 9;
        std::vector<float> x(size_t(big * w.cols));
        for (float& v : x) v = normal(rng);
        std::vector<float> prefill(size_t(big * w.rows)), prefill_tables(size_t(big * w.rows));
        run({Isa::Avx512Bf16, false}, x.data(), big, w, prefill.data());
        run({Isa::Avx512Bf16, true}, x.data(), big, w, prefill_tables.data());  // prefill tiles, token tiles
        for (size_t i = 0; i < prefill.size(); ++i)
          ASSERT_TRUE(same_bits(prefill_tables[i], prefill[i])) << lc.name << " prefill element " << i;
        for (int64_t n = 1; n <= 4; ++n) {
          SCOPED_TRACE(std::string(lc.name) + " rows=" + std::to_string(w.rows) + " cols=" + std::to_string(w.cols) +
                       " n=" + std::to_string(n));
          std::vector<float> tables(size_t(n * w.rows)), shift_add(size_t(n * w.rows));
          const float* xs = x.data() + (big - n) * w.cols;  // the last n tokens of the prefill batch
          run({Isa::Avx512Bf16, true}, xs, n, w, tables.data());
          run({Isa::Avx512Bf16, false}, xs, n, w, shift_add.data());
          for (size_t i = 0; i < tables.size(); ++i) {
            ASSERT_TRUE(same_bits(tables[i], shift_add[i])) << "element " << i << ": " << tables[i] << " vs " << shift_add[i];
            ASSERT_TRUE(same_bits(tables[i], prefill[size_t((big - n) * w.rows) + i])) << "element " << i;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace glm
