#pragma once
// tokenizer.json "normalizer": applied to the text between added tokens before pre-tokenization.
// Supported: null, Sequence, Replace, Prepend, Strip, NFC, NFD, NFKC, NFKD and Lowercase (the Unicode
// ones through ICU). Anything else is rejected at load time with a clear error rather than silently
// encoding differently from Hugging Face tokenizers.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/regex.h"

namespace glm {

class Normalizer {
 public:
  // `json` is the "normalizer" value (null allowed: then is_identity()).
  static Normalizer from_json(const nlohmann::json& json);

  bool is_identity() const { return steps_.empty(); }
  std::string normalize(std::string_view text) const;

 private:
  struct Step {
    enum class Kind { Replace, Prepend, StripLeft, StripRight, Unicode, Lowercase } kind;
    std::shared_ptr<Regex> pattern;  // Replace
    std::string content;             // Replace / Prepend
    const void* unicode_form = nullptr;  // Unicode: the ICU Normalizer2 instance (NFC, NFD, NFKC, NFKD)
  };
  static void add_steps(const nlohmann::json& json, std::vector<Step>& steps);
  std::vector<Step> steps_;
};

}  // namespace glm
