#pragma once
// What every byte-level constraint (json_constraint.h, regex_constraint.h) does before its grammar sees a
// byte: pick out the output tokens the grammar reads. Nothing is read up to and including an optional
// start token (the first </think> of a reasoning answer); EOS ids are skipped; a token without bytes, an
// added token (unless the constraint reads them as text), or one the grammar refuses ends masking ("broken": the constraint stops instead of failing
// the request). An output list shorter than last time is a new history: the grammar restarts.
#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "sampling/token_trie.h"

namespace glm::sampling {

class OutputCursor {
 public:
  // added_as_text: an added token is fed as its text like any other (a regex that spells special tokens).
  OutputCursor(int32_t start_after_token, std::vector<int32_t> eos_ids, bool added_as_text = false)
      : start_after_(start_after_token), eos_(std::move(eos_ids)), started_(start_after_token < 0),
        added_as_text_(added_as_text) {}

  // feed(const std::string& bytes) -> bool: false once the output left the grammar.
  // restart(): back to the grammar's initial state.
  template <class Feed, class Restart>
  void advance(std::span<const int32_t> output_ids, const TokenTrie& trie, Feed&& feed, Restart&& restart) {
    if (output_ids.size() < consumed_) {
      restart();
      consumed_ = 0;
      started_ = start_after_ < 0;
      broken_ = false;
    }
    const auto& added = trie.added_ids();
    for (; consumed_ < output_ids.size(); ++consumed_) {
      const int32_t id = output_ids[consumed_];
      if (!started_) {
        started_ = id == start_after_;
        continue;
      }
      if (broken_ || is_eos(id)) continue;
      const std::string& bytes = trie.bytes(id);
      const bool refused_added = !added_as_text_ && std::find(added.begin(), added.end(), id) != added.end();
      if (bytes.empty() || refused_added || !feed(bytes)) broken_ = true;
    }
  }

  bool started() const { return started_; }
  bool active() const { return started_ && !broken_; }
  void stop() { broken_ = true; }
  const std::vector<int32_t>& eos_ids() const { return eos_; }

 private:
  bool is_eos(int32_t id) const { return std::find(eos_.begin(), eos_.end(), id) != eos_.end(); }

  int32_t start_after_;
  std::vector<int32_t> eos_;
  size_t consumed_ = 0;
  bool started_;
  bool added_as_text_;
  bool broken_ = false;
};

}  // namespace glm::sampling
