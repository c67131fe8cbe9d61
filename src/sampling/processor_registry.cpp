#include "sampling/processor_registry.h"

#include <algorithm>
#include <array>

#include "core/error.h"
#include "sampling/pickle_scan.h"

namespace glm::sampling {

namespace {

// Most specific first: a subclass pickled by value also mentions its base class.
constexpr std::array<std::string_view, 6> kKnownClasses = {
    "Glm4MoeThinkingBudgetLogitProcessor", "Qwen3ThinkingBudgetLogitProcessor",
    "DeepSeekR1ThinkingBudgetLogitProcessor", "DisallowedTokensLogitsProcessor",
    "ForcedSequenceLogitProcessor", "ThinkingBudgetLogitProcessor",
};

constexpr std::array<std::string_view, 2> kUnsupportedClasses = {
    "DeepseekOCRNoRepeatNGramLogitProcessor", "CustomLogitProcessor",
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool is_known(std::string_view name) {
  return std::find(kKnownClasses.begin(), kKnownClasses.end(), name) != kKnownClasses.end();
}

// The last dotted component ("pkg.mod.Class" -> "Class").
std::string_view last_component(std::string_view name) {
  size_t dot = name.rfind('.');
  return dot == std::string_view::npos ? name : name.substr(dot + 1);
}

std::string identify_from_pickle(std::string_view hex) {
  auto bytes = decode_hex(trim(hex));
  if (!bytes) fail(ErrorKind::InvalidArgument, "custom_logit_processor: 'callable' is not a hex string");
  auto scanned = scan_pickle_strings(*bytes);
  if (!scanned) fail(ErrorKind::InvalidArgument, "custom_logit_processor: 'callable' is not a valid pickle");
  for (std::string_view known : kKnownClasses)
    for (const auto& s : scanned->strings)
      if (last_component(s) == known) return std::string(known);
  for (std::string_view unsupported : kUnsupportedClasses)
    for (const auto& s : scanned->strings)
      if (last_component(s) == unsupported)
        fail(ErrorKind::InvalidArgument, "custom_logit_processor: {} is not supported by this server", unsupported);
  fail(ErrorKind::InvalidArgument,
       "custom_logit_processor: the pickled class is not a known logit processor (supported: "
       "Glm4MoeThinkingBudgetLogitProcessor, ThinkingBudgetLogitProcessor, DisallowedTokensLogitsProcessor, "
       "ForcedSequenceLogitProcessor)");
}

}  // namespace

std::string identify_logit_processor(std::string_view custom_logit_processor) {
  std::string_view text = trim(custom_logit_processor);
  if (text.empty()) fail(ErrorKind::InvalidArgument, "custom_logit_processor is empty");
  if (text.front() == '{') {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      fail(ErrorKind::InvalidArgument, "custom_logit_processor: not valid JSON");
    if (auto it = j.find("callable"); it != j.end()) {
      if (!it->is_string()) fail(ErrorKind::InvalidArgument, "custom_logit_processor: 'callable' must be a string");
      return identify_from_pickle(it->get<std::string>());
    }
    if (auto it = j.find("name"); it != j.end() && it->is_string()) text = it->get_ref<const std::string&>();
    else fail(ErrorKind::InvalidArgument, "custom_logit_processor: expected a 'callable' field");
    std::string_view name = last_component(trim(text));
    if (is_known(name)) return std::string(name);
    fail(ErrorKind::InvalidArgument, "custom_logit_processor: unknown processor '{}'", name);
  }
  std::string_view name = last_component(text);
  if (is_known(name)) return std::string(name);
  fail(ErrorKind::InvalidArgument, "custom_logit_processor: unknown processor '{}'", text.substr(0, 80));
}

std::shared_ptr<const LogitProcessor> resolve_logit_processor(std::string_view custom_logit_processor,
                                                              const ThinkingBudgetTokens& thinking_tokens) {
  const std::string name = identify_logit_processor(custom_logit_processor);
  if (name == "Glm4MoeThinkingBudgetLogitProcessor" || name == "ThinkingBudgetLogitProcessor")
    return std::make_shared<ThinkingBudgetProcessor>(thinking_tokens, name);
  if (name == "Qwen3ThinkingBudgetLogitProcessor")
    return std::make_shared<ThinkingBudgetProcessor>(qwen3_thinking_tokens(), name);
  if (name == "DeepSeekR1ThinkingBudgetLogitProcessor")
    return std::make_shared<ThinkingBudgetProcessor>(deepseek_r1_thinking_tokens(), name);
  if (name == "DisallowedTokensLogitsProcessor") return std::make_shared<DisallowedTokensProcessor>();
  return std::make_shared<ForcedSequenceProcessor>();
}

}  // namespace glm::sampling
