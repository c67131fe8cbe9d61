#pragma once
// Speculative decoding with the checkpoint's MTP (NextN) layer as a chain draft (SGLang EAGLE with
// eagle_topk 1, spec §6). The scheduler (scheduler.cpp) drives it; per iteration:
//   1. plan():   every decoding request gets a depth k (the policy's, spec_depth.h, capped so that the
//                output cannot pass max_new_tokens / the context and the batch fits the workspace) and
//                drafts d1..dk: d1 came from the previous draft-extend, d2..dk from k-1 chained draft
//                forwards batched over the requests (input: the previous draft token and the draft's own
//                hidden state). Its target input becomes [last token, d1..dk] (SpecState::verify).
//   2. the scheduler runs ONE target forward over every request's verify tokens (all_logits) plus the
//      prompt chunks of requests still prefilling. MoE layers group the batch's tokens by expert, so a
//      selected expert's weights are read once for all verified tokens of all requests.
//   3. verify(): row i is sampled with the request's own sampler (penalties, logit processor,
//      temperature / top-k / top-p) with d1..di already appended to the output, i.e. exactly the state
//      of plain decoding at that token; greedy accepts d_{i+1} iff it is the argmax, sampling accepts it
//      with probability p(d_{i+1}) and otherwise draws from p without it (exact for a point-mass draft).
//      Tokens go through the scheduler's stop checks one at a time; the first rejection (its correction
//      token), the bonus token after k accepted drafts, or a stop ends the round. The scheduler then
//      truncates the target K/V to the tokens kept.
//   4. add_extend() + run_extend(): one draft forward over what the target just computed for every
//      request still running: prompt chunks (tokens shifted by one, the first sampled token after the
//      last chunk) and, after a verify, the accepted tokens plus the bonus. It writes the draft's K/V for
//      those positions and yields d1 and the hidden state for the next round. A decoding request that
//      drafted nothing this round (depth 0: the policy chose plain decoding, or its cap) defers its
//      extend: the target's hidden states go to SpecState::pending, and plan() catches its draft up in
//      one forward when it drafts again, so plain rounds cost what plain decoding costs.
// Draft K/V ownership: it is layer L of the target's pages (Glm4MoeModel::make_kv_pool(.., true)), so
// a request has one page table, reservations cover both, and radix-cache pages carry the draft's K/V.
// The draft's K/V at position p depends on token p + 1, which a cache key ending at p does not hold: the
// scheduler recomputes the last matched position (one token) on a hit, and inserts only positions whose
// draft K/V is exact (SpecState::draft_valid).
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "engine/request_state.h"
#include "engine/scheduler_config.h"
#include "engine/spec_depth.h"
#include "model/nextn.h"

namespace glm {

class SpeculativeDecoder {
 public:
  // Throws GlmError(InvalidModel) when the model has no MTP layer loaded.
  SpeculativeDecoder(Glm4MoeModel& target, SpecConfig cfg);

  const SpecConfig& config() const { return cfg_; }
  SpecDepthPolicy& policy() { return policy_; }

  // Start-up calibration of the depth policy: times the target over 1..num_steps+1 tokens and the draft
  // over one token (best of three) on a scratch sequence of `pool`, which is left as it was.
  void calibrate(KvPagePool& pool);

  // Step 1 (above) for the decoding requests; `budget` is the batch's token capacity left. Returns the
  // target tokens the verify inputs take (sum of depth + 1).
  int64_t plan(std::span<RequestState* const> reqs, int64_t budget, int64_t context_length, KvPagePool& pool);

  // Step 3 for one request: rows holds depth + 1 logits rows of its verify tokens. push(result) appends
  // a token and returns false once the request has finished. Returns the number of drafts accepted.
  int verify(RequestState& r, const float* rows, std::span<float> scratch,
             const std::function<bool(sampling::SampleResult&)>& push);

  // Step 4: queue draft-extend over positions [start, start + n) of r, whose target hidden states are rows
  // [hidden_row, hidden_row + n) of the target's result; verified: after a verify (not a prompt chunk).
  void add_extend(RequestState& r, int64_t start, int64_t n, int64_t hidden_row, bool verified);
  void run_extend(const ForwardResult& target, KvPagePool& pool);

  // The scheduler timed a whole decode-only iteration (plan to emit) of `batch` requests.
  void record_iteration(int batch, double seconds) {
    if (!probe_) policy_.record_iteration(round_depth_, batch, seconds);
  }

  // Server-wide: rounds and tokens they produced (accepted + bonus).
  int64_t rounds() const { return rounds_; }
  int64_t round_tokens() const { return round_tokens_; }

 private:
  struct Extend {
    RequestState* r;
    int64_t start, n, hidden_row;  // new positions [start, start + n) from target rows; pending ones go first
    bool verified = false;
  };
  int depth_for_round(int batch);
  // One draft forward over the items (each from its draft_valid to start + n); sets d1 at frontiers.
  void extend(std::span<const Extend> items, const ForwardResult* target, KvPagePool& pool);
  void extend_group(std::span<const Extend> items, const ForwardResult* target, KvPagePool& pool);

  Glm4MoeModel& target_;
  NextNDraft draft_;
  SpecConfig cfg_;
  SpecDepthPolicy policy_;
  bool warned_ = false;
  int round_depth_ = 0;   // this iteration's policy depth
  bool probe_ = false;    // this iteration probes from plain decoding with one request
  size_t scheduled_ = 0;  // rounds taken from cfg_.depth_schedule
  int64_t decisions_ = 0;  // for the periodic debug line
  int64_t rounds_ = 0, round_tokens_ = 0;

  // Scratch, reused every iteration.
  std::vector<Extend> extends_;
  std::vector<int32_t> tokens_;
  std::vector<float> hidden_;
  std::vector<SequenceInput> inputs_;
  std::vector<RequestState*> chain_;
  std::vector<Extend> catch_up_;
};

}  // namespace glm
