#include "engine/scheduler.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "core/log.h"
#include "engine/prompt_logprobs.h"
#include "sampling/processor_registry.h"

namespace glm {

namespace {

sampling::SamplingConfig sampling_config(const SamplingParams& sp, const std::vector<int32_t>& eos_ids) {
  sampling::SamplingConfig cfg;
  cfg.temperature = sp.temperature;
  cfg.top_p = sp.top_p;
  cfg.top_k = sp.top_k;
  cfg.min_p = sp.min_p;
  cfg.frequency_penalty = sp.frequency_penalty;
  cfg.presence_penalty = sp.presence_penalty;
  cfg.repetition_penalty = sp.repetition_penalty;
  cfg.min_new_tokens = sp.min_new_tokens;
  cfg.stop_token_ids = sp.stop_token_ids;  // min_new_tokens masks these and EOS
  if (!sp.ignore_eos) cfg.stop_token_ids.insert(cfg.stop_token_ids.end(), eos_ids.begin(), eos_ids.end());
  cfg.seed = sp.seed;
  cfg.logit_bias = sp.logit_bias;
  return cfg;
}

}  // namespace

Scheduler::Scheduler(std::unique_ptr<Glm4MoeModel> model, Tokenizer tokenizer, SchedulerConfig cfg)
    : model_(std::move(model)), tokenizer_(std::move(tokenizer)), cfg_(cfg) {
  if (cfg_.kv_capacity_tokens <= 0 || cfg_.page_size <= 0)
    fail(ErrorKind::InvalidArgument, "scheduler: kv_capacity_tokens ({}) and page_size ({}) must be > 0",
         cfg_.kv_capacity_tokens, cfg_.page_size);
  if (cfg_.max_running_requests <= 0) cfg_.max_running_requests = 1;
  if (cfg_.max_prefill_tokens <= 0) cfg_.max_prefill_tokens = model_->max_batch_tokens();
  n_pages_ = (cfg_.kv_capacity_tokens + cfg_.page_size - 1) / cfg_.page_size;
  // With speculation the MTP draft's K/V is one more layer of the same pages (speculative.h).
  kv_pool_ = model_->make_kv_pool(n_pages_, cfg_.page_size, cfg_.kv_dtype, cfg_.spec.enabled());
  free_pages_ = kv_pool_->free_pages();
  if (!cfg_.disable_radix_cache) cache_ = std::make_unique<RadixCache>(*kv_pool_);
  const size_t half = kv_pool_->bytes() / 2;
  spdlog::info("KV Cache is allocated. #tokens: {}, K size: {:.2f} GB, V size: {:.2f} GB, dtype: {}",
               n_pages_ * cfg_.page_size, double(half) / double(1 << 30), double(half) / double(1 << 30),
               kv_dtype_name(kv_pool_->dtype()));
  for (int64_t id : model_->config().eos_token_ids) eos_ids_.push_back(int32_t(id));
  for (int32_t id : tokenizer_.eos_token_ids())
    if (std::find(eos_ids_.begin(), eos_ids_.end(), id) == eos_ids_.end()) eos_ids_.push_back(id);
  think_tokens_.think_start = tokenizer_.token_to_id("<think>").value_or(-1);
  think_tokens_.think_end = tokenizer_.token_to_id("</think>").value_or(-1);
  auto nl = tokenizer_.encode("\n", false);
  if (nl.size() == 1) think_tokens_.newline_ids = nl;
  logits_row_.resize(size_t(model_->config().vocab_size));
  constraints_ = std::make_unique<OutputConstraints>(tokenizer_, model_->config().vocab_size, eos_ids_,
                                                     think_tokens_.think_end);
  if (cfg_.spec.enabled()) {
    spec_ = std::make_unique<SpeculativeDecoder>(*model_, cfg_.spec);
    // before the loop thread; a tree round has a fixed shape (speculative.h): no depth policy to calibrate
    if (!cfg_.spec.tree() && (cfg_.spec.adaptive || cfg_.spec.guard)) spec_->calibrate(*kv_pool_);
    if (cfg_.spec.tree())
      spdlog::info("speculative decoding: EAGLE tree over the MTP layer, {} steps, topk {}, {} draft tokens",
                   cfg_.spec.num_steps, cfg_.spec.topk, cfg_.spec.num_draft_tokens);
    else
      spdlog::info("speculative decoding: EAGLE chain over the MTP layer, {} steps{}", cfg_.spec.num_steps,
                   cfg_.spec.adaptive ? " at most (adaptive depth)" : "");
  }
  worker_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

void Scheduler::submit(GenerateRequest request, Sink sink) {
  const int64_t vocab = model_->config().vocab_size;
  if (request.input_ids.empty()) fail(ErrorKind::InvalidArgument, "{}: empty prompt", request.rid);
  for (int32_t id : request.input_ids)
    if (id < 0 || id >= vocab) fail(ErrorKind::InvalidArgument, "{}: token id {} is outside the vocabulary", request.rid, id);
  const SamplingParams& sp = request.sampling;
  if (sp.max_new_tokens < 0) fail(ErrorKind::InvalidArgument, "{}: max_new_tokens must be >= 0", request.rid);
  const int64_t total = int64_t(request.input_ids.size()) + sp.max_new_tokens;
  if (total > context_length())
    fail(ErrorKind::InvalidArgument, "{}: prompt ({} tokens) + max_new_tokens ({}) exceeds the context length {}",
         request.rid, request.input_ids.size(), sp.max_new_tokens, context_length());
  auto r = std::make_unique<RequestState>();
  r->reserved_pages = (std::max<int64_t>(total, 1) + cfg_.page_size - 1) / cfg_.page_size +
                      (spec_ ? spec_->extra_pages(cfg_.page_size) : 0);  // tree drafting's forks
  if (r->reserved_pages > n_pages_)
    fail(ErrorKind::InvalidArgument, "{}: prompt + max_new_tokens = {} tokens exceeds the KV pool ({} tokens)",
         request.rid, total, n_pages_ * cfg_.page_size);
  r->sampler = std::make_unique<sampling::Sampler>(sampling_config(sp, eos_ids_), size_t(vocab));
  if (!sp.custom_logit_processor.empty())  // throws InvalidArgument for an unknown processor
    r->sampler->set_logit_processor(sampling::resolve_logit_processor(sp.custom_logit_processor, think_tokens_),
                                    sp.custom_params);
  r->sampler->set_constraint(constraints_->make(sp));  // throws InvalidArgument for a bad json_schema
  r->decoder = std::make_unique<IncrementalDecoder>(tokenizer_, sp.skip_special_tokens);
  r->stops = StopStringMatcher(sp.stop);
  r->stop_regex = StopRegexMatcher(sp.stop_regex);  // throws InvalidArgument for a pattern it cannot run
  r->req = std::move(request);
  r->sink = std::move(sink);
  {
    std::lock_guard lk(mu_);
    abort_queue_.erase(r->req.rid);
    waiting_.push_back(std::move(r));
  }
  cv_.notify_all();
}

void Scheduler::abort(const std::string& rid) {
  {
    std::lock_guard lk(mu_);
    abort_queue_.insert(rid);
  }
  cv_.notify_all();
}

EngineStats Scheduler::stats() const {
  std::lock_guard lk(mu_);
  EngineStats s;
  s.num_running = num_running_;
  s.num_waiting = int(waiting_.size());
  s.kv_capacity_tokens = n_pages_ * cfg_.page_size;
  s.kv_free_tokens = free_pages_ * cfg_.page_size;
  s.kv_cached_tokens = cache_pages_ * cfg_.page_size;
  s.total_cached_tokens = total_cached_;
  s.gen_throughput_tok_s = gen_throughput_;
  s.total_prompt_tokens = total_prompt_;
  s.total_generated_tokens = total_generated_;
  s.total_requests = total_requests_;
  s.spec_accept_length = spec_accept_length_;
  return s;
}

int64_t Scheduler::kv_free_pages() const {
  std::lock_guard lk(mu_);
  return free_pages_;
}

int64_t Scheduler::cache_pages() const {
  std::lock_guard lk(mu_);
  return cache_pages_;
}

void Scheduler::pause_generation(PauseMode mode) {
  std::unique_lock lk(mu_);
  paused_ = true;
  pause_seen_ = false;
  if (mode == PauseMode::Abort) abort_everything_ = true;
  cv_.notify_all();
  pause_seen_cv_.wait(lk, [&] { return pause_seen_ || stop_; });  // the forward in flight, if any, is over
}

void Scheduler::continue_generation() {
  {
    std::lock_guard lk(mu_);
    paused_ = false;
  }
  cv_.notify_all();
}

bool Scheduler::flush_cache() {
  std::unique_lock lk(mu_);
  if (!waiting_.empty() || num_running_ > 0) return false;
  flush_requested_ = true;
  cv_.notify_all();
  flush_done_.wait(lk, [&] { return !flush_requested_ || stop_; });
  return true;
}

int64_t Scheduler::forward_calls() const {
  std::lock_guard lk(mu_);
  return forward_calls_;
}

nlohmann::json Scheduler::server_info() const {
  return {{"max_total_num_tokens", n_pages_ * cfg_.page_size},
          {"max_running_requests", cfg_.max_running_requests},
          {"chunked_prefill_size", cfg_.chunked_prefill_size},
          {"max_prefill_tokens", cfg_.max_prefill_tokens},
          {"page_size", cfg_.page_size},
          {"disable_radix_cache", cache_ == nullptr},
          {"context_length", context_length()},
          {"speculative_num_steps", cfg_.spec.num_steps},
          {"speculative_eagle_topk", cfg_.spec.topk},
          {"speculative_adaptive_depth", cfg_.spec.adaptive},
          {"engine", "scheduler"}};
}

void Scheduler::loop() {
  for (;;) {
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] {
        return stop_ || flush_requested_ || !abort_queue_.empty() || abort_everything_ || (paused_ && !pause_seen_) ||
               (!paused_ && (!waiting_.empty() || !running_.empty()));
      });
      if (stop_) {
        flush_done_.notify_all();
        pause_seen_cv_.notify_all();
        break;
      }
      if (flush_requested_) {
        if (cache_ && running_.empty()) cache_->clear();
        cache_pages_ = cache_ ? cache_->pages() : 0;
        free_pages_ = kv_pool_->free_pages();
        flush_requested_ = false;
        flush_done_.notify_all();
      }
    }
    take_aborts(aborted_scratch_);
    bool paused;
    {
      std::lock_guard lk(mu_);
      paused = paused_;
    }
    if (paused) {  // between two iterations: no forward runs until continue_generation()
      release_done();
      {
        std::lock_guard lk(mu_);
        pause_seen_ = true;
      }
      pause_seen_cv_.notify_all();
      continue;
    }
    admit();
    try {
      const auto t0 = std::chrono::steady_clock::now();
      if (step()) {
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::lock_guard lk(mu_);
        // The step allocated pages for the tokens it computed: /get_load and /metrics read these.
        cache_pages_ = cache_ ? cache_->pages() : 0;
        free_pages_ = kv_pool_->free_pages();
        ++forward_calls_;
        if (s > 0) gen_throughput_ = double(step_tokens_) / s;  // tokens sampled per second
        if (spec_ && spec_->rounds() > 0)
          spec_accept_length_ = double(spec_->round_tokens()) / double(spec_->rounds());
      }
    } catch (const std::exception& e) {
      spdlog::error("scheduler: forward failed: {}", e.what());
      for (auto& r : running_) {
        if (r->done) continue;
        GenerateOutput out;
        out.abort_message = e.what();
        finish(*r, FinishReason::Abort, out);
      }
    }
    release_done();
  }
}

