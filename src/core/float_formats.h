#pragma once
// Scalar conversions between the checkpoint number formats and float32.
// These are the reference definitions; SIMD kernels must agree with them bit for bit.
#include <cmath>
#include <cstdint>
#include <cstring>

namespace glm {

inline float bf16_to_f32(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Round to nearest even, as torch's .to(bfloat16); NaN stays NaN.
inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

inline float f16_to_f32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, u;
  if (exp == 0) {
    if (man == 0) {
      u = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do { ++e; man <<= 1; } while (!(man & 0x400));
      u = sign | uint32_t(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
    }
  } else if (exp == 31) {
    u = sign | 0x7f800000u | man << 13;
  } else {
    u = sign | (exp + 127 - 15) << 23 | man << 13;
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// float8_e4m3fn: 1 sign, 4 exponent (bias 7), 3 mantissa; no infinities; S.1111.111 is NaN; max 448.
inline float fp8_e4m3_to_f32(uint8_t v) {
  int sign = v >> 7, exp = (v >> 3) & 0xf, man = v & 7;
  float r;
  if (exp == 0xf && man == 7) return std::nanf("");
  if (exp == 0) r = std::ldexp(float(man), -9);  // subnormal: man/8 * 2^-6
  else r = std::ldexp(1.0f + float(man) / 8.0f, exp - 7);
  return sign ? -r : r;
}

// float32 -> float8_e4m3fn, round to nearest even, saturating: |f| >= 448 (and +-inf) gives +-448, NaN gives
// the NaN code 0x7f (sign kept). torch's plain .to(float8_e4m3fn) turns overflow into NaN instead; the KV cache
// saturates so that one large activation cannot poison every later attention score (see kernels/kv_format.h).
inline uint8_t f32_to_fp8_e4m3(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint8_t sign = uint8_t((u >> 24) & 0x80);
  u &= 0x7fffffffu;
  if (u > 0x7f800000u) return uint8_t(sign | 0x7f);
  if (u >= 0x43e00000u) return uint8_t(sign | 0x7e);  // 448.0f and above
  if (u < 0x3c800000u) {                               // below 2^-6: e4m3 subnormals, quantum 2^-9
    float a;
    std::memcpy(&a, &u, 4);
    const float q = a * 512.0f;  // exact; 0 <= q < 8
    int n = int(q);
    const float frac = q - float(n);
    if (frac > 0.5f || (frac == 0.5f && (n & 1))) ++n;  // n == 8 is exactly the smallest normal 0x08
    return uint8_t(sign | n);
  }
  u += 0x7ffffu + ((u >> 20) & 1u);  // round the 23-bit mantissa to 3 bits, ties to even (may carry into exp)
  const uint32_t exp = (u >> 23) - 127 + 7, man = (u >> 20) & 7u;
  return uint8_t(sign | exp << 3 | man);
}

// float8_e5m2 is the upper byte of an IEEE half: 1 sign, 5 exponent (bias 15), 2 mantissa; inf and NaN as in f16.
inline float fp8_e5m2_to_f32(uint8_t v) { return f16_to_f32(uint16_t(uint16_t(v) << 8)); }

// float32 -> float8_e5m2, round to nearest even, saturating like f32_to_fp8_e4m3: |f| >= 57344 (the largest
// finite e5m2) and +-inf give +-57344; NaN gives 0x7f (sign kept).
inline uint8_t f32_to_fp8_e5m2(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint8_t sign = uint8_t((u >> 24) & 0x80);
  u &= 0x7fffffffu;
  if (u > 0x7f800000u) return uint8_t(sign | 0x7f);
  if (u >= 0x47600000u) return uint8_t(sign | 0x7b);  // 57344.0f and above
  if (u < 0x38800000u) {                               // below 2^-14: e5m2 subnormals, quantum 2^-16
    float a;
    std::memcpy(&a, &u, 4);
    const float q = a * 65536.0f;  // exact; 0 <= q < 4
    int n = int(q);
    const float frac = q - float(n);
    if (frac > 0.5f || (frac == 0.5f && (n & 1))) ++n;  // n == 4 is exactly the smallest normal 0x04
    return uint8_t(sign | n);
  }
  u += 0xfffffu + ((u >> 21) & 1u);  // round the 23-bit mantissa to 2 bits, ties to even
  const uint32_t exp = (u >> 23) - 127 + 15, man = (u >> 21) & 3u;
  return uint8_t(sign | exp << 2 | man);
}

// Table of all 256 e4m3 values, for scalar reference loops.
struct Fp8E4M3Table {
  float v[256];
  Fp8E4M3Table() { for (int i = 0; i < 256; ++i) v[i] = fp8_e4m3_to_f32(uint8_t(i)); }
};
inline const Fp8E4M3Table& fp8_e4m3_table() {
  static const Fp8E4M3Table t;
  return t;
}

}  // namespace glm
