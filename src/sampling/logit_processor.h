#pragma once
// Custom logit processors (SGLang's `custom_logit_processor` + `custom_params`, spec §5). A processor
// edits one request's raw logits row after penalties and before temperature / top-k / top-p; -inf
// entries get zero probability. Processors keep no per-request state: everything is recomputed from
// the token history, as in SGLang.
//
// Server use: resolve the request's string once (processor_registry.h), then per decode step
//   processor->apply(row, {prompt_ids, output_ids, &custom_params});
// Sampler::set_logit_processor does that for you.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace glm::sampling {

struct ProcessorContext {
  std::span<const int32_t> prompt_ids;  // the request's prompt (SGLang origin_input_ids)
  std::span<const int32_t> output_ids;  // tokens generated so far
  const nlohmann::json* custom_params = nullptr;  // the request's custom_params (null/absent -> nullptr)
};

class LogitProcessor {
 public:
  virtual ~LogitProcessor() = default;
  virtual std::string_view name() const = 0;
  // logits: one row, vocab_size entries, edited in place.
  virtual void apply(std::span<float> logits, const ProcessorContext& ctx) const = 0;
};

// Token ids the thinking-budget processor works with (from the tokenizer, not hard-coded by callers).
struct ThinkingBudgetTokens {
  int32_t think_start = 0;  // "<think>"
  int32_t think_end = 0;    // "</think>"
  // Ids that count as "the newline was already emitted". SGLang uses exactly one id (198 for GLM and
  // Qwen3); a set such as {198, 271} ("\n", "\n\n") also accepts a double newline. The first id is the
  // one forced.
  std::vector<int32_t> newline_ids;
};

ThinkingBudgetTokens glm4_moe_thinking_tokens();  // <think>=151350, </think>=151351, "\n"=198
ThinkingBudgetTokens qwen3_thinking_tokens();     // 151667, 151668, 198
ThinkingBudgetTokens deepseek_r1_thinking_tokens();  // 128798, 128799, 201

// SGLang ThinkingBudgetLogitProcessor: custom_params {"thinking_budget": int >= 0}. Once the number
// of tokens after the FIRST <think> in prompt+output reaches the budget (and no </think> occurs
// anywhere), forces "\n" and then "</think>".
class ThinkingBudgetProcessor : public LogitProcessor {
 public:
  explicit ThinkingBudgetProcessor(ThinkingBudgetTokens tokens, std::string name = "ThinkingBudgetLogitProcessor");
  std::string_view name() const override { return name_; }
  void apply(std::span<float> logits, const ProcessorContext& ctx) const override;

 private:
  ThinkingBudgetTokens tokens_;
  std::string name_;
};

// SGLang DisallowedTokensLogitsProcessor: custom_params {"token_ids": [ids]} get -inf.
class DisallowedTokensProcessor : public LogitProcessor {
 public:
  std::string_view name() const override { return "DisallowedTokensLogitsProcessor"; }
  void apply(std::span<float> logits, const ProcessorContext& ctx) const override;
};

// Forces a token sequence, one token per step: at output position n < len(sequence) every logit but
// sequence[n] becomes -inf (that one becomes 0); afterwards the row is untouched. The sequence comes
// from custom_params {"forced_token_ids": [ids]}, else from the constructor. Lets tests make any
// model emit a chosen text (e.g. a tool call).
class ForcedSequenceProcessor : public LogitProcessor {
 public:
  explicit ForcedSequenceProcessor(std::vector<int32_t> sequence = {}) : sequence_(std::move(sequence)) {}
  std::string_view name() const override { return "ForcedSequenceLogitProcessor"; }
  void apply(std::span<float> logits, const ProcessorContext& ctx) const override;

 private:
  std::vector<int32_t> sequence_;
};

// Sets the row to -inf everywhere except `token` (0 there); ignores out-of-range ids.
void force_single_token(std::span<float> logits, int32_t token);

}  // namespace glm::sampling
