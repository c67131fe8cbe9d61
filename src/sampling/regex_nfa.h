#pragma once
// A regular expression compiled to a byte-level NFA (Thompson construction), for the `regex` sampling
// parameter (SGLang: the whole output must match the pattern). regex_dfa.h determinizes it lazily and
// regex_constraint.h walks the token trie with it.
//
// Syntax: Python `re` for what constrained decoding uses, with full-match semantics:
//   literals (any UTF-8), escaped metacharacters, . (any character but \n), [...] / [^...] with ranges
//   and escapes, \d \D \w \W \s \S (ASCII classes, as xgrammar's regex converter has them), \n \t \r \f
//   \v \0 \xHH \uHHHH \UHHHHHHHH, groups ( ) (?: ) (?P<name> ) (?<name> ), alternation |, quantifiers
//   * + ? {n} {n,} {,m} {n,m} and their lazy forms (same language), ^ at the start and $ at the end.
// Refused with GlmError(InvalidArgument) naming the feature: backreferences, lookaround, \b \B \A \Z,
// inline flags, possessive quantifiers, anchors elsewhere, groups nested more than 100 deep, invalid
// UTF-8 in the pattern, patterns that expand to more than kMaxStates states (large bounded repeats).
// Characters are matched as their UTF-8 byte sequences; a negated class or . matches any one valid
// UTF-8 character (surrogates excluded) outside the set.
#include <cstdint>
#include <string_view>
#include <vector>

namespace glm::sampling {

struct RegexNfa {
  struct State {
    uint8_t lo = 1, hi = 0;     // a byte edge lo..hi to `next` (none when lo > hi)
    int32_t next = -1;
    std::vector<int32_t> eps;   // epsilon edges
    // Grammars (ebnf_grammar.h) only: a call of the rule starting at `call`, which returns to `next`; and
    // the end state of a rule, where a call returns to its caller.
    int32_t call = -1;
    bool returns = false;
    bool has_byte_edge() const { return lo <= hi; }
  };
  static constexpr size_t kMaxStates = 100000;

  std::vector<State> states;
  int32_t start = 0;
  int32_t accept = 0;  // the single accepting state (no edges)

  // Throws GlmError(InvalidArgument) for syntax errors and unsupported features.
  static RegexNfa compile(std::string_view pattern);
  // Search semantics (Python's re.search, JSON Schema's pattern): any bytes may come before a match unless
  // the pattern starts with ^, and, with any_suffix, after it unless it ends with an unescaped $.
  static RegexNfa compile_search(std::string_view pattern, bool any_suffix);
};

// Whether the pattern ends with a $ anchor (not an escaped \$).
bool ends_with_anchor(std::string_view pattern);

}  // namespace glm::sampling
