// linear() kernels in plain C++ for any x86-64: 16 float32 lanes per accumulator, written as short
// fixed-length loops the compiler vectorises with the baseline SSE2. Same loop nest as the SIMD paths.
#include <cstdint>

#include "core/float_formats.h"
#include "kernels/gemm_kernels.h"
#include "kernels/gemm_tile.h"

namespace glm::linear_detail {
namespace {

struct Lanes16 {
  float v[16];
};

struct PortableOps {
  static constexpr int kWidth = 16;
  template <WeightKind K> static constexpr int tile_rows() { return 2; }
  template <WeightKind K> static constexpr int tile_tokens() { return 2; }
  using Acc = Lanes16;
  using WVec = Lanes16;
  using XVec = Lanes16;
  using XElem = float;

  static Acc zero() { return Lanes16{}; }

  template <WeightKind K>
  static WVec load_w(const WElem<K>* row, int64_t k, int rem) {
    Lanes16 r{};
    const WElem<K>* p = row + k;
    if constexpr (K == WeightKind::Bf16) {
      for (int i = 0; i < rem; ++i) r.v[i] = bf16_to_f32(p[i]);
    } else if constexpr (K == WeightKind::F16) {
      for (int i = 0; i < rem; ++i) r.v[i] = f16_to_f32(p[i]);
    } else if constexpr (K == WeightKind::F32) {
      for (int i = 0; i < rem; ++i) r.v[i] = p[i];
    } else {
      const float* table = fp8_e4m3_table().v;
      for (int i = 0; i < rem; ++i) r.v[i] = table[p[i]];
    }
    return r;
  }
  static XVec load_x(const float* x, int64_t k, int rem) {
    Lanes16 r{};
    for (int i = 0; i < rem; ++i) r.v[i] = x[k + i];
    return r;
  }
  // Products of bf16 values are exact in float32, so mul + add here equals the fused form elsewhere.
  static Acc madd(Acc acc, const WVec& w, const XVec& x) {
    for (int i = 0; i < 16; ++i) acc.v[i] += w.v[i] * x.v[i];
    return acc;
  }
  static Acc scale_add(Acc tot, const Acc& part, float s) {
    for (int i = 0; i < 16; ++i) tot.v[i] += part.v[i] * s;
    return tot;
  }
  static float reduce(const Acc& a) {
    float s = 0.f;
    for (int i = 0; i < 16; ++i) s += a.v[i];
    return s;
  }
};

}  // namespace

void linear_rows_portable(const LinearProblem& p, int64_t r0, int64_t r1) {
  linear_rows_dispatch<PortableOps>(p, r0, r1);
}

}  // namespace glm::linear_detail
