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
//      one forward when it drafts again, so plain rounds cost what plain decoding costs. A probe from
//      plain decoding (spec_depth.h) drafts only for requests whose draft is current (kProbeMaxCatchUp),
//      and the catch-up time of a round that resumes drafting is left out of the timing the policy learns.
// Tree drafting (topk > 1, engine/spec_tree.h; speculative_tree.cpp): plan() drafts a tree per request
// instead of a chain (top-k beams, the num_draft_tokens - 1 best nodes kept) and gives each root-to-leaf
// path its own forked sequence; append_inputs() hands the scheduler one verify input per path;
// verify() walks the tree from the root (greedy: the child equal to the argmax; sampling: the children in
// turn, each accepted with its probability among those not yet rejected) and the winning path's pages
// become the request's. Rounds are the configured tree or plain decoding: the depth policy models
// chains, so it does not choose tree shapes; the guard (TreeGuard, unless cfg.guard is off) picks between
// the two from measured seconds per produced token.
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
#include "engine/spec_tree.h"
#include "model/nextn.h"

namespace glm {

class SpeculativeDecoder {
 public:
  // Throws GlmError(InvalidModel) when the model has no MTP layer loaded.
  SpeculativeDecoder(Glm4MoeModel& target, SpecConfig cfg);

  const SpecConfig& config() const { return cfg_; }
  SpecDepthPolicy& policy() { return policy_; }

  // Start-up calibration of the depth policy's prior: times the target over 1..num_steps+1 and
  // B(num_steps+1) tokens (B = 2, 4, 8) and the draft over 1, 2, 4, 8 tokens (best of three) on a scratch
  // sequence of `pool`, which is left as it was. Measured whole iterations replace it (spec_depth.h).
  void calibrate(KvPagePool& pool);

  // Step 1 (above) for the decoding requests; `budget` is the batch's token capacity left. Returns the
  // target tokens the verify inputs take (sum of depth + 1).
  int64_t plan(std::span<RequestState* const> reqs, int64_t budget, int64_t context_length, KvPagePool& pool);

  // The scheduler's verify inputs of a planned request (its chain, or one per tree path); returns how many.
  int append_inputs(RequestState& r, std::vector<SequenceInput>& out);
  // Pages a request may hold beyond its own while a tree round runs (the forks' private pages); 0 for a chain.
  int64_t extra_pages(int64_t page_size) const;

  // Step 3 for one request: rows holds depth + 1 logits rows of its verify tokens. push(result) appends
  // a token and returns false once the request has finished. Returns the number of drafts accepted.
  // A tree round's rows are its paths' rows in append_inputs order; the accepted tokens' hidden states
  // then start at row spec.win_row (0 for a chain).
  int verify(RequestState& r, const float* rows, std::span<float> scratch,
             const std::function<bool(sampling::SampleResult&)>& push);

  // Step 4: queue draft-extend over positions [start, start + n) of r, whose target hidden states are rows
  // [hidden_row, hidden_row + n) of the target's result; verified: after a verify (not a prompt chunk).
  void add_extend(RequestState& r, int64_t start, int64_t n, int64_t hidden_row, bool verified);
  void run_extend(const ForwardResult& target, KvPagePool& pool);

  // The scheduler timed a whole decode-only iteration (plan to emit) of `batch` requests. A probe that
  // drafted for one request of several is not representative; a catch-up extend is a switching cost.
  void record_iteration(int batch, double seconds) {
    if (cfg_.tree())
      tree_guard_.record(round_depth_ > 0, batch, round_tokens_ - plan_tokens_, seconds);
    else if (!probe_)
      policy_.record_iteration(round_depth_, batch, seconds - catch_up_seconds_);
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
  int depth_for_round(int batch, bool cheap_probe);
  // Tree drafting (speculative_tree.cpp). One request's round: its candidates, beams and forks.
  struct TreeRound {
    RequestState* r = nullptr;
    int64_t n = 0;  // kv.length() at the round's start: where every fork branches off
    int depth = 0;
    std::vector<DraftCandidate> cands;
    std::vector<int> beams;             // candidate indices being expanded
    std::vector<KvSequence> beam_kv;    // their forks (draft K/V of their own paths)
    std::vector<float> beam_hidden;     // (beams, H): the draft hidden state each beam's forward reads
    std::vector<float> next_hidden;     // (beams, H): the hidden state each beam's forward wrote
    std::vector<int32_t> ids;           // (beams, topk) children of the last step
    std::vector<float> logp;
    DraftTree tree;
    std::vector<std::vector<int32_t>> path_tokens;  // [last token, path nodes' tokens]
    std::vector<KvSequence> path_kv;
    std::vector<int64_t> path_row;      // first verify row of each path
  };
  // Drafts the trees of the requests planned with depth >= 1; slack: batch tokens left beyond depth + 1
  // per request. Returns the extra tokens the trees' verify inputs take.
  int64_t plan_tree(std::span<RequestState* const> reqs, int64_t slack, KvPagePool& pool);
  void draft_beams(int j, KvPagePool& pool);
  int verify_tree(RequestState& r, const float* rows, std::span<float> scratch,
                  const std::function<bool(sampling::SampleResult&)>& push);
  // Returns the pages of forks a failed iteration left behind.
  void release_trees(KvPagePool& pool);
  // One draft forward over the items (each from its draft_valid to start + n); sets d1 at frontiers.
  void extend(std::span<const Extend> items, const ForwardResult* target, KvPagePool& pool);
  void extend_group(std::span<const Extend> items, const ForwardResult* target, KvPagePool& pool);

  Glm4MoeModel& target_;
  NextNDraft draft_;
  SpecConfig cfg_;
  SpecDepthPolicy policy_;
  bool warned_ = false;
  int round_depth_ = 0;   // this iteration's policy depth
  static constexpr int64_t kProbeMaxCatchUp = 2;  // deferred positions a probe from plain decoding may catch up
  bool probe_ = false;    // this iteration probes from plain decoding with some requests of several
  double catch_up_seconds_ = 0;  // this iteration's catch-up extend
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
  std::vector<TreeRound> trees_;
  TreeGuard tree_guard_;      // tree vs plain decoding for an explicit tree configuration
  int64_t plan_tokens_ = 0;   // round_tokens_ when this iteration was planned
  KvPagePool* pool_ = nullptr;  // the pool plan() ran on (verify adopts and releases forks there)
  std::vector<int32_t> kid_tokens_;
  std::vector<std::pair<size_t, size_t>> beam_slots_;  // (tree, beam) of each draft input
  std::vector<RequestState*> probers_;
};

}  // namespace glm
