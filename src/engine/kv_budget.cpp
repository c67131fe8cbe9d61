#include "engine/kv_budget.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace glm {

int64_t mem_available_bytes() {
  std::ifstream f("/proc/meminfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("MemAvailable:", 0) != 0) continue;
    std::istringstream ss(line.substr(13));
    int64_t kib = 0;
    ss >> kib;
    return kib * 1024;
  }
  return 0;
}

int64_t weight_file_bytes(const std::string& model_dir) {
  int64_t total = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(model_dir, ec))
    if (e.is_regular_file() && e.path().extension() == ".safetensors") total += int64_t(e.file_size());
  return total;
}

KvBudget kv_budget(int64_t max_total_tokens, double mem_fraction_static, const std::string& model_dir,
                   int64_t bytes_per_token, int64_t page_size) {
  KvBudget b;
  b.bytes_per_token = bytes_per_token;
  if (max_total_tokens > 0) {
    b.tokens = (max_total_tokens + page_size - 1) / page_size * page_size;
    return b;
  }
  if (mem_fraction_static <= 0 || mem_fraction_static > 1)
    fail(ErrorKind::InvalidArgument, "mem_fraction_static must be in (0, 1], got {}", mem_fraction_static);
  const int64_t weights = weight_file_bytes(model_dir);
  const double usable = mem_fraction_static * double(mem_available_bytes() + weights) - double(weights);
  b.tokens = int64_t(usable / double(bytes_per_token)) / page_size * page_size;
  if (b.tokens < page_size)
    fail(ErrorKind::InvalidArgument,
         "mem_fraction_static {} leaves no memory for the KV cache (weights {} bytes in {}); raise it or set "
         "max_total_tokens", mem_fraction_static, weights, model_dir);
  return b;
}

}  // namespace glm
