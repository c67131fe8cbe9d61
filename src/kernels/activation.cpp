#include "kernels/activation.h"

#include <cmath>

namespace glm {

void silu_mul(const float* gate, int64_t ld_gate, const float* up, int64_t ld_up, float* out, int64_t ld_out,
              int64_t n_rows, int64_t width) {
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* g = gate + r * ld_gate;
    const float* u = up + r * ld_up;
    float* o = out + r * ld_out;
    for (int64_t i = 0; i < width; ++i) o[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
  }
}

}  // namespace glm
