#pragma once
// Per-request token sampling over one logits row, with SGLang's semantics (layers/sampler.py,
// sampling/penaltylib, sampling_params.py):
//
//   raw logits (vocab)
//     -> penalties: frequency (-= f * count in output), presence (-= p if in output),
//        min_new_tokens (stop/EOS ids -> -inf while len(output) < min_new_tokens),
//        repetition (tokens in output: logit / r if > 0 else logit * r)
//     -> custom logit processor (thinking budget, disallowed tokens, forced sequence)
//     -> constraint (token_constraint.h: response_format JSON, tool name): disallowed -> -inf
//     -> temperature == 0 (or top_k == 1): greedy argmax, ties to the lowest id,
//        logprobs = log_softmax(logits)
//        otherwise probs = softmax(logits / temperature); logprobs = log(probs) clamped to
//        -FLT_MAX (SGLang reports them after temperature, before top-k/top-p);
//        candidates = top_k, then top_p (keep while the mass before a token <= top_p), then
//        min_p (p >= min_p * p_max); renormalise; draw with the request's RNG.
//        All three filters look at the same (un-renormalised) probabilities, as SGLang's pytorch
//        backend and flashinfer's joint top-k/top-p do (flashinfer with min_p > 0 renormalises after
//        top-k before applying top-p; not reproduced).
//
// Usage by the engine (one Sampler per running request, created when the request is admitted):
//   Sampler s(config_from(req.sampling), vocab_size);
//   s.set_logit_processor(resolve_logit_processor(req.sampling.custom_logit_processor), req.sampling.custom_params);
//   each step: SampleResult r = s.sample(logits_row, prompt_ids, output_ids, want_logprob, top_n);
// Mapping from glm::SamplingParams (engine/request.h): temperature, top_p, top_k, min_p, the three
// penalties, min_new_tokens and seed copy over; stop_token_ids = the model's EOS ids (unless
// ignore_eos) + the request's stop_token_ids (these are what min_new_tokens blocks, as in SGLang's
// BatchedMinNewTokensPenalizer). An unknown custom_logit_processor string makes
// resolve_logit_processor throw GlmError(InvalidArgument) -> HTTP 400; reject it before admission.
// Measured: one sample() over a 151552-entry row with top_k=20, top_p=0.95 takes ~1.8 ms on this
// machine (one core, including a row copy).
// output_ids must be the request's generated tokens so far; the sampler counts them incrementally
// (append-only; a shorter list than last time triggers a recount). Buffers are allocated once per
// request; a step allocates nothing except the top-logprob list when asked for.
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "sampling/logit_processor.h"
#include "sampling/token_constraint.h"

namespace glm::sampling {

struct SamplingConfig {
  float temperature = 1.0f;  // 0 -> greedy
  float top_p = 1.0f;
  int top_k = -1;            // <= 0 or >= vocab: off
  float min_p = 0.0f;
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  float repetition_penalty = 1.0f;
  int min_new_tokens = 0;
  std::vector<int32_t> stop_token_ids;  // EOS ids + request stop_token_ids, blocked before min_new_tokens
  std::optional<uint64_t> seed;         // same seed + same logits -> same tokens
  std::vector<std::pair<int32_t, float>> logit_bias;  // (token id < vocab, bias) added after penalties
};

// Speculative verification of one drafted token against this row (engine/speculative.h). The draft is a
// point mass (the MTP layer's argmax), so exact rejection sampling is: accept d with probability p(d),
// where p is the row's final sampling distribution (after penalties, processor, temperature, top-k/p,
// min-p); on rejection draw from p with d removed and renormalised. SGLang's thresholds make it lossy:
// accept also when p(d) >= threshold_single, or when coin <= p(d) / threshold_acc (both 1 = exact).
// Greedy rows accept iff the argmax equals d (the argmax is the token either way).
// Tree drafting (several distinct children c1..cm of one node, engine/spec_tree.h) tries them in order:
// c_i is accepted with probability p'(c_i), p' being p with the rejected c_1..c_{i-1} removed and
// renormalised; when all are rejected the token is drawn from p without all of them. This is sequential
// rejection sampling of point-mass drafts (SGLang's tree sampling), exact for any m; greedy accepts the c_i
// equal to the argmax, if any.
struct DraftCheck {
  int32_t token = -1;  // < 0: no draft (a plain sample, e.g. the bonus row)
  std::span<const int32_t> tokens;  // non-empty: the candidates c1..cm (token is then ignored)
  float threshold_single = 1.0f;
  float threshold_acc = 1.0f;
  std::span<const int32_t> candidates() const {
    return tokens.empty() ? (token < 0 ? std::span<const int32_t>() : std::span<const int32_t>(&token, 1)) : tokens;
  }
};

struct SampleResult {
  int32_t token_id = 0;
  bool draft_accepted = false;                          // token_id == DraftCheck::token by acceptance
  float logprob = 0.0f;                                 // when requested
  std::vector<std::pair<int32_t, float>> top_logprobs;  // best first, ties to the lower id
};

class Sampler {
 public:
  Sampler(SamplingConfig config, size_t vocab_size);

  void set_logit_processor(std::shared_ptr<const LogitProcessor> processor, nlohmann::json custom_params);
  // Constrained decoding for this request (applied after the processor); nullptr removes it.
  void set_constraint(std::unique_ptr<TokenConstraint> constraint) { constraint_ = std::move(constraint); }

  // logits: one row of vocab_size floats; modified in place (penalties, processor).
  SampleResult sample(std::span<float> logits, std::span<const int32_t> prompt_ids,
                      std::span<const int32_t> output_ids, bool want_logprob = false, int top_logprobs = 0,
                      const DraftCheck& draft = {});

  const SamplingConfig& config() const { return config_; }
  bool is_greedy() const;

 private:
  void update_counts(std::span<const int32_t> output_ids);
  void apply_penalties(std::span<float> logits, size_t output_len) const;
  int32_t draw(size_t candidates, double mass);
  int32_t verify_draft(const DraftCheck& draft, size_t candidates, double mass);
  void fill_top_logprobs(std::span<const float> logprobs_source, bool source_is_logits, float log_norm,
                         int n, SampleResult& out);

  SamplingConfig config_;
  size_t vocab_size_;
  std::shared_ptr<const LogitProcessor> processor_;
  nlohmann::json custom_params_;
  std::unique_ptr<TokenConstraint> constraint_;
  std::mt19937_64 rng_;

  // Output-token counts for the penalties: counts_[id] and the distinct ids seen.
  std::vector<int32_t> counts_;
  std::vector<int32_t> seen_ids_;
  size_t counted_ = 0;

  std::vector<float> probs_;      // vocab_size scratch
  std::vector<int32_t> order_;    // vocab_size scratch (candidate ids)
};

// Python-style uniform double in [0, 1) from 53 random bits.
double uniform01(std::mt19937_64& rng);

}  // namespace glm::sampling
