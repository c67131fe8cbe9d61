#pragma once
// Knobs of the scheduler, named after SGLang's ServerArgs.
#include <cstdint>
#include <vector>

#include "kernels/kv_format.h"

namespace glm {

// Speculative decoding with the checkpoint's MTP layer (engine/speculative.h). SGLang's (num_steps,
// eagle_topk, num_draft_tokens): topk 1 is a chain of num_steps + 1 tokens, topk > 1 a tree
// (engine/spec_tree.h) of num_draft_tokens nodes, the root included.
struct SpecConfig {
  int num_steps = 0;        // draft depth per round; 0 = speculation off
  int topk = 1;             // --speculative-eagle-topk: branching of the draft tree
  int num_draft_tokens = 0; // tree nodes verified per request, root included (topk 1: num_steps + 1)
  bool adaptive = false;    // --speculative-num-steps auto: depth per round in [0, num_steps] (spec_depth.h)
  bool guard = true;        // fixed depth: fall back to the adaptive depth where num_steps would be slower
                            // than plain decoding (one warning)
  float accept_threshold_single = 1.0f;  // SGLang's lossy acceptance knobs (1, 1 = exact)
  float accept_threshold_acc = 1.0f;
  // FR-Spec (--speculative-token-map): the only token ids the draft proposes, sorted and unique
  // (model/speculative_token_map.h); empty = the whole vocabulary.
  std::vector<int32_t> token_map;
  // Tests: the depth of each round, cycled (overrides the policy), and whether plain rounds defer the
  // draft-extend (the default; off = extend every round, the reference for the deferred catch-up).
  std::vector<int> depth_schedule;
  bool defer_plain_extends = true;
  bool enabled() const { return num_steps > 0; }
  bool tree() const { return topk > 1; }
};

struct SchedulerConfig {
  int max_running_requests = 64;     // requests decoding together
  int64_t chunked_prefill_size = 512;  // max prompt tokens of one request per iteration (<= 0: no chunking)
  int64_t max_prefill_tokens = 2048;   // prompt tokens of all requests per iteration
  int64_t kv_capacity_tokens = 0;      // KV pool size in tokens (see kv_budget.h to derive it)
  int64_t page_size = 16;              // tokens per KV page
  KvDType kv_dtype = KvDType::BF16;    // --kv-cache-dtype (auto = bf16)
  int64_t context_length = 0;          // prompt + output limit (0: config.json max_position_embeddings)
  bool disable_radix_cache = false;    // no prefix cache is implemented yet: accepted and reported
  SpecConfig spec;                     // needs a model loaded with its MTP layer
};

}  // namespace glm
