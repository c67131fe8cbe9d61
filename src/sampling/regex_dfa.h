#pragma once
// A RegexNfa (regex_nfa.h) determinized lazily over bytes: a DFA state is the set of NFA states the
// input so far can be in (after epsilon closure); a transition is computed the first time it is
// asked for and cached, so a constrained request pays only for the states and bytes its output and
// the token trie walk actually visit. State 0 is dead (no match can follow).
// One RegexDfa per request (it mutates its cache); the NFA is shared read-only.
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string_view>
#include <vector>

#include "sampling/regex_nfa.h"

namespace glm::sampling {

class RegexDfa {
 public:
  static constexpr int32_t kDead = 0;
  static constexpr size_t kMaxStates = 4096;  // ~1 KiB of transitions each

  explicit RegexDfa(std::shared_ptr<const RegexNfa> nfa);

  int32_t start() const { return start_; }
  // Throws GlmError(InvalidArgument) when the pattern needs more than kMaxStates DFA states.
  int32_t next(int32_t state, uint8_t byte);
  int32_t feed(int32_t state, std::string_view bytes);  // kDead as soon as a byte leads nowhere
  bool accepting(int32_t state) const { return accept_[size_t(state)] != 0; }
  // Some non-empty continuation keeps the state alive (computed once per state).
  bool can_continue(int32_t state);
  size_t state_count() const { return sets_.size(); }

 private:
  int32_t intern(std::vector<int32_t> set);
  void close(std::vector<int32_t>& set);

  std::shared_ptr<const RegexNfa> nfa_;
  int32_t start_ = kDead;
  std::vector<std::vector<int32_t>> sets_;            // NFA states (byte-edge ones and accept), sorted
  std::map<std::vector<int32_t>, int32_t> index_;
  std::vector<std::array<int32_t, 256>> trans_;       // -1: not computed yet
  std::vector<uint8_t> accept_;
  std::vector<int8_t> continues_;                     // -1 unknown, 0/1
  std::vector<uint8_t> mark_;                         // closure scratch, per NFA state
  std::vector<int32_t> stack_;
};

}  // namespace glm::sampling
