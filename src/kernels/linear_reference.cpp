#include <algorithm>
#include <vector>

#include "core/error.h"
#include "core/float_formats.h"
#include "kernels/linear.h"

namespace glm {

WeightRef WeightRef::row_slice(int64_t r0, int64_t n) const {
  WeightRef s = *this;
  s.rows = n;
  s.data = static_cast<const uint8_t*>(data) + r0 * cols * int64_t(dtype_size(dtype));
  if (scale_layout == ScaleLayout::PerRow) {
    s.scale = scale + r0;
  } else if (scale_layout == ScaleLayout::Block) {
    if (r0 % block_rows != 0)
      fail(ErrorKind::Internal, "row_slice at row {} is not aligned to the FP8 block size {}", r0, block_rows);
    s.scale = scale + (r0 / block_rows) * scale_cols();
  }
  return s;
}

void weight_row_to_f32(const WeightRef& w, int64_t o, float* out) {
  const int64_t C = w.cols;
  switch (w.dtype) {
    case DType::F32: {
      const float* p = static_cast<const float*>(w.data) + o * C;
      std::copy(p, p + C, out);
      return;
    }
    case DType::BF16: {
      const uint16_t* p = static_cast<const uint16_t*>(w.data) + o * C;
      for (int64_t i = 0; i < C; ++i) out[i] = bf16_to_f32(p[i]);
      return;
    }
    case DType::F16: {
      const uint16_t* p = static_cast<const uint16_t*>(w.data) + o * C;
      for (int64_t i = 0; i < C; ++i) out[i] = f16_to_f32(p[i]);
      return;
    }
    case DType::F8_E4M3: {
      const uint8_t* p = static_cast<const uint8_t*>(w.data) + o * C;
      const float* t = fp8_e4m3_table().v;
      if (w.scale_layout == ScaleLayout::PerRow) {
        float s = w.scale[o];
        for (int64_t i = 0; i < C; ++i) out[i] = t[p[i]] * s;
      } else if (w.scale_layout == ScaleLayout::Block) {
        const float* srow = w.scale + (o / w.block_rows) * w.scale_cols();
        for (int64_t i = 0; i < C; ++i) out[i] = t[p[i]] * srow[i / w.block_cols];
      } else {
        for (int64_t i = 0; i < C; ++i) out[i] = t[p[i]];
      }
      return;
    }
    default:
      fail(ErrorKind::Internal, "weight dtype {} is not supported by linear", dtype_name(w.dtype));
  }
}

void linear_reference(const float* x, int64_t n, int64_t ldx, const WeightRef& w, const float* bias, float* y,
                      int64_t ldy) {
  std::vector<float> row(size_t(w.cols)), xr(size_t(w.cols));
  const bool round_x = w.dtype == DType::BF16 || w.dtype == DType::F8_E4M3;
  for (int64_t o = 0; o < w.rows; ++o) {
    weight_row_to_f32(w, o, row.data());
    for (int64_t t = 0; t < n; ++t) {
      const float* xt = x + t * ldx;
      if (round_x) {
        for (int64_t i = 0; i < w.cols; ++i) xr[size_t(i)] = bf16_to_f32(f32_to_bf16(xt[i]));
        xt = xr.data();
      }
      float acc = 0.f;
      for (int64_t i = 0; i < w.cols; ++i) acc += xt[i] * row[size_t(i)];
      y[t * ldy + o] = acc + (bias ? bias[o] : 0.f);
    }
  }
}

}  // namespace glm
