#pragma once
// SGLang's `stop_regex`: a request stops once its output text contains a match of one of the patterns,
// as Python's re.search over the decoded text after each token (sampling/regex_nfa.h syntax; a leading ^
// anchors at the start of the output, a trailing $ at its end, before a final newline too). As in SGLang
// the text is not trimmed (its detokenizer trims only a matched stop found literally in the text) and the
// finish reason names the pattern.
// Each pattern runs as a lazy DFA over "any bytes, then the pattern", fed the new text once: O(1) per byte.
#include <memory>
#include <string>
#include <vector>

#include "sampling/regex_dfa.h"

namespace glm {

class StopRegexMatcher {
 public:
  static constexpr size_t kMaxPatterns = 16;
  StopRegexMatcher() = default;
  // Throws GlmError(InvalidArgument) for a pattern the regex engine refuses, naming it.
  explicit StopRegexMatcher(const std::vector<std::string>& patterns);

  bool empty() const { return patterns_.empty(); }
  // Reads text[fed, text.size()) (text only grows between calls). Returns the first pattern that now has
  // a match, or nullptr. Throws GlmError(InvalidArgument) if a pattern needs more DFA states than allowed.
  const std::string* advance(const std::string& text);

 private:
  struct Pattern {
    std::string source;
    bool anchored_end = false;
    std::unique_ptr<sampling::RegexDfa> dfa;
    int32_t state = 0;
  };
  std::vector<Pattern> patterns_;
  size_t fed_ = 0;
};

}  // namespace glm
