#include "sampling/regex_dfa.h"

#include <algorithm>
#include <unordered_set>

#include "core/error.h"

namespace glm::sampling {

RegexDfa::RegexDfa(std::shared_ptr<const RegexNfa> nfa) : nfa_(std::move(nfa)) {
  mark_.assign(nfa_->states.size(), 0);
  for (const auto& st : nfa_->states) has_calls_ = has_calls_ || st.call >= 0 || st.returns;
  stacks_.push_back({0, -1});  // 0: the empty stack
  stack_depth_.push_back(0);
  intern({});  // state 0: dead
  std::vector<Item> s{item(nfa_->start, 0)};
  close(s);
  start_ = intern(std::move(s));
}

uint32_t RegexDfa::push(uint32_t stack, int32_t return_state) {
  if (stack_depth_[stack] >= kMaxStackDepth) return 0;
  auto [it, fresh] = stack_index_.try_emplace({stack, return_state}, uint32_t(stacks_.size()));
  if (fresh) {
    stacks_.push_back({stack, return_state});
    stack_depth_.push_back(stack_depth_[stack] + 1);
  }
  return it->second;
}

// Replaces `set` by its closure over epsilon edges, rule calls (push the return state) and rule ends
// (pop it), keeping only the items that matter for the future (byte edges, and the accepting state with
// an empty stack), sorted: equal futures get equal keys.
void RegexDfa::close(std::vector<Item>& set) {
  work_.assign(set.begin(), set.end());
  set.clear();
  if (!has_calls_) {  // plain regular expressions: every stack is empty, one mark per NFA state
    std::vector<int32_t> seen;
    while (!work_.empty()) {
      const int32_t s = state_of(work_.back());
      work_.pop_back();
      if (mark_[size_t(s)]) continue;
      mark_[size_t(s)] = 1;
      seen.push_back(s);
      const RegexNfa::State& st = nfa_->states[size_t(s)];
      if (st.has_byte_edge() || s == nfa_->accept) set.push_back(item(s, 0));
      for (int32_t e : st.eps)
        if (!mark_[size_t(e)]) work_.push_back(item(e, 0));
    }
    for (int32_t s : seen) mark_[size_t(s)] = 0;
    std::sort(set.begin(), set.end());
    return;
  }
  std::unordered_set<Item> seen;
  while (!work_.empty()) {
    const Item it = work_.back();
    work_.pop_back();
    if (!seen.insert(it).second) continue;
    const int32_t s = state_of(it);
    const uint32_t stack = stack_of(it);
    const RegexNfa::State& st = nfa_->states[size_t(s)];
    if (st.has_byte_edge() || (s == nfa_->accept && stack == 0)) set.push_back(it);
    for (int32_t e : st.eps) work_.push_back(item(e, stack));
    if (st.call >= 0) {
      if (const uint32_t pushed = push(stack, st.next); pushed != 0) work_.push_back(item(st.call, pushed));
    }
    if (st.returns && stack != 0) work_.push_back(item(stacks_[stack].second, stacks_[stack].first));
  }
  std::sort(set.begin(), set.end());
}

int32_t RegexDfa::intern(std::vector<Item> set) {
  auto it = index_.find(set);
  if (it != index_.end()) return it->second;
  if (sets_.size() >= kMaxStates)
    fail(ErrorKind::InvalidArgument, "regex needs more than {} automaton states; simplify the pattern", kMaxStates);
  const int32_t id = int32_t(sets_.size());
  const bool acc = std::binary_search(set.begin(), set.end(), item(nfa_->accept, 0));
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
  std::vector<Item> to;
  for (Item i : sets_[size_t(state)]) {
    const RegexNfa::State& st = nfa_->states[size_t(state_of(i))];
    if (st.has_byte_edge() && byte >= st.lo && byte <= st.hi) to.push_back(item(st.next, stack_of(i)));
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
  for (Item i : sets_[size_t(state)])
    if (nfa_->states[size_t(state_of(i))].has_byte_edge()) any = true;
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
