// paged_attention() block kernel for any x86-64: attention_tile.h over an 8-lane array of floats (the
// compiler may map it onto SSE2), std::exp, scalar KV widening (kv_load_row).
#include <cmath>

#include "kernels/attention_kernels.h"
#include "kernels/kv_format.h"
#include "kernels/attention_tile.h"

namespace glm::attention_detail {
namespace {

struct PortableOps {
  static constexpr int kW = 8;
  static constexpr bool kBf16Dot = false;
  struct Vec {
    float v[kW];
  };
  template <class F>
  static Vec map(F f) {
    Vec r;
    for (int i = 0; i < kW; ++i) r.v[i] = f(i);
    return r;
  }
  static Vec zero() { return set1(0.0f); }
  static Vec set1(float x) { return map([&](int) { return x; }); }
  static Vec load(const float* p) { return map([&](int i) { return p[i]; }); }
  static void store(float* p, const Vec& a) { for (int i = 0; i < kW; ++i) p[i] = a.v[i]; }
  static Vec add(const Vec& a, const Vec& b) { return map([&](int i) { return a.v[i] + b.v[i]; }); }
  static Vec sub(const Vec& a, const Vec& b) { return map([&](int i) { return a.v[i] - b.v[i]; }); }
  static Vec mul(const Vec& a, const Vec& b) { return map([&](int i) { return a.v[i] * b.v[i]; }); }
  static Vec fma(const Vec& a, const Vec& b, const Vec& c) { return map([&](int i) { return a.v[i] * b.v[i] + c.v[i]; }); }
  static Vec max(const Vec& a, const Vec& b) { return map([&](int i) { return a.v[i] > b.v[i] ? a.v[i] : b.v[i]; }); }
  static Vec select_lt(const Vec& a, const Vec& b, const Vec& x, const Vec& y) {
    return map([&](int i) { return a.v[i] < b.v[i] ? x.v[i] : y.v[i]; });
  }
  static Vec exp(const Vec& a) { return map([&](int i) { return std::exp(a.v[i]); }); }
  static void load_row(KvDType t, const void* src, float* dst, int64_t n) { kv_load_row(t, src, dst, n); }
};

}  // namespace

void attend_block_portable(const AttnWork& w, const AttnScratch& sc) { BlockKernel<PortableOps>::run(w, sc); }

}  // namespace glm::attention_detail
