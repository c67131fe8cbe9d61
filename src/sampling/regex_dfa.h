#pragma once
// A RegexNfa (regex_nfa.h) determinized lazily over bytes: a DFA state is the set of NFA states the
// input so far can be in (after epsilon closure); a transition is computed the first time it is
// asked for and cached, so a constrained request pays only for the states and bytes its output and
// the token trie walk actually visit. State 0 is dead (no match can follow).
// Grammar NFAs (rule calls, ebnf_grammar.h) are run the same way with each NFA state paired with its
// call stack (interned; a stack deeper than kMaxStackDepth is not followed): a DFA state is then a set of
// (NFA state, stack) items, finite for the outputs actually seen, so recursion costs states, not time.
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
  static constexpr int kMaxStackDepth = 128;  // nested rule calls followed

  explicit RegexDfa(std::shared_ptr<const RegexNfa> nfa);

  int32_t start() const { return start_; }
  // Throws GlmError(InvalidArgument) when the pattern needs more than kMaxStates DFA states.
  int32_t next(int32_t state, uint8_t byte);
  int32_t feed(int32_t state, std::string_view bytes);  // kDead as soon as a byte leads nowhere
  bool accepting(int32_t state) const { return accept_[size_t(state)] != 0; }
  // Some non-empty continuation keeps the state alive (computed once per state).
  bool can_continue(int32_t state);
  size_t state_count() const { return sets_.size(); }
  size_t nfa_states() const { return nfa_->states.size(); }

 private:
  // An item: NFA state in the low 32 bits, call stack id in the high 32 (0 = empty).
  using Item = uint64_t;
  static Item item(int32_t state, uint32_t stack) { return (uint64_t(stack) << 32) | uint32_t(state); }
  static int32_t state_of(Item i) { return int32_t(uint32_t(i)); }
  static uint32_t stack_of(Item i) { return uint32_t(i >> 32); }
  uint32_t push(uint32_t stack, int32_t return_state);  // 0 when too deep

  int32_t intern(std::vector<Item> set);
  void close(std::vector<Item>& set);

  std::shared_ptr<const RegexNfa> nfa_;
  int32_t start_ = kDead;
  std::vector<std::vector<Item>> sets_;               // items of byte-edge states and accept, sorted
  std::map<std::vector<Item>, int32_t> index_;
  std::vector<std::array<int32_t, 256>> trans_;       // -1: not computed yet
  std::vector<uint8_t> accept_;
  std::vector<int8_t> continues_;                     // -1 unknown, 0/1
  std::vector<uint8_t> mark_;                         // closure scratch, per NFA state (call-free NFAs)
  std::vector<Item> work_;
  bool has_calls_ = false;
  // Call stacks: stack id -> (parent stack id, return state); id 0 is the empty stack.
  std::vector<std::pair<uint32_t, int32_t>> stacks_;
  std::vector<int> stack_depth_;
  std::map<std::pair<uint32_t, int32_t>, uint32_t> stack_index_;
};

}  // namespace glm::sampling
