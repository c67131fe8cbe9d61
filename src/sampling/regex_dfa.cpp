#include "sampling/regex_dfa.h"

#include <algorithm>

#include "core/error.h"

namespace glm::sampling {

RegexDfa::RegexDfa(std::shared_ptr<const RegexNfa> nfa) : nfa_(std::move(nfa)) {
  mark_.assign(nfa_->states.size(), 0);
  intern({});  // state 0: dead
  std::vector<int32_t> s{nfa_->start};
  close(s);
  start_ = intern(std::move(s));
}

// Replaces `set` by its epsilon closure, keeping only the states that matter for the future (byte edges
// and the accepting state), sorted: equal futures get equal keys.
void RegexDfa::close(std::vector<int32_t>& set) {
  stack_.assign(set.begin(), set.end());
  set.clear();
  std::vector<int32_t> seen;
  while (!stack_.empty()) {
    const int32_t s = stack_.back();
    stack_.pop_back();
    if (mark_[size_t(s)]) continue;
    mark_[size_t(s)] = 1;
    seen.push_back(s);
    const RegexNfa::State& st = nfa_->states[size_t(s)];
    if (st.has_byte_edge() || s == nfa_->accept) set.push_back(s);
    for (int32_t e : st.eps)
      if (!mark_[size_t(e)]) stack_.push_back(e);
  }
  for (int32_t s : seen) mark_[size_t(s)] = 0;
  std::sort(set.begin(), set.end());
}

int32_t RegexDfa::intern(std::vector<int32_t> set) {
  auto it = index_.find(set);
  if (it != index_.end()) return it->second;
  if (sets_.size() >= kMaxStates)
    fail(ErrorKind::InvalidArgument, "regex needs more than {} automaton states; simplify the pattern", kMaxStates);
  const int32_t id = int32_t(sets_.size());
  const bool acc = std::binary_search(set.begin(), set.end(), nfa_->accept);
  index_.emplace(set, id);
  sets_.push_back(std::move(set));
  std::array<int32_t, 256> row;
  row.fill(id == kDead ? kDead : -1);
  trans_.push_back(row);
  accept_.push_back(acc ? 1 : 0);
  continues_.push_back(id == kDead ? 0 : -1);
  return id;
}

int32_t RegexDfa::next(int32_t state, uint8_t byte) {
  int32_t t = trans_[size_t(state)][byte];
  if (t >= 0) return t;
  std::vector<int32_t> to;
  for (int32_t s : sets_[size_t(state)]) {
    const RegexNfa::State& st = nfa_->states[size_t(s)];
    if (st.has_byte_edge() && byte >= st.lo && byte <= st.hi) to.push_back(st.next);
  }
  close(to);
  t = to.empty() ? kDead : intern(std::move(to));
  trans_[size_t(state)][byte] = t;  // after intern: it may have grown trans_
  return t;
}

int32_t RegexDfa::feed(int32_t state, std::string_view bytes) {
  for (char c : bytes) {
    if (state == kDead) return kDead;
    state = next(state, uint8_t(c));
  }
  return state;
}

bool RegexDfa::can_continue(int32_t state) {
  int8_t& known = continues_[size_t(state)];
  if (known >= 0) return known != 0;
  bool any = false;
  for (int32_t s : sets_[size_t(state)])
    if (nfa_->states[size_t(s)].has_byte_edge()) any = true;
  // A byte edge can still lead into a class that matches nothing (an empty [^\x00-\U0010FFFF]); then
  // the next state is dead: check the real transitions.
  if (any) {
    any = false;
    for (int b = 0; b < 256 && !any; ++b) any = next(state, uint8_t(b)) != kDead;
  }
  continues_[size_t(state)] = any ? 1 : 0;  // re-index: next() may have grown the vector
  return any;
}

}  // namespace glm::sampling
