#include "sampling/logit_processor.h"

#include <algorithm>
#include <limits>

#include "core/error.h"

namespace glm::sampling {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

const nlohmann::json* param(const ProcessorContext& ctx, const char* key) {
  if (!ctx.custom_params || !ctx.custom_params->is_object()) return nullptr;
  auto it = ctx.custom_params->find(key);
  return it == ctx.custom_params->end() ? nullptr : &*it;
}

}  // namespace

void force_single_token(std::span<float> logits, int32_t token) {
  std::fill(logits.begin(), logits.end(), kNegInf);
  if (token >= 0 && static_cast<size_t>(token) < logits.size()) logits[static_cast<size_t>(token)] = 0.0f;
}

ThinkingBudgetTokens glm4_moe_thinking_tokens() { return {151350, 151351, {198}}; }
ThinkingBudgetTokens qwen3_thinking_tokens() { return {151667, 151668, {198}}; }
ThinkingBudgetTokens deepseek_r1_thinking_tokens() { return {128798, 128799, {201}}; }

ThinkingBudgetProcessor::ThinkingBudgetProcessor(ThinkingBudgetTokens tokens, std::string name)
    : tokens_(std::move(tokens)), name_(std::move(name)) {
  if (tokens_.newline_ids.empty()) fail(ErrorKind::InvalidArgument, "thinking budget: no newline token id");
}

void ThinkingBudgetProcessor::apply(std::span<float> logits, const ProcessorContext& ctx) const {
  const nlohmann::json* budget_json = param(ctx, "thinking_budget");
  // SGLang: `isinstance(budget, int) and budget >= 0` (a bool is an int in Python too).
  if (!budget_json || !(budget_json->is_number_integer() || budget_json->is_boolean())) return;
  int64_t budget = budget_json->is_boolean() ? (budget_json->get<bool>() ? 1 : 0) : budget_json->get<int64_t>();
  if (budget < 0) return;

  // ids = prompt + output, scanned without concatenating.
  const size_t total = ctx.prompt_ids.size() + ctx.output_ids.size();
  auto at = [&](size_t i) { return i < ctx.prompt_ids.size() ? ctx.prompt_ids[i] : ctx.output_ids[i - ctx.prompt_ids.size()]; };
  size_t start = total;
  for (size_t i = 0; i < total; ++i) {
    int32_t id = at(i);
    if (id == tokens_.think_end) return;  // thinking already closed (anywhere in the history)
    if (id == tokens_.think_start && start == total) start = i;
  }
  if (start == total) return;  // not thinking
  const int64_t after_start = static_cast<int64_t>(total - start - 1);
  if (after_start < budget) return;
  const bool newline_emitted =
      !ctx.output_ids.empty() && std::find(tokens_.newline_ids.begin(), tokens_.newline_ids.end(),
                                           ctx.output_ids.back()) != tokens_.newline_ids.end();
  force_single_token(logits, newline_emitted ? tokens_.think_end : tokens_.newline_ids.front());
}

void DisallowedTokensProcessor::apply(std::span<float> logits, const ProcessorContext& ctx) const {
  const nlohmann::json* ids = param(ctx, "token_ids");
  if (!ids) return;
  if (!ids->is_array()) fail(ErrorKind::InvalidArgument, "custom_params.token_ids must be a list of token ids");
  for (const auto& v : *ids) {
    if (!v.is_number_integer()) fail(ErrorKind::InvalidArgument, "custom_params.token_ids must contain integers");
    const int64_t id = v.get<int64_t>();
    if (id >= 0 && static_cast<uint64_t>(id) < logits.size()) logits[static_cast<size_t>(id)] = kNegInf;
  }
}

void ForcedSequenceProcessor::apply(std::span<float> logits, const ProcessorContext& ctx) const {
  const nlohmann::json* ids = param(ctx, "forced_token_ids");
  const size_t step = ctx.output_ids.size();
  if (ids) {
    if (!ids->is_array()) fail(ErrorKind::InvalidArgument, "custom_params.forced_token_ids must be a list");
    if (step >= ids->size()) return;
    const auto& v = (*ids)[step];
    if (!v.is_number_integer()) fail(ErrorKind::InvalidArgument, "custom_params.forced_token_ids must contain integers");
    force_single_token(logits, v.get<int32_t>());
    return;
  }
  if (step < sequence_.size()) force_single_token(logits, sequence_[step]);
}

}  // namespace glm::sampling
