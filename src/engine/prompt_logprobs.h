#pragma once
// Log-probabilities of prompt tokens (SGLang's input_token_logprobs, asked for with logprob_start_len
// >= 0 on /generate, or echo + logprobs on /v1/completions). Row j of a prefill chunk's logits is the
// model's distribution for the token after position first_pos + j, so it scores prompt[first_pos + j + 1].
#include <cstdint>
#include <span>
#include <vector>

#include "engine/request.h"

namespace glm {

// Appends one entry per prompt position p in [max(start_len, 1), prompt.size()) that the rows cover
// (rows are positions first_pos .. first_pos + n_rows - 1, each `vocab` floats of raw logits).
// Logprobs are log_softmax of the raw logits (no temperature/penalties, as SGLang reports input
// logprobs); `top_n` best alternatives per position, best first, ties to the lower id.
void append_prompt_logprobs(const float* rows, int64_t n_rows, int64_t vocab, int64_t first_pos,
                            std::span<const int32_t> prompt, int64_t start_len, int top_n,
                            std::vector<TokenLogprob>& out);

}  // namespace glm
