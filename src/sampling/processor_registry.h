#pragma once
// Maps a request's `custom_logit_processor` string to a built-in processor. We cannot (and must not)
// unpickle Python, so the class is recognised by name:
//   - SGLang's `Processor.to_str()` JSON, {"callable": "<hex of a dill pickle of the class>"}: the
//     pickle's opcodes are scanned (never executed) for a known class name;
//   - or the bare class name, e.g. "Glm4MoeThinkingBudgetLogitProcessor";
//   - or JSON {"name": "<class name>"}.
// Known classes: Glm4MoeThinkingBudgetLogitProcessor, Qwen3ThinkingBudgetLogitProcessor,
// DeepSeekR1ThinkingBudgetLogitProcessor, ThinkingBudgetLogitProcessor (uses the tokens given here),
// DisallowedTokensLogitsProcessor, ForcedSequenceLogitProcessor. Anything else, or a malformed
// string, throws GlmError(InvalidArgument) with the reason -> HTTP 400.
#include <memory>
#include <string>
#include <string_view>

#include "sampling/logit_processor.h"

namespace glm::sampling {

// The SGLang class name a custom_logit_processor string refers to (see above); throws on failure.
std::string identify_logit_processor(std::string_view custom_logit_processor);

// A shared, stateless processor for the string. `thinking_tokens` are the model's ids (from the
// tokenizer) used by the model-specific thinking-budget class of the served model family and by the
// generic ThinkingBudgetLogitProcessor; the Qwen3 / DeepSeek-R1 classes keep SGLang's constants.
std::shared_ptr<const LogitProcessor> resolve_logit_processor(std::string_view custom_logit_processor,
                                                              const ThinkingBudgetTokens& thinking_tokens =
                                                                  glm4_moe_thinking_tokens());

}  // namespace glm::sampling
