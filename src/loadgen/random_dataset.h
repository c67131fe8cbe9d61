#pragma once
// sglang.bench_serving's "random" dataset: num_prompts requests whose input and output lengths are
// drawn uniformly from [max(1, floor(len * range_ratio)), len] (range_ratio 1 = fixed lengths), with
// prompts of uniformly random ordinary token ids (never added/special tokens such as EOS or
// <think>, which would change what the model does rather than how much work it gets).
//   as_text = false ("random-ids"): the ids are sent as they are (input_ids, or a token-id prompt),
//                                   so the prompt length is exact;
//   as_text = true  ("random"):      the ids are decoded to text, as SGLang does; re-tokenizing
//                                   that text on the server may give a slightly different count.
// The same seed gives the same requests.
#include <cstdint>
#include <vector>

#include "loadgen/request_record.h"
#include "tokenizer/tokenizer.h"

namespace glm::loadgen {

struct RandomDatasetOptions {
  int num_prompts = 1000;
  int input_len = 1024, output_len = 1024;
  double range_ratio = 0.0;
  uint32_t seed = 1;
  bool as_text = false;
};

// Throws GlmError(InvalidArgument) for lengths < 1, a ratio outside [0, 1] or a tokenizer without
// ordinary tokens.
std::vector<PromptSpec> make_random_dataset(const RandomDatasetOptions& opt, const Tokenizer& tok);

}  // namespace glm::loadgen
