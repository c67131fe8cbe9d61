#include "engine/stop_regex.h"

#include "core/error.h"

namespace glm {
namespace {

// `$` at the end of a pattern (not an escaped one: an odd run of backslashes before it escapes it).
bool ends_with_anchor(const std::string& p) {
  if (p.empty() || p.back() != '$') return false;
  size_t slashes = 0;
  for (size_t i = p.size() - 1; i > 0 && p[i - 1] == '\\'; --i) ++slashes;
  return slashes % 2 == 0;
}

// re.search: the match may start anywhere, unless the pattern starts with ^. A new start state loops on
// every byte and enters the pattern at each position.
std::shared_ptr<const sampling::RegexNfa> search_nfa(const std::string& pattern) {
  sampling::RegexNfa nfa = sampling::RegexNfa::compile(pattern);
  if (!pattern.empty() && pattern[0] == '^') return std::make_shared<const sampling::RegexNfa>(std::move(nfa));
  sampling::RegexNfa::State loop;
  loop.lo = 0;
  loop.hi = 255;
  loop.next = int32_t(nfa.states.size());
  loop.eps.push_back(nfa.start);
  nfa.states.push_back(std::move(loop));
  nfa.start = int32_t(nfa.states.size()) - 1;
  return std::make_shared<const sampling::RegexNfa>(std::move(nfa));
}

}  // namespace

StopRegexMatcher::StopRegexMatcher(const std::vector<std::string>& patterns) {
  // Each pattern's DFA may grow to RegexDfa::kMaxStates states of 1 KiB as the output grows.
  if (patterns.size() > kMaxPatterns)
    fail(ErrorKind::InvalidArgument, "stop_regex: {} patterns, at most {} are allowed", patterns.size(), kMaxPatterns);
  for (const std::string& p : patterns) {
    Pattern m;
    m.source = p;
    try {
      m.dfa = std::make_unique<sampling::RegexDfa>(search_nfa(p));
    } catch (const GlmError& e) {
      fail(ErrorKind::InvalidArgument, "stop_regex '{}': {}", p, e.what());
    }
    m.anchored_end = ends_with_anchor(p);
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
