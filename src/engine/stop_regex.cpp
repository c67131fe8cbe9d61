#include "engine/stop_regex.h"

#include "core/error.h"

namespace glm {

StopRegexMatcher::StopRegexMatcher(const std::vector<std::string>& patterns) {
  // Each pattern's DFA may grow to RegexDfa::kMaxStates states of 1 KiB as the output grows.
  if (patterns.size() > kMaxPatterns)
    fail(ErrorKind::InvalidArgument, "stop_regex: {} patterns, at most {} are allowed", patterns.size(), kMaxPatterns);
  size_t nfa_states = 0;  // each pattern may reach RegexNfa::kMaxStates: a budget for all of them
  for (const std::string& p : patterns) {
    Pattern m;
    m.source = p;
    try {
      // re.search: the match may start anywhere (unless ^); it is detected where it ends, so no suffix loop.
      m.dfa = std::make_unique<sampling::RegexDfa>(
          std::make_shared<const sampling::RegexNfa>(sampling::RegexNfa::compile_search(p, /*any_suffix=*/false)));
    } catch (const GlmError& e) {
      fail(ErrorKind::InvalidArgument, "stop_regex '{}': {}", p, e.what());
    }
    m.anchored_end = sampling::ends_with_anchor(p);
    nfa_states += m.dfa->nfa_states();
    if (nfa_states > sampling::RegexNfa::kMaxStates)
      fail(ErrorKind::InvalidArgument, "stop_regex: the patterns need more than {} automaton states together",
           sampling::RegexNfa::kMaxStates);
    m.state = m.dfa->start();
    patterns_.push_back(std::move(m));
  }
}

const std::string* StopRegexMatcher::advance(const std::string& text) {
  const size_t from = fed_;
  fed_ = text.size();
  for (Pattern& p : patterns_) {
    int32_t before_last = sampling::RegexDfa::kDead;  // the state before the text's last byte
    for (size_t i = from; i < text.size() && p.state != sampling::RegexDfa::kDead; ++i) {
      if (i + 1 == text.size()) before_last = p.state;
      try {
        p.state = p.dfa->next(p.state, uint8_t(text[i]));
      } catch (const GlmError& e) {
        fail(ErrorKind::InvalidArgument, "stop_regex '{}': {}", p.source, e.what());
      }
      if (!p.anchored_end && p.dfa->accepting(p.state)) return &p.source;
    }
    // $: a match ending at the end of the text, or just before a final newline (Python's re).
    if (p.anchored_end && text.size() > from &&
        (p.dfa->accepting(p.state) || (text.back() == '\n' && p.dfa->accepting(before_last))))
      return &p.source;
  }
  return nullptr;
}

}  // namespace glm
