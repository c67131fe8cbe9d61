#pragma once
// Which SIMD instruction sets this CPU (and the OS, via XCR0) lets kernels use, detected once with
// CPUID + XGETBV. Kernels are compiled per ISA with function-level target attributes and picked at
// run time, so one binary runs on any x86-64.
#include <string_view>
#include <vector>

namespace glm {

// Ordered: each level implies the ones below it.
enum class Isa : int {
  Portable = 0,    // plain C++ (SSE2 baseline)
  Avx2 = 1,        // AVX2 + FMA (+F16C)
  Avx512 = 2,      // AVX-512 F/BW/VL
  Avx512Bf16 = 3,  // AVX-512 F/BW/VL + BF16 (vdpbf16ps)
};

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512_bf16 = false, avx512_vnni = false;
  bool avx512_vbmi = false;  // vpermi2b/vpermt2b: the FP8 byte-table decode (linear_avx512bf16_vbmi.cpp)
  bool amx_bf16 = false;  // detected for the record; no kernel uses it yet
};

const CpuFeatures& cpu_features();

// Highest level the CPU supports.
Isa best_isa();

// The level linear() uses: best_isa(), lowered by the environment variable GLM_ISA
// (portable | avx2 | avx512 | avx512bf16) if set. Asking for more than the CPU has is an error.
Isa active_isa();

// Every level the CPU supports, lowest first (tests run each one).
std::vector<Isa> supported_isas();

std::string_view isa_name(Isa isa);
// Parses a GLM_ISA value; throws GlmError(InvalidArgument) on an unknown name.
Isa isa_from_name(std::string_view name);

}  // namespace glm
