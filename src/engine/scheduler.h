#pragma once
// glm::Scheduler: continuous batching over one Glm4MoeModel on a dedicated thread.
//
// Iteration (loop thread):
//   1. Take aborts and new requests queued by other threads (under mu_), finish aborted ones at once.
//   2. Admit waiting requests FCFS while fewer than max_running_requests run and the KV pool can set
//      aside ceil((prompt + max_new_tokens) / page_size) pages for them. Reserving the worst case at
//      admission means a running request can always grow, so no retraction is ever needed: a load
//      that exceeds the pool simply waits in the queue.
//   3. Build ONE forward batch: the decode token of every running request that has finished its
//      prompt, then prompt chunks of the others in admission order, each <= chunked_prefill_size,
//      all together <= max_prefill_tokens, and the whole batch <= the model's max_batch_tokens.
//   4. model.forward; for each request whose prompt is complete: sampler (logit processors before
//      temperature / top-p, as SGLang), append, incremental detokenization, stop checks (EOS unless
//      ignore_eos, stop_token_ids, stop strings with trimming, max_new_tokens, context length), one
//      GenerateOutput per request per iteration. Text that could still begin a stop string is held
//      back until it cannot.
//   5. Finished requests leave at once; their pages go back to the pool.
// Batch invariance: the kernels reduce in a fixed order per row, so a request's greedy tokens do not
// depend on its batch neighbours or the chunk size (tested in tests/unit/engine).
// Prefix cache (radix_cache.h, unless disable_radix_cache): at admission the longest cached prefix of
// the prompt (whole pages, leaving >= 1 prompt token to compute) is copied into the request's pages and
// only the rest is prefilled; when a request finishes, the full pages of prompt + output are copied
// into the cache. Cache pages come from the same pool: admission evicts LRU leaves while
// reserved pages + cache pages + the new request's pages exceed the pool.
// Speculative decoding (cfg.spec, speculative.h): step 3 puts [last token, d1..dk] of every decoding
// request in the batch (all_logits), step 4 accepts a run of tokens per request through the same stop
// checks (one event carries them all), truncates the K/V of rejected tokens, then one MTP draft-extend
// forward covers the new prompt chunks and accepted tokens. A prefix-cache hit recomputes its last
// position (the draft's K/V there depends on the next token); inserts stop where the draft's K/V is exact.
// Not implemented: retraction (not needed with worst-case reservation).
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "engine/engine.h"
#include "engine/output_constraints.h"
#include "engine/radix_cache.h"
#include "engine/request_state.h"
#include "engine/scheduler_config.h"
#include "engine/speculative.h"
#include "model/glm4_moe.h"
#include "tokenizer/tokenizer.h"

namespace glm {

class Scheduler : public Engine {
 public:
  // cfg.kv_capacity_tokens must be > 0 (see kv_budget.h). Logs the KV allocation as SGLang does.
  Scheduler(std::unique_ptr<Glm4MoeModel> model, Tokenizer tokenizer, SchedulerConfig cfg);
  ~Scheduler() override;

  void submit(GenerateRequest request, Sink sink) override;
  void abort(const std::string& rid) override;
  EngineStats stats() const override;
  // Waits for the loop thread to drop every cached page; false when requests are running or waiting.
  bool flush_cache() override;
  nlohmann::json server_info() const override;
  void pause_generation(PauseMode mode) override;
  void continue_generation() override;

  const Glm4MoeModel& model() const { return *model_; }
  // Longest prompt + output a request may have: --context-length, else the model's max positions.
  int64_t context_length() const {
    return cfg_.context_length > 0 ? cfg_.context_length : model_->config().max_position_embeddings;
  }
  int64_t kv_pool_pages() const { return n_pages_; }
  // Free pages of the pool as of the end of the last iteration.
  int64_t kv_free_pages() const;
  int64_t forward_calls() const;
  int64_t cache_pages() const;

 private:
  void loop();
  void take_aborts(std::unordered_set<std::string>& aborted);
  void admit();
  bool step();  // one forward; false when nothing ran
  void sample_and_emit(RequestState& r, const float* logits);
  void verify_and_emit(RequestState& r, const float* rows);
  // Appends one sampled token to r with every stop check; returns why r finished (None: it goes on).
  FinishReason append_token(RequestState& r, sampling::SampleResult& s, GenerateOutput& out);
  // Sends what append_token gathered (text up to what may still start a stop string), or finishes r.
  void emit(RequestState& r, FinishReason reason, GenerateOutput& out);
  void log_decode();
  void finish(RequestState& r, FinishReason reason, GenerateOutput& out);
  void release_done();

  std::unique_ptr<Glm4MoeModel> model_;
  Tokenizer tokenizer_;
  SchedulerConfig cfg_;
  std::unique_ptr<KvPagePool> kv_pool_;
  std::unique_ptr<RadixCache> cache_;  // null when disabled
  std::unique_ptr<SpeculativeDecoder> spec_;  // null without speculative decoding
  int64_t n_pages_ = 0;
  std::vector<int32_t> eos_ids_;
  sampling::ThinkingBudgetTokens think_tokens_;
  std::unique_ptr<OutputConstraints> constraints_;  // response_format / tool-name constraints

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<RequestState>> waiting_;  // guarded by mu_
  std::unordered_set<std::string> abort_queue_;        // guarded by mu_
  bool stop_ = false;
  bool paused_ = false;         // no admission, no forward (aborts are still applied)
  bool pause_seen_ = false;     // the loop saw paused_ between two iterations
  bool abort_everything_ = false;
  std::condition_variable pause_seen_cv_;
  bool flush_requested_ = false;
  std::condition_variable flush_done_;
  // Mirrors for stats(), written by the loop thread under mu_.
  int num_running_ = 0;
  int64_t free_pages_ = 0, reserved_pages_ = 0, forward_calls_ = 0, cache_pages_ = 0;
  int64_t total_cached_ = 0, total_prompt_ = 0, total_generated_ = 0, total_requests_ = 0;
  double gen_throughput_ = 0;
  double spec_accept_length_ = 0;

  // Loop thread only.
  std::vector<std::unique_ptr<RequestState>> running_;
  std::vector<RequestState*> batch_reqs_;
  std::vector<RequestState*> decode_reqs_;
  int64_t step_tokens_ = 0;     // tokens sampled by the last step
  int64_t decode_steps_ = 0;    // for the periodic decode log line
  std::vector<SequenceInput> batch_inputs_;
  std::vector<int> batch_spans_;  // inputs of each batch_reqs_ entry (a tree round verifies one per path)
  std::vector<float> logits_row_;
  std::vector<int32_t> cache_key_;  // prompt + output of a finishing request
  std::vector<RequestState*> admitted_;
  std::unordered_set<std::string> aborted_scratch_;
  std::thread worker_;
};

}  // namespace glm
