#pragma once
// Gated activation of the GLM MLPs: out = silu(gate) * up, silu(g) = g / (1 + exp(-g)).
#include <cstdint>

namespace glm {

// gate, up, out: (n_rows, width) with row strides ld_gate, ld_up, ld_out. out may alias gate or up.
void silu_mul(const float* gate, int64_t ld_gate, const float* up, int64_t ld_up, float* out, int64_t ld_out,
              int64_t n_rows, int64_t width);

}  // namespace glm
