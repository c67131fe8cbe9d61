// paged_attention() block kernel for AVX-512 F/BW/VL: attention_tile.h over the 16-lane zmm operations of
// attention_avx512_ops.h, float32 scores (every KV dtype).
#include <immintrin.h>

#include <cstdint>

#include "kernels/attention_kernels.h"
#include "kernels/kv_format.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "kernels/attention_tile.h"

namespace glm::attention_detail {
namespace {

#include "kernels/attention_avx512_ops.h"

}  // namespace

void attend_block_avx512(const AttnWork& w, const AttnScratch& sc) { BlockKernel<Avx512Ops>::run(w, sc); }

}  // namespace glm::attention_detail

#pragma GCC diagnostic pop
#pragma GCC pop_options
