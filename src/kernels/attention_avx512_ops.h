// The AVX-512 F/BW/VL vector operations of attention_tile.h (16-lane zmm), shared by attention_avx512.cpp
// and attention_avx512bf16.cpp. Included by each inside its target pragma and anonymous namespace (no
// include guard on purpose). KV rows are widened in registers (bf16: shift; fp8 e4m3: bit moves + one
// exact multiply, as in linear_avx512.cpp; e5m2: vcvtph2ps); exp is a degree-6 polynomial after range
// reduction by ln 2 (about 1 ulp), exactly 0 below -87.34 and exactly 1 at 0.
struct Avx512Ops {
  static constexpr int kW = 16;
  static constexpr bool kBf16Dot = false;
  using Vec = __m512;
  static Vec zero() { return _mm512_setzero_ps(); }
  static Vec set1(float x) { return _mm512_set1_ps(x); }
  static Vec load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, Vec a) { _mm512_storeu_ps(p, a); }
  static Vec add(Vec a, Vec b) { return _mm512_add_ps(a, b); }
  static Vec sub(Vec a, Vec b) { return _mm512_sub_ps(a, b); }
  static Vec mul(Vec a, Vec b) { return _mm512_mul_ps(a, b); }
  static Vec fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
  static Vec max(Vec a, Vec b) { return _mm512_max_ps(a, b); }
  static Vec select_lt(Vec a, Vec b, Vec x, Vec y) { return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), y, x); }

  static Vec exp(Vec x) {
    const __mmask16 under = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.3365478515625f), _CMP_LT_OQ);
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3365478515625f)), _mm512_set1_ps(88.3762626647949f));
    const Vec fx = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    Vec r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), r);
    Vec y = _mm512_set1_ps(1.9875691500e-4f);
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.3981999507e-3f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(8.3334519073e-3f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(4.1665795894e-2f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.6666665459e-1f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(5.0000001201e-1f));
    y = _mm512_fmadd_ps(y, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(fx), _mm512_set1_epi32(127)), 23);
    return _mm512_maskz_mul_ps(__mmask16(~under), y, _mm512_castsi512_ps(e));
  }

  static void load_row(KvDType t, const void* src, float* dst, int64_t n) {
    int64_t i = 0;
    if (t == KvDType::BF16) {
      const auto* s = static_cast<const uint16_t*>(src);
      for (; i + 16 <= n; i += 16) {
        const __m512i h = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i)));
        _mm512_storeu_ps(dst + i, _mm512_castsi512_ps(_mm512_slli_epi32(h, 16)));
      }
    } else if (t == KvDType::FP8_E4M3) {
      const auto* s = static_cast<const uint8_t*>(src);
      for (; i + 16 <= n; i += 16) {
        const __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i)));
        const __m512i mag = _mm512_and_si512(_mm512_slli_epi32(v, 20), _mm512_set1_epi32(0x07F00000));
        const __m512 f = _mm512_mul_ps(_mm512_castsi512_ps(mag), _mm512_set1_ps(0x1p120f));
        const __m512i sign = _mm512_and_si512(_mm512_slli_epi32(v, 24), _mm512_set1_epi32(int(0x80000000u)));
        _mm512_storeu_ps(dst + i, _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(f), sign)));
      }
    } else if (t == KvDType::FP8_E5M2) {  // the byte is the top half of an f16
      const auto* s = static_cast<const uint8_t*>(src);
      for (; i + 16 <= n; i += 16) {
        const __m256i h = _mm256_slli_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i))), 8);
        _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(h));
      }
    } else {
      const auto* s = static_cast<const float*>(src);
      for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _mm512_loadu_ps(s + i));
    }
    if (i < n) kv_load_row(t, static_cast<const uint8_t*>(src) + i * kv_dtype_bytes(t), dst + i, n - i);
  }
};

