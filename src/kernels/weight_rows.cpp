#include "kernels/weight_rows.h"

#include <cstring>

#include "core/error.h"
#include "core/float_formats.h"
#include "kernels/linear.h"

namespace glm {

WeightRef gather_weight_rows(const WeightRef& w, std::span<const int32_t> rows, std::vector<uint8_t>& storage,
                             std::vector<float>& scales) {
  const int64_t n = int64_t(rows.size()), H = w.cols;
  for (int32_t r : rows)
    if (r < 0 || r >= w.rows) fail(ErrorKind::InvalidArgument, "gather_weight_rows: row {} of {}", r, w.rows);
  WeightRef out;
  out.rows = n;
  out.cols = H;
  scales.clear();
  if (w.dtype == DType::BF16 || (w.dtype == DType::F8_E4M3 && w.scale_layout == ScaleLayout::PerRow)) {
    const size_t elem = dtype_size(w.dtype), row_bytes = size_t(H) * elem;
    storage.resize(size_t(n) * row_bytes);
    const auto* src = static_cast<const uint8_t*>(w.data);
    for (int64_t i = 0; i < n; ++i)
      std::memcpy(storage.data() + size_t(i) * row_bytes, src + size_t(rows[size_t(i)]) * size_t(w.row_stride()) * elem,
                  row_bytes);
    out.dtype = w.dtype;
    if (w.scale_layout == ScaleLayout::PerRow) {
      scales.resize(size_t(n));
      for (int64_t i = 0; i < n; ++i) scales[size_t(i)] = w.scale[rows[size_t(i)]];
      out.scale_layout = ScaleLayout::PerRow;
      out.scale = scales.data();
    }
  } else {
    storage.resize(size_t(n * H) * sizeof(uint16_t));
    std::vector<float> row(static_cast<size_t>(H));
    auto* dst = reinterpret_cast<uint16_t*>(storage.data());
    for (int64_t i = 0; i < n; ++i) {
      weight_row_to_f32(w, rows[size_t(i)], row.data());
      for (int64_t k = 0; k < H; ++k) dst[i * H + k] = f32_to_bf16(row[size_t(k)]);
    }
    out.dtype = DType::BF16;
  }
  out.data = storage.data();
  return out;
}

}  // namespace glm
