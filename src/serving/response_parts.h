#pragma once
// Small pieces shared by the chat, completion and native responses: finish reasons, usage,
// logprobs, SSE framing, prompt-length checks.
#include <string>
#include <vector>

#include "engine/request.h"
#include "serving/json.h"
#include "serving/serving_context.h"

namespace glm::serving {

// "stop" | "length" | "abort" | null.
Json finish_reason_json(const GenerateOutput& out);
// The stop string or token id that ended generation, or null.
Json matched_stop_json(const GenerateOutput& out);

struct ChoiceUsage {
  int prompt_tokens = 0, completion_tokens = 0, cached_tokens = 0, reasoning_tokens = 0;
};
// SGLang UsageInfo; prompt tokens counted once per prompt (every n-th choice), cached tokens
// reported only with --enable-cache-report.
Json usage_json(const std::vector<ChoiceUsage>& choices, int n, bool cache_report);

// One SSE event: "data: <json>\n\n".
std::string sse_event(const Json& payload);
inline const char* sse_done() { return "data: [DONE]\n\n"; }

// Chat logprobs entries ({token, bytes, logprob, top_logprobs}) appended to `content`.
void append_chat_logprobs(Json& content, const std::vector<TokenLogprob>& lps, const TextBackend& text);
// Completion logprobs (tokens, token_logprobs, top_logprobs, text_offset) appended in place.
void append_completion_logprobs(Json& logprobs, const std::vector<TokenLogprob>& lps, const TextBackend& text,
                                size_t& text_offset);

// Checks prompt + max_new_tokens against the context (tokenizer_manager._validate_one_request):
// 400 with SGLang's message, or truncation with --allow-auto-truncate. Fills max_new_tokens
// when the request left it unset (the rest of the context).
void fit_to_context(const ServingContext& ctx, std::vector<int32_t>& prompt, SamplingParams& sp, bool max_set);

// The --enable-custom-logit-processor gate (400 with SGLang's message).
void check_custom_logit_processor_allowed(const ServingContext& ctx, const SamplingParams& sp);

int64_t unix_time_now();

}  // namespace glm::serving
