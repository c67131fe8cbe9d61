#include <algorithm>
#include <vector>

#include "core/error.h"
#include "core/float_formats.h"
#include "kernels/linear.h"

namespace glm {

WeightRef WeightRef::row_slice(int64_t r0, int64_t n) const {
  if (r0 < 0 || n < 0 || r0 + n > rows) fail(ErrorKind::Internal, "row_slice [{}, {}) of {} rows", r0, r0 + n, rows);
  WeightRef s = *this;
  s.rows = n;
  s.data = static_cast<const uint8_t*>(data) + r0 * row_stride() * int64_t(dtype_size(dtype));
  s.ld = row_stride();
  if (scale_layout == ScaleLayout::PerRow) {
    s.scale = scale + r0;
  } else if (scale_layout == ScaleLayout::Block) {
    const int64_t g = block_row0 + r0;  // row in the block grid of this view
    s.scale = scale + (g / block_rows) * scale_stride();
    s.block_row0 = int(g % block_rows);
    s.scale_ld = scale_stride();
  }
  return s;
}

WeightRef WeightRef::col_slice(int64_t c0, int64_t n) const {
  if (c0 < 0 || n < 0 || c0 + n > cols) fail(ErrorKind::Internal, "col_slice [{}, {}) of {} cols", c0, c0 + n, cols);
  WeightRef s = *this;
  s.cols = n;
  s.ld = row_stride();
  s.data = static_cast<const uint8_t*>(data) + c0 * int64_t(dtype_size(dtype));
  if (scale_layout == ScaleLayout::Block) {
    const int64_t g = block_col0 + c0;
    s.scale_ld = scale_stride();
    s.scale = scale + g / block_cols;
    s.block_col0 = int(g % block_cols);
  }
  return s;
}

void weight_row_to_f32(const WeightRef& w, int64_t o, float* out) {
  const int64_t C = w.cols, ld = w.row_stride();
  switch (w.dtype) {
    case DType::F32: {
      const float* p = static_cast<const float*>(w.data) + o * ld;
      std::copy(p, p + C, out);
      return;
    }
    case DType::BF16: {
      const uint16_t* p = static_cast<const uint16_t*>(w.data) + o * ld;
      for (int64_t i = 0; i < C; ++i) out[i] = bf16_to_f32(p[i]);
      return;
    }
    case DType::F16: {
      const uint16_t* p = static_cast<const uint16_t*>(w.data) + o * ld;
      for (int64_t i = 0; i < C; ++i) out[i] = f16_to_f32(p[i]);
      return;
    }
    case DType::F8_E4M3: {
      const uint8_t* p = static_cast<const uint8_t*>(w.data) + o * ld;
      const float* t = fp8_e4m3_table().v;
      if (w.scale_layout == ScaleLayout::PerRow) {
        float s = w.scale[o];
        for (int64_t i = 0; i < C; ++i) out[i] = t[p[i]] * s;
      } else if (w.scale_layout == ScaleLayout::Block) {
        for (int64_t i = 0; i < C; ++i) out[i] = t[p[i]] * w.block_scale(o, i);
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
