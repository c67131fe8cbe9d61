#pragma once
// What a generation request is, as the engine sees it: token ids in, tokens and text out.
// The serving layer (OpenAI / native API) builds these; the scheduler consumes them.
// Field names and defaults follow SGLang's SamplingParams / GenerateReqInput.
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace glm {

struct SamplingParams {
  float temperature = 1.0f;  // 0 = greedy
  float top_p = 1.0f;
  int top_k = -1;            // -1 = off
  float min_p = 0.0f;
  int max_new_tokens = 128;
  int min_new_tokens = 0;
  std::vector<std::string> stop;         // stop strings (matched on detokenized text)
  std::vector<std::string> stop_regex;   // SGLang's stop_regex: stop once the text has a match (engine/stop_regex.h)
  std::vector<int32_t> stop_token_ids;   // in addition to the model's EOS ids (unless ignore_eos)
  bool ignore_eos = false;
  bool skip_special_tokens = true;
  bool spaces_between_special_tokens = true;
  bool no_stop_trim = false;             // keep the matched stop string in the output text
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  float repetition_penalty = 1.0f;
  std::optional<uint64_t> seed;
  std::vector<std::pair<int32_t, float>> logit_bias;  // added to the token's logit before sampling
  // Constrained decoding (engine/output_constraints.h). json_schema: JSON text or empty; enforced as
  // JSON syntax plus the subset of sampling/json_schema_recognizer.h (response_format json_object ->
  // {"type": "object"}). regex: the whole output must match (sampling/regex_nfa.h syntax).
  std::string json_schema;
  std::string regex;
  // ebnf: the whole output is a sentence of the grammar's root rule (xgrammar / GBNF syntax;
  // recursion included, sampling/ebnf_grammar.h). At most one of json_schema, regex, ebnf.
  std::string ebnf;
  // With json_schema or regex: unconstrained until the first "</think>" of the output (the request reasons
  // first; SGLang's reasoner grammar).
  bool constrain_after_reasoning = false;
  // With regex: added tokens (<arg_key>, </tool_call>, ...) are text the pattern may spell, not refused
  // (the tool-call grammar of tool_choice "required" / named; set by the server, not by clients).
  bool regex_added_tokens_as_text = false;
  // The output must begin with one of these texts, then is free (tool_choice "required" with
  // several tools: each allowed name plus the tool parser's separator). Empty: no constraint.
  std::vector<std::string> output_prefix_choices;
  // Custom logit processor (SGLang: custom_logit_processor string + custom_params dict).
  std::string custom_logit_processor;
  nlohmann::json custom_params;  // null when absent
};

struct GenerateRequest {
  std::string rid;                 // unique per request; the key for abort
  std::vector<int32_t> input_ids;  // the full prompt
  SamplingParams sampling;
  bool return_logprob = false;
  int top_logprobs_num = 0;        // top alternatives reported per output token
  // >= 0: also score the prompt tokens from this position on (SGLang logprob_start_len; -1 = output
  // only). Such a request recomputes those positions instead of taking them from the prefix cache.
  int logprob_start_len = -1;
  bool return_hidden_states = false;
};

enum class FinishReason { None, Stop, Length, Abort };

struct TokenLogprob {
  int32_t token_id = 0;
  float logprob = 0.0f;
  std::vector<std::pair<int32_t, float>> top;  // (token id, logprob), best first
};

// One event per request per scheduler iteration in which the request made progress.
struct GenerateOutput {
  std::string rid;
  std::vector<int32_t> new_token_ids;  // tokens produced since the previous event
  std::string new_text;                // their text (incremental detokenization; stop text trimmed)
  std::vector<TokenLogprob> logprobs;  // one per new token when return_logprob
  // Prompt positions max(logprob_start_len, 1) .. end, all in the request's first event.
  std::vector<TokenLogprob> input_logprobs;
  bool finished = false;
  FinishReason finish_reason = FinishReason::None;
  // What ended it: a stop string, a stop token id, or nothing (EOS reports its id, as SGLang does).
  std::variant<std::monostate, std::string, int32_t> matched_stop;
  std::string abort_message;           // set when finish_reason == Abort
  int prompt_tokens = 0;
  int completion_tokens = 0;           // so far
  int cached_tokens = 0;               // prompt tokens served from the prefix cache
  int spec_verify_ct = 0;              // speculative rounds (0 without speculation)
  int spec_accepted_tokens = 0;        // drafts accepted (SGLang meta_info spec_accept_token_num)
  int spec_draft_tokens = 0;           // drafts verified (spec_draft_token_num)
};

}  // namespace glm
