#pragma once
// How many KV tokens the pool gets.
//   max_total_tokens > 0: exactly that many (rounded up to whole pages).
//   else mem_fraction_static (SGLang's name) on a CPU host means: the fraction of
//   (MemAvailable at start + the weights' file size) that weights and KV together may use, so
//   kv_bytes = fraction * (mem_available + weight_bytes) - weight_bytes. Weights are mmapped, so
//   their pages count against the same physical memory as the KV pool.
#include <cstdint>
#include <string>

#include "model/config.h"
#include "model/kv_cache.h"

namespace glm {

struct KvBudget {
  int64_t tokens = 0;
  int64_t bytes_per_token = 0;  // K + V over all layers in the pool's KV dtype
};

// bytes_per_token: kv_bytes_per_token() of the model and KV dtype. Throws GlmError(InvalidArgument) when the
// fraction leaves no room for even one page.
KvBudget kv_budget(int64_t max_total_tokens, double mem_fraction_static, const std::string& model_dir,
                   int64_t bytes_per_token, int64_t page_size);

// K + V bytes of one token over the target model's layers: 2 * L * kv_heads * head_dim * bytes(dtype),
// exactly what KvPagePool allocates per token (model/kv_cache.h).
inline int64_t kv_bytes_per_token(const ModelConfig& c, KvDType dtype) {
  return KvPagePool::bytes_per_token(c.num_hidden_layers, c.kv_dim(), dtype);
}

// MemAvailable of /proc/meminfo in bytes (0 when unreadable).
int64_t mem_available_bytes();
// Sum of the *.safetensors file sizes in model_dir.
int64_t weight_file_bytes(const std::string& model_dir);

}  // namespace glm
