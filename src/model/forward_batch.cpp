#include "model/forward_batch.h"

#include "core/error.h"

namespace glm {

void BatchLayout::build(std::span<const SequenceInput> batch, KvPagePool& pool, int64_t vocab_size,
                        int64_t max_tokens, int64_t max_positions) {
  token_ids.clear();
  positions.clear();
  attention.clear();
  logit_rows.clear();
  n_tokens = 0;
  for (size_t s = 0; s < batch.size(); ++s) {
    const SequenceInput& in = batch[s];
    const int64_t n = int64_t(in.tokens.size());
    if (!in.kv) fail(ErrorKind::InvalidArgument, "forward: sequence {} has no KV cache", s);
    if (n == 0) fail(ErrorKind::InvalidArgument, "forward: sequence {} has no tokens", s);
    for (size_t o = 0; o < s; ++o)
      if (batch[o].kv == in.kv) fail(ErrorKind::InvalidArgument, "forward: sequences {} and {} share a KV cache", o, s);
    if (in.start_pos < 0 || in.start_pos > in.kv->length())
      fail(ErrorKind::InvalidArgument, "forward: sequence {} starts at position {} but its cache holds {} positions", s,
           in.start_pos, in.kv->length());
    if (in.start_pos + n > max_positions)
      fail(ErrorKind::InvalidArgument, "forward: sequence {} would reach position {} (limit {})", s,
           in.start_pos + n, max_positions);
    if (n_tokens + n > max_tokens)
      fail(ErrorKind::InvalidArgument, "forward: batch has more than {} tokens", max_tokens);
    in.kv->reserve(pool, in.start_pos + n);
    AttentionSequence a;
    a.q_row = n_tokens;
    a.n_tokens = n;
    a.start_pos = in.start_pos;
    attention.push_back(a);
    for (int64_t i = 0; i < n; ++i) {
      const int32_t t = in.tokens[size_t(i)];
      if (t < 0 || t >= vocab_size)
        fail(ErrorKind::InvalidArgument, "forward: token id {} is outside the vocabulary (size {})", t, vocab_size);
      token_ids.push_back(t);
      positions.push_back(in.start_pos + i);
      if (in.all_logits || i == n - 1) logit_rows.push_back(n_tokens + i);
    }
    n_tokens += n;
  }
}

}  // namespace glm
