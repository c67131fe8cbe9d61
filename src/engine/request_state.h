#pragma once
// A request as the scheduler thread tracks it from admission to finish.
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/stop_checker.h"
#include "model/kv_cache.h"
#include "sampling/sampler.h"
#include "tokenizer/incremental_decoder.h"

namespace glm {

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
  std::string text;                  // all decoded output text
  size_t emitted = 0;                // bytes of `text` already sent
  bool done = false;

  int64_t prompt_len() const { return int64_t(req.input_ids.size()); }
  bool in_prefill() const { return prefilled < prompt_len(); }
};

}  // namespace glm
