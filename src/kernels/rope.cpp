#include "kernels/rope.h"

#include <cmath>

namespace glm {

RopeTable::RopeTable(int64_t rotary_dim, double theta) : rotary_dim_(rotary_dim), inv_freq_(size_t(rotary_dim / 2)) {
  // transformers: 1.0 / (base ** (arange(0, dim, 2, dtype=float32) / dim)), evaluated in float32.
  for (int64_t i = 0; i < rotary_dim / 2; ++i) {
    float expo = float(2 * i) / float(rotary_dim);
    inv_freq_[size_t(i)] = 1.0f / std::pow(float(theta), expo);
  }
}

void RopeTable::cos_sin(int64_t pos, float* cos_out, float* sin_out) const {
  for (int64_t i = 0; i < rotary_dim_ / 2; ++i) {
    float angle = float(pos) * inv_freq_[size_t(i)];
    cos_out[i] = std::cos(angle);
    sin_out[i] = std::sin(angle);
  }
}

void apply_rope_neox(float* x, int64_t n_heads, int64_t head_dim, int64_t rotary_dim, const float* cos,
                     const float* sin) {
  const int64_t half = rotary_dim / 2;
  for (int64_t h = 0; h < n_heads; ++h) {
    float* xh = x + h * head_dim;
    for (int64_t i = 0; i < half; ++i) {
      float a = xh[i], b = xh[i + half];
      xh[i] = a * cos[i] - b * sin[i];
      xh[i + half] = b * cos[i] + a * sin[i];
    }
  }
}

}  // namespace glm
