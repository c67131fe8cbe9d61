#pragma once
// What the bench client learns about one request, and what it sends (shared by the dataset, the
// HTTP client and the statistics).
#include <cstdint>
#include <string>
#include <vector>

namespace glm::loadgen {

// One benchmark request: a prompt as token ids (sent as input_ids / a token-id prompt) or as text.
struct PromptSpec {
  std::vector<int32_t> ids;
  std::string text;
  bool use_ids = true;
  int64_t prompt_len = 0;  // tokens (exact for ids; for text, the server's count replaces it when reported)
  int64_t output_len = 0;  // max_new_tokens / max_tokens
};

// Timings are seconds from the moment the request was sent.
struct RequestRecord {
  bool success = false;
  std::string error;
  int64_t prompt_len = 0, output_len = 0, cached_tokens = 0;
  double ttft = 0, latency = 0;
  std::vector<double> itl;  // one entry per output token after the first (a chunk of n tokens: n equal gaps)
  std::string generated_text;
};

}  // namespace glm::loadgen
