#pragma once
// Token choices from the MTP draft's logits rows. With a token map (FR-Spec, NextNDraft::
// restrict_vocabulary) a row has one column per map entry and ForwardResult::vocab_ids names them: the
// map is sorted, so "ties to the lower id" holds in either case.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "engine/spec_tree.h"
#include "model/forward_batch.h"

namespace glm {

inline int32_t draft_token_of(const ForwardResult& res, int64_t column) {
  return res.vocab_ids.empty() ? int32_t(column) : res.vocab_ids[size_t(column)];
}

// The most probable token of logits row `row` (the first maximum: ties to the lowest id).
inline int32_t draft_argmax(const ForwardResult& res, int64_t row) {
  const float* p = res.logits + row * res.vocab;
  return draft_token_of(res, std::max_element(p, p + res.vocab) - p);
}

// top_k_logprobs of logits row `row`, as token ids (normalised over the row's columns, as SGLang's
// FR-Spec draft does over its hot vocabulary).
inline void draft_top_k(const ForwardResult& res, int64_t row, int k, std::vector<int32_t>& ids,
                        std::vector<float>& logp) {
  top_k_logprobs(res.logits + row * res.vocab, res.vocab, k, ids, logp);
  if (!res.vocab_ids.empty())
    for (int32_t& id : ids) id = res.vocab_ids[size_t(id)];
}

}  // namespace glm
