#pragma once
// Partial rotary position embedding, NeoX ("rotate half") style, as GLM-4.5 uses it:
// only the first rotary_dim entries of each head rotate; pair i is (x[i], x[i + rotary_dim/2]).
//   inv_freq[i] = 1 / theta^(2i / rotary_dim),  angle = pos * inv_freq[i]  (float32, as transformers)
//   y[i] = x[i] cos - x[i+half] sin,  y[i+half] = x[i+half] cos + x[i] sin;  entries >= rotary_dim pass through.
#include <cstdint>
#include <vector>

namespace glm {

class RopeTable {
 public:
  RopeTable() = default;
  RopeTable(int64_t rotary_dim, double theta);

  int64_t rotary_dim() const { return rotary_dim_; }
  // cos_out, sin_out: (rotary_dim / 2) for position pos.
  void cos_sin(int64_t pos, float* cos_out, float* sin_out) const;

 private:
  int64_t rotary_dim_ = 0;
  std::vector<float> inv_freq_;  // (rotary_dim / 2)
};

// x: (n_heads, head_dim) of one token with head stride head_dim; cos, sin: (rotary_dim / 2).
void apply_rope_neox(float* x, int64_t n_heads, int64_t head_dim, int64_t rotary_dim, const float* cos,
                     const float* sin);

}  // namespace glm
