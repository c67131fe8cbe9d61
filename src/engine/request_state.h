#pragma once
// A request as the scheduler thread tracks it from admission to finish.
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/stop_checker.h"
#include "engine/stop_regex.h"
#include "model/kv_cache.h"
#include "sampling/sampler.h"
#include "tokenizer/incremental_decoder.h"

namespace glm {

// Speculative decoding state of one request (engine/speculative.h). Invariant between iterations:
// draft_valid + pending rows == kv.length() (the MTP layer's K/V, layer L of the same pages, is exact up
// to draft_valid; rounds without drafting defer the draft-extend and keep the target's hidden states).
struct SpecState {
  int32_t next_draft = -1;        // d1 of the next round: the draft's argmax at position kv.length() - 1
  std::vector<float> hidden;      // the draft's hidden state there (chained into d2)
  int64_t draft_valid = 0;        // positions whose draft K/V came from the target's hidden states
  std::vector<float> pending;     // target hidden states of positions [draft_valid, kv.length()), (n, H)
  int depth = 0;                  // drafts verified this round
  std::vector<int32_t> verify;    // this round's target input: last token, d1..d_depth
  int verify_ct = 0, accepted = 0, drafted = 0;  // rounds, accepted drafts, verified drafts
  // Tree drafting (topk > 1, engine/spec_tree.h): the draft-extend's top-k at kv.length() - 1 (d1's
  // candidates, best first, with log-probabilities), this round's tree (an index into the decoder's
  // rounds; -1: a chain round) and the first verify row of the path that won.
  std::vector<int32_t> top_ids;
  std::vector<float> top_logp;
  int tree = -1;
  int64_t win_row = 0;
};

struct RequestState {
  GenerateRequest req;
  Engine::Sink sink;
  KvSequence kv;
  std::vector<int32_t> output;       // generated ids
  int64_t prefilled = 0;             // prompt positions already in the KV cache
  int64_t cached_tokens = 0;         // of those, copied from the prefix cache
  int64_t reserved_pages = 0;        // pages set aside at admission for prompt + max_new_tokens
  std::unique_ptr<sampling::Sampler> sampler;
  std::unique_ptr<IncrementalDecoder> decoder;
  StopStringMatcher stops;
  StopRegexMatcher stop_regex;
  std::vector<TokenLogprob> input_logprobs;  // prompt logprobs gathered over prefill chunks, sent once
  std::string text;                  // all decoded output text
  size_t emitted = 0;                // bytes of `text` already sent
  bool done = false;
  SpecState spec;

  // Token at absolute position q of prompt + output.
  int32_t token_at(int64_t q) const { return q < prompt_len() ? req.input_ids[size_t(q)] : output[size_t(q - prompt_len())]; }
  int64_t prompt_len() const { return int64_t(req.input_ids.size()); }
  bool in_prefill() const { return prefilled < prompt_len(); }
};

}  // namespace glm
