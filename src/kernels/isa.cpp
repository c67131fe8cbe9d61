#include "kernels/isa.h"

#include <cpuid.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/error.h"

namespace glm {
namespace {

uint64_t read_xcr0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t(hi) << 32) | lo;
}

CpuFeatures detect() {
  CpuFeatures f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & (1u << 27), fma = c & (1u << 12), f16c = c & (1u << 29);
  if (!osxsave) return f;
  const uint64_t xcr0 = read_xcr0();
  const bool os_avx = (xcr0 & 0x6) == 0x6;             // XMM and YMM state
  const bool os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0;  // opmask, ZMM_Hi256, Hi16_ZMM
  const bool os_amx = (xcr0 & 0x60000) == 0x60000;     // XTILECFG, XTILEDATA
  if (!os_avx) return f;
  unsigned max_leaf = __get_cpuid_max(0, nullptr);
  if (max_leaf < 7) return f;
  __cpuid_count(7, 0, a, b, c, d);
  f.fma = fma;
  f.f16c = f16c;
  f.avx2 = b & (1u << 5);
  if (os_avx512) {
    f.avx512f = b & (1u << 16);
    f.avx512bw = b & (1u << 30);
    f.avx512vl = b & (1u << 31);
    f.avx512_vnni = c & (1u << 11);
    f.avx512_vbmi = c & (1u << 1);
    unsigned a1, b1, c1, d1;
    __cpuid_count(7, 1, a1, b1, c1, d1);
    f.avx512_bf16 = a1 & (1u << 5);
  }
  f.amx_bf16 = os_amx && (d & (1u << 22));
  return f;
}

Isa detect_best(const CpuFeatures& f) {
  const bool avx512 = f.avx512f && f.avx512bw && f.avx512vl && f.avx2 && f.fma && f.f16c;
  if (avx512 && f.avx512_bf16) return Isa::Avx512Bf16;
  if (avx512) return Isa::Avx512;
  if (f.avx2 && f.fma && f.f16c) return Isa::Avx2;
  return Isa::Portable;
}

Isa detect_active() {
  const Isa best = best_isa();
  const char* env = std::getenv("GLM_ISA");
  if (!env || !*env) return best;
  const Isa want = isa_from_name(env);
  if (int(want) > int(best))
    fail(ErrorKind::InvalidArgument, "GLM_ISA={} is not supported by this CPU (best: {})", env, isa_name(best));
  return want;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

Isa best_isa() {
  static const Isa isa = detect_best(cpu_features());
  return isa;
}

Isa active_isa() {
  static const Isa isa = detect_active();
  return isa;
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (int i = 0; i <= int(best_isa()); ++i) out.push_back(Isa(i));
  return out;
}

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::Portable: return "portable";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
    case Isa::Avx512Bf16: return "avx512bf16";
  }
  return "?";
}

Isa isa_from_name(std::string_view name) {
  for (Isa isa : {Isa::Portable, Isa::Avx2, Isa::Avx512, Isa::Avx512Bf16})
    if (isa_name(isa) == name) return isa;
  fail(ErrorKind::InvalidArgument, "unknown ISA '{}' (expected portable, avx2, avx512 or avx512bf16)",
       std::string(name));
}

}  // namespace glm