void Scheduler::take_aborts(std::unordered_set<std::string>& aborted) {
  aborted.clear();
  std::vector<std::unique_ptr<RequestState>> dropped;
  bool all = false;  // /pause_generation mode abort: every request
  {
    std::lock_guard lk(mu_);
    all = abort_everything_;
    abort_everything_ = false;
    if (abort_queue_.empty() && !all) return;
    aborted.swap(abort_queue_);
    for (auto it = waiting_.begin(); it != waiting_.end();) {
      if (all || aborted.count((*it)->req.rid)) {
        dropped.push_back(std::move(*it));
        it = waiting_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& r : dropped) {
    GenerateOutput out;
    out.abort_message = "Aborted by the client.";
    finish(*r, FinishReason::Abort, out);
  }
  for (auto& r : running_) {
    if (r->done || (!all && !aborted.count(r->req.rid))) continue;
    GenerateOutput out;
    out.abort_message = "Aborted by the client.";
    finish(*r, FinishReason::Abort, out);
  }
}

void Scheduler::admit() {
  admitted_.clear();
  {
    std::lock_guard lk(mu_);
    while (!waiting_.empty() && int(running_.size()) < cfg_.max_running_requests) {
      const int64_t need = waiting_.front()->reserved_pages;
      const int64_t cached = cache_ ? cache_->pages() : 0;
      if (cache_ && reserved_pages_ + cached + need > n_pages_) cache_->evict(reserved_pages_ + cached + need - n_pages_);
      if (reserved_pages_ + (cache_ ? cache_->pages() : 0) + need > n_pages_) break;
      reserved_pages_ += need;
      admitted_.push_back(waiting_.front().get());
      running_.push_back(std::move(waiting_.front()));
      waiting_.pop_front();
    }
    num_running_ = int(running_.size());
  }
  if (!cache_) return;
  for (RequestState* r : admitted_) {
    // Leave one prompt token to compute: its logits give the first output token.
    // Prompt logprobs from position s need the logits of position s - 1 computed here.
    int64_t limit = r->prompt_len() - 1;
    if (r->req.logprob_start_len >= 0) limit = std::min<int64_t>(limit, std::max(r->req.logprob_start_len - 1, 0));
    r->cached_tokens = cache_->match_into(r->req.input_ids, limit, r->kv);
    if (spec_ && r->cached_tokens > 0) {
      // The draft's K/V at the last matched position was made with the token after it, which the cache
      // key does not hold: recompute that position (its target K/V comes out identical).
      r->kv.truncate(--r->cached_tokens);
    }
    r->prefilled = r->cached_tokens;
    r->spec.draft_valid = r->cached_tokens;
  }
  std::lock_guard lk(mu_);
  cache_pages_ = cache_->pages();
  free_pages_ = kv_pool_->free_pages();
}

bool Scheduler::step() {
  const auto t_step = std::chrono::steady_clock::now();
  batch_reqs_.clear();
  batch_inputs_.clear();
  batch_spans_.clear();
  decode_reqs_.clear();
  step_tokens_ = 0;
  int64_t budget = model_->max_batch_tokens();
  for (auto& rp : running_)
    if (!rp->done && !rp->in_prefill()) decode_reqs_.push_back(rp.get());
  // With speculation a decoding request verifies [last, d1..dk] (drafted here); else it feeds its last token.
  if (spec_) budget -= spec_->plan(decode_reqs_, budget, context_length(), *kv_pool_);
  for (RequestState* rp : decode_reqs_) {
    RequestState& r = *rp;
    if (spec_) {
      if (r.spec.depth < 0) continue;  // did not fit this iteration
      batch_reqs_.push_back(&r);
      batch_spans_.push_back(spec_->append_inputs(r, batch_inputs_));  // a tree verifies one input per path
      continue;
    }
    if (budget < 1) continue;
    SequenceInput in;
    in.kv = &r.kv;
    in.start_pos = r.prompt_len() + int64_t(r.output.size()) - 1;
    in.tokens = std::span<const int32_t>(&r.output.back(), 1);
    budget -= 1;
    batch_reqs_.push_back(&r);
    batch_inputs_.push_back(in);
    batch_spans_.push_back(1);
  }
  const size_t n_decode = batch_reqs_.size();
  int64_t prefill_budget = std::min(budget, cfg_.max_prefill_tokens);
  for (auto& rp : running_) {
    RequestState& r = *rp;
    if (r.done || !r.in_prefill() || prefill_budget < 1) continue;
    int64_t n = std::min(r.prompt_len() - r.prefilled, prefill_budget);
    if (cfg_.chunked_prefill_size > 0) n = std::min(n, cfg_.chunked_prefill_size);
    SequenceInput in;
    in.kv = &r.kv;
    in.tokens = std::span<const int32_t>(r.req.input_ids.data() + r.prefilled, size_t(n));
    in.start_pos = r.prefilled;
    in.all_logits = r.req.logprob_start_len >= 0;  // every row scores a prompt token
    prefill_budget -= n;
    batch_reqs_.push_back(&r);
    batch_inputs_.push_back(in);
    batch_spans_.push_back(1);
  }
  if (batch_reqs_.empty()) return false;
  ForwardResult res = model_->forward(std::span<const SequenceInput>(batch_inputs_), *kv_pool_);
  const int64_t vocab = model_->config().vocab_size;
  int64_t row = 0, token = 0;  // first logits row / hidden row of each sequence
  for (size_t i = 0, k = 0; i < batch_reqs_.size(); k += size_t(batch_spans_[i]), ++i) {
    RequestState& r = *batch_reqs_[i];
    const SequenceInput& in = batch_inputs_[k];
    int64_t n = 0;  // all the request's inputs (tree paths are consecutive)
    const float* logits = res.logits + row * vocab;
    for (size_t j = k; j < k + size_t(batch_spans_[i]); ++j) {
      n += int64_t(batch_inputs_[j].tokens.size());
      row += batch_inputs_[j].all_logits ? int64_t(batch_inputs_[j].tokens.size()) : 1;
    }
    token += n;
    const size_t before = r.output.size();
    if (r.in_prefill()) {
      r.prefilled += n;
      if (in.all_logits) {
        append_prompt_logprobs(logits, n, vocab, in.start_pos, r.req.input_ids, r.req.logprob_start_len,
                               r.req.top_logprobs_num, r.input_logprobs);
        logits += (n - 1) * vocab;  // the last row samples the first output token
      }
      if (!r.in_prefill()) sample_and_emit(r, logits);  // else more prompt chunks to go
      if (spec_ && !r.done) spec_->add_extend(r, in.start_pos, n, token - n, false);
    } else if (spec_) {
      verify_and_emit(r, logits);
      // Accepted drafts and the bonus token: the draft extends over the target's hidden states of
      // [last, d1..da] paired with [d1..da, bonus].
      if (!r.done)
        spec_->add_extend(r, in.start_pos, int64_t(r.output.size() - before), token - n + r.spec.win_row, true);
    } else {
      sample_and_emit(r, logits);
    }
    step_tokens_ += int64_t(r.output.size() - before);
  }
  if (spec_) {
    spec_->run_extend(res, *kv_pool_);
    if (n_decode == batch_reqs_.size())  // decode-only: the depth policy learns the whole iteration's cost
      spec_->record_iteration(int(n_decode),
                              std::chrono::duration<double>(std::chrono::steady_clock::now() - t_step).count());
  }
  if (n_decode > 0 && ++decode_steps_ % 40 == 0) log_decode();
  return true;
}

void Scheduler::log_decode() {
  int64_t tokens = 0;
  for (const auto& r : running_)
    if (!r->done) tokens += r->kv.length();
  std::lock_guard lk(mu_);
  if (spec_)
    spdlog::info("Decode batch. #running-req: {}, #token: {}, token usage: {:.2f}, accept len: {:.2f}, "
                 "gen throughput (token/s): {:.2f}, #queue-req: {}",
                 running_.size(), tokens, double(tokens) / double(n_pages_ * cfg_.page_size), spec_accept_length_,
                 gen_throughput_, waiting_.size());
  else
    spdlog::info("Decode batch. #running-req: {}, #token: {}, token usage: {:.2f}, gen throughput (token/s): {:.2f}, "
                 "#queue-req: {}",
                 running_.size(), tokens, double(tokens) / double(n_pages_ * cfg_.page_size), gen_throughput_,
                 waiting_.size());
}

void Scheduler::sample_and_emit(RequestState& r, const float* logits) {
  GenerateOutput out;
  out.input_logprobs = std::move(r.input_logprobs);  // empty after the first event
  if (r.req.sampling.max_new_tokens == 0) {
    finish(r, FinishReason::Length, out);
    return;
  }
  std::copy_n(logits, logits_row_.size(), logits_row_.begin());
  sampling::SampleResult s =
      r.sampler->sample(logits_row_, r.req.input_ids, r.output, r.req.return_logprob, r.req.top_logprobs_num);
  FinishReason reason = append_token(r, s, out);
  emit(r, reason, out);
}

void Scheduler::verify_and_emit(RequestState& r, const float* rows) {
  GenerateOutput out;
  FinishReason reason = FinishReason::None;
  spec_->verify(r, rows, logits_row_, [&](sampling::SampleResult& s) {
    reason = append_token(r, s, out);
    return reason == FinishReason::None;
  });
  // Keep the K/V of the tokens kept (all but the newest output token); rejected drafts are overwritten.
  r.kv.truncate(r.prompt_len() + int64_t(r.output.size()) - 1);
  emit(r, reason, out);
}

FinishReason Scheduler::append_token(RequestState& r, sampling::SampleResult& s, GenerateOutput& out) {
  const SamplingParams& sp = r.req.sampling;
  r.output.push_back(s.token_id);
  out.new_token_ids.push_back(s.token_id);
  if (r.req.return_logprob) out.logprobs.push_back({s.token_id, s.logprob, std::move(s.top_logprobs)});

  const bool min_reached = int(r.output.size()) > sp.min_new_tokens;
  const bool is_stop_id =
      std::find(sp.stop_token_ids.begin(), sp.stop_token_ids.end(), s.token_id) != sp.stop_token_ids.end();
  const bool is_eos = !sp.ignore_eos && std::find(eos_ids_.begin(), eos_ids_.end(), s.token_id) != eos_ids_.end();
  FinishReason reason = FinishReason::None;
  if (min_reached && (is_stop_id || is_eos)) {
    reason = FinishReason::Stop;
    out.matched_stop = s.token_id;
    r.text += r.decoder->finish();
    return reason;
  }
  r.decoder->push(s.token_id, r.text);
  if (min_reached) {
    if (auto m = r.stops.find(r.text, r.emitted)) {
      out.matched_stop = m->stop;
      r.text.resize(sp.no_stop_trim ? m->pos + m->stop.size() : m->pos);
      return FinishReason::Stop;
    }
    if (!r.stop_regex.empty()) {
      try {
        if (const std::string* pattern = r.stop_regex.advance(r.text)) {
          out.matched_stop = *pattern;
          return FinishReason::Stop;
        }
      } catch (const GlmError& e) {  // the pattern's DFA outgrew its state limit on this output
        out.abort_message = e.what();
        return FinishReason::Abort;
      }
    }
  }
  const bool at_limit = int(r.output.size()) >= sp.max_new_tokens;
  const bool at_context = r.prompt_len() + int64_t(r.output.size()) >= context_length();
  if (at_limit || at_context) {
    reason = FinishReason::Length;
    r.text += r.decoder->finish();
  }
  return reason;
}

// The per-request counters every event carries.
static void fill_counters(const RequestState& r, GenerateOutput& out) {
  out.rid = r.req.rid;
  out.prompt_tokens = int(r.prompt_len());
  out.completion_tokens = int(r.output.size());
  out.cached_tokens = int(r.cached_tokens);
  out.spec_verify_ct = r.spec.verify_ct;
  out.spec_accepted_tokens = r.spec.accepted;
  out.spec_draft_tokens = r.spec.drafted;
}

void Scheduler::emit(RequestState& r, FinishReason reason, GenerateOutput& out) {
  fill_counters(r, out);
  size_t visible = r.text.size();
  if (reason == FinishReason::None) {
    visible -= r.stops.hold_back(r.text);
    visible = utf8_safe_end(r.text, r.emitted, std::max(visible, r.emitted));
  }
  out.new_text.assign(r.text, r.emitted, visible - r.emitted);
  r.emitted = visible;
  if (reason != FinishReason::None)
    finish(r, reason, out);
  else
    r.sink(out);
}

void Scheduler::finish(RequestState& r, FinishReason reason, GenerateOutput& out) {
  fill_counters(r, out);
  out.finished = true;
  out.finish_reason = reason;
  const bool was_running =
      std::find_if(running_.begin(), running_.end(), [&](const auto& p) { return p.get() == &r; }) != running_.end();
  // Aborted requests are not cached: an abort may come from a failed forward with half-written pages.
  if (cache_ && was_running && reason != FinishReason::Abort && r.kv.length() > 0) {
    // Keep reserved + cache <= pool once this request's reservation is gone.
    const int64_t budget = n_pages_ - (reserved_pages_ - r.reserved_pages) - cache_->pages();
    cache_key_.assign(r.req.input_ids.begin(), r.req.input_ids.end());
    cache_key_.insert(cache_key_.end(), r.output.begin(), r.output.end());
    // With speculation only positions whose draft K/V is exact go in (the last round's are not).
    const int64_t valid = spec_ ? std::min(r.kv.length(), r.spec.draft_valid) : r.kv.length();
    cache_->insert(cache_key_, valid, r.kv, budget);
  }
  // Pages go back before the sink runs, so a client that saw the final event sees the pool freed.
  r.kv.release(*kv_pool_);
  {
    std::lock_guard lk(mu_);
    total_cached_ += r.cached_tokens;
    cache_pages_ = cache_ ? cache_->pages() : 0;
    total_prompt_ += out.prompt_tokens;
    total_generated_ += out.completion_tokens;
    ++total_requests_;
    if (was_running) {
      reserved_pages_ -= r.reserved_pages;
      --num_running_;
    }
    r.reserved_pages = 0;
    free_pages_ = kv_pool_->free_pages();
  }
  r.done = true;
  if (r.sink) r.sink(out);
}

void Scheduler::release_done() {
  for (auto& r : running_)
    if (r->done) r.reset();
  running_.erase(std::remove(running_.begin(), running_.end(), nullptr), running_.end());
  std::lock_guard lk(mu_);
  num_running_ = int(running_.size());
}

}  // namespace glm
