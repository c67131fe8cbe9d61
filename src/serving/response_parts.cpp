#include "serving/response_parts.h"

#include <chrono>

#include "serving/api_error.h"

namespace glm::serving {

Json finish_reason_json(const GenerateOutput& out) {
  switch (out.finish_reason) {
    case FinishReason::Stop: return "stop";
    case FinishReason::Length: return "length";
    case FinishReason::Abort: return "abort";
    case FinishReason::None: break;
  }
  return nullptr;
}

Json matched_stop_json(const GenerateOutput& out) {
  if (auto* s = std::get_if<std::string>(&out.matched_stop)) return *s;
  if (auto* id = std::get_if<int32_t>(&out.matched_stop)) return *id;
  return nullptr;
}

Json usage_json(const std::vector<ChoiceUsage>& choices, int n, bool cache_report) {
  int prompt = 0, completion = 0, cached = 0, reasoning = 0;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (n <= 1 || i % static_cast<size_t>(n) == 0) {
      prompt += choices[i].prompt_tokens;
      cached += choices[i].cached_tokens;
    }
    completion += choices[i].completion_tokens;
    reasoning += choices[i].reasoning_tokens;
  }
  Json u = Json::object();
  u["prompt_tokens"] = prompt;
  u["total_tokens"] = prompt + completion;
  u["completion_tokens"] = completion;
  u["prompt_tokens_details"] = cache_report && cached > 0 ? Json{{"cached_tokens", cached}} : Json(nullptr);
  u["reasoning_tokens"] = reasoning;
  return u;
}

std::string sse_event(const Json& payload) {
  // Invalid UTF-8 from a cut multi-byte token is replaced, never a thrown exception mid-stream.
  return "data: " + payload.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n\n";
}

namespace {
Json bytes_of(const std::string& s) {
  Json b = Json::array();
  for (unsigned char c : s) b.push_back(static_cast<int>(c));
  return b;
}
}  // namespace

void append_chat_logprobs(Json& content, const std::vector<TokenLogprob>& lps, const TextBackend& text) {
  for (const auto& lp : lps) {
    std::string tok = text.token_text(lp.token_id);
    Json top = Json::array();
    for (const auto& [id, v] : lp.top) {
      std::string t = text.token_text(id);
      top.push_back({{"token", t}, {"bytes", bytes_of(t)}, {"logprob", v}});
    }
    content.push_back({{"token", tok}, {"bytes", bytes_of(tok)}, {"logprob", lp.logprob}, {"top_logprobs", top}});
  }
}

void append_completion_logprobs(Json& logprobs, const std::vector<TokenLogprob>& lps, const TextBackend& text,
                                size_t& text_offset) {
  for (const auto& lp : lps) {
    std::string tok = text.token_text(lp.token_id);
    logprobs["text_offset"].push_back(text_offset);
    text_offset += tok.size();
    logprobs["token_logprobs"].push_back(lp.logprob);
    logprobs["tokens"].push_back(tok);
    Json top = Json::object();
    for (const auto& [id, v] : lp.top) top[text.token_text(id)] = v;
    logprobs["top_logprobs"].push_back(lp.top.empty() ? Json(nullptr) : top);
  }
}

void fit_to_context(const ServingContext& ctx, std::vector<int32_t>& prompt, SamplingParams& sp, bool max_set) {
  for (const auto& [id, bias] : sp.logit_bias)
    if (ctx.model.vocab_size > 0 && id >= ctx.model.vocab_size)
      bad_request(fmt::format("logit_bias: token id {} is outside the vocabulary (size {}).", id, ctx.model.vocab_size));
  const int64_t context = ctx.model.context_length;
  const bool truncate = ctx.args && ctx.args->allow_auto_truncate;
  int64_t input = static_cast<int64_t>(prompt.size());
  if (context <= 0) return;
  if (input >= context) {
    if (!truncate)
      bad_request(fmt::format("The input ({} tokens) is longer than the model's context length ({} tokens).", input,
                              context));
    prompt.resize(static_cast<size_t>(context - 1));
    input = context - 1;
  }
  if (!max_set) {
    sp.max_new_tokens = static_cast<int>(context - input);
    return;
  }
  if (sp.max_new_tokens + input > context) {
    if (!truncate)
      bad_request(fmt::format(
          "Requested token count exceeds the model's maximum context length of {} tokens. You requested a total of "
          "{} tokens: {} tokens from the input messages and {} tokens for the completion. Please reduce the number "
          "of tokens in the input messages or the completion to fit within the limit.",
          context, sp.max_new_tokens + input, input, sp.max_new_tokens));
    sp.max_new_tokens = static_cast<int>(context - input);
  }
}

void check_custom_logit_processor_allowed(const ServingContext& ctx, const SamplingParams& sp) {
  if (!sp.custom_logit_processor.empty() && !(ctx.args && ctx.args->enable_custom_logit_processor))
    bad_request(
        "The server is not configured to enable custom logit processor. Please set "
        "`--enable-custom-logit-processor` to enable this feature.");
}

int64_t unix_time_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace glm::serving
