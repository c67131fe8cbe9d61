#pragma once
// Request bodies of the OpenAI-compatible and native routes, parsed and type-checked.
// Field names, defaults and checks follow SGLang's protocol.py / io_struct.py. Parsing throws
// ApiException (400) naming the offending field; nothing here touches the model.
#include <optional>
#include <string>
#include <vector>

#include "serving/json.h"

#include "engine/request.h"

namespace glm::serving {

enum class ToolChoiceMode { Auto, None, Required, Named };

struct ToolChoice {
  ToolChoiceMode mode = ToolChoiceMode::Auto;
  std::string name;  // for Named
};

// Sampling fields shared by chat and completions (SGLang "extra parameters" included).
struct SamplingFields {
  std::optional<float> temperature, top_p, min_p, repetition_penalty;
  std::optional<int> top_k;
  float frequency_penalty = 0, presence_penalty = 0;
  int min_tokens = 0;
  std::vector<std::string> stop;
  std::vector<std::string> stop_regex;  // SGLang: stop once the output has a match (engine/stop_regex.h)
  std::vector<int32_t> stop_token_ids;
  bool ignore_eos = false, no_stop_trim = false, skip_special_tokens = true;
  std::optional<uint64_t> seed;
  std::vector<std::pair<int32_t, float>> logit_bias;  // OpenAI/SGLang logit_bias {"token id": bias}
  std::string regex, json_schema, ebnf;
  std::optional<std::string> custom_logit_processor;
  Json custom_params = nullptr;
};

struct ChatRequest {
  std::string model = "default";
  Json messages;          // array of validated message objects
  Json tools = nullptr;   // array of {"type":"function","function":{...}} or null
  ToolChoice tool_choice;
  bool parallel_tool_calls = true;
  std::optional<int> max_tokens;    // max_completion_tokens, else max_tokens
  int n = 1;
  bool stream = false, include_usage = false, continuous_usage_stats = false;
  bool logprobs = false;
  int top_logprobs = 0;
  bool separate_reasoning = true, stream_reasoning = true;
  Json chat_template_kwargs = Json::object();
  std::optional<std::string> reasoning_effort;
  bool continue_final_message = false;
  std::optional<std::vector<int32_t>> input_ids;
  std::optional<std::string> rid;
  std::string response_format = "text";  // text | json_object | json_schema
  SamplingFields sampling;
};

struct CompletionRequest {
  std::string model = "default";
  // Each prompt is either text or token ids.
  std::vector<std::string> prompt_texts;
  std::vector<std::vector<int32_t>> prompt_ids;
  int max_tokens = 16;
  int n = 1;
  bool echo = false;
  std::optional<int> logprobs;  // number of top alternatives
  bool stream = false, include_usage = false, continuous_usage_stats = false;
  std::optional<std::string> suffix;
  std::optional<std::string> rid;
  SamplingFields sampling;
};

// POST /generate (SGLang GenerateReqInput), single or batch.
struct NativeGenerateRequest {
  std::vector<std::string> texts;                 // or
  std::vector<std::vector<int32_t>> input_ids;
  bool batch = false;                             // text / input_ids was a list of prompts
  SamplingParams sampling;                        // every prompt's, unless sampling_per_prompt is set
  std::vector<SamplingParams> sampling_per_prompt;  // sampling_params given as a list (one per prompt)
  int n = 1;                                      // sampling_params.n: samples per prompt (list output)
  bool stream = false;
  bool return_logprob = false;
  int top_logprobs_num = 0;
  int logprob_start_len = -1;                     // >= 0 (with return_logprob): prompt logprobs from here
  std::vector<std::string> rids;                  // empty = generate
  std::optional<std::string> custom_logit_processor;
};

ChatRequest parse_chat_request(const Json& body);
CompletionRequest parse_completion_request(const Json& body);
NativeGenerateRequest parse_generate_request(const Json& body);

// Fills engine sampling parameters from request fields; `preferred` = generation_config.json
// defaults (used when the request leaves temperature/top_p/top_k/min_p/repetition_penalty unset).
SamplingParams to_sampling_params(const SamplingFields& f, const Json& preferred, float default_temperature);

}  // namespace glm::serving
