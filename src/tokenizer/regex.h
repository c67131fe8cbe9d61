#pragma once
// PCRE2 regex for the pre-tokenizer patterns of tokenizer.json (written for Oniguruma; the GPT-2,
// cl100k, GLM and Qwen patterns use \p{L}, \p{N}, \s, (?i:...) and look-ahead, which PCRE2 with
// UTF + UCP reads the same way). Compiled with JIT. Subjects must be valid UTF-8 (not re-checked).
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace glm {

class Regex {
 public:
  // `literal` treats the pattern as a plain string (tokenizers' {"String": ...} patterns).
  Regex(std::string_view pattern, bool literal, std::string_view context);

  // First match starting at or after byte `start`; false when there is none. Thread-safe.
  bool find(std::string_view subject, size_t start, size_t& match_begin, size_t& match_end) const;

  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  std::shared_ptr<void> code_;  // pcre2_code_8
};

}  // namespace glm
