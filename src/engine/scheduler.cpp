#include "engine/scheduler.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "core/log.h"
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
  kv_pool_ = model_->make_kv_pool(n_pages_, cfg_.page_size, cfg_.kv_dtype);
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
  r->reserved_pages = (std::max<int64_t>(total, 1) + cfg_.page_size - 1) / cfg_.page_size;
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
          {"engine", "scheduler"}};
}

void Scheduler::loop() {
  for (;;) {
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] {
        return stop_ || flush_requested_ || !waiting_.empty() || !running_.empty() || !abort_queue_.empty();
      });
      if (stop_) {
        flush_done_.notify_all();
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
    admit();
    try {
      const auto t0 = std::chrono::steady_clock::now();
      if (step()) {
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::lock_guard lk(mu_);
        ++forward_calls_;
        if (s > 0) gen_throughput_ = double(batch_reqs_.size()) / s;  // tokens sampled per second
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
  {
    std::lock_guard lk(mu_);
    if (abort_queue_.empty()) return;
    aborted.swap(abort_queue_);
    for (auto it = waiting_.begin(); it != waiting_.end();) {
      if (aborted.count((*it)->req.rid)) {
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
    if (r->done || !aborted.count(r->req.rid)) continue;
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
    r->cached_tokens = cache_->match_into(r->req.input_ids, r->prompt_len() - 1, r->kv);
    r->prefilled = r->cached_tokens;
  }
  std::lock_guard lk(mu_);
  cache_pages_ = cache_->pages();
  free_pages_ = kv_pool_->free_pages();
}

bool Scheduler::step() {
  batch_reqs_.clear();
  batch_inputs_.clear();
  int64_t budget = model_->max_batch_tokens();
  // Decode tokens first: every running request past its prompt advances each iteration.
  for (auto& rp : running_) {
    RequestState& r = *rp;
    if (r.done || r.in_prefill() || budget < 1) continue;
    SequenceInput in;
    in.kv = &r.kv;
    in.tokens = std::span<const int32_t>(&r.output.back(), 1);
    in.start_pos = r.prompt_len() + int64_t(r.output.size()) - 1;
    budget -= 1;
    batch_reqs_.push_back(&r);
    batch_inputs_.push_back(in);
  }
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
    prefill_budget -= n;
    batch_reqs_.push_back(&r);
    batch_inputs_.push_back(in);
  }
  if (batch_reqs_.empty()) return false;
  ForwardResult res = model_->forward(std::span<const SequenceInput>(batch_inputs_), *kv_pool_);
  const int64_t vocab = model_->config().vocab_size;
  for (size_t i = 0; i < batch_reqs_.size(); ++i) {
    RequestState& r = *batch_reqs_[i];
    if (r.in_prefill()) {
      r.prefilled += int64_t(batch_inputs_[i].tokens.size());
      if (r.in_prefill()) continue;  // more prompt chunks to go
    }
    sample_and_emit(r, res.logits + int64_t(i) * vocab);
  }
  return true;
}

void Scheduler::sample_and_emit(RequestState& r, const float* logits) {
  const SamplingParams& sp = r.req.sampling;
  GenerateOutput out;
  out.rid = r.req.rid;
  out.prompt_tokens = int(r.prompt_len());
  if (sp.max_new_tokens == 0) {
    finish(r, FinishReason::Length, out);
    return;
  }
  std::copy_n(logits, logits_row_.size(), logits_row_.begin());
  sampling::SampleResult s =
      r.sampler->sample(logits_row_, r.req.input_ids, r.output, r.req.return_logprob, r.req.top_logprobs_num);
  r.output.push_back(s.token_id);
  out.new_token_ids.assign(1, s.token_id);
  if (r.req.return_logprob) out.logprobs.push_back({s.token_id, s.logprob, std::move(s.top_logprobs)});
  out.completion_tokens = int(r.output.size());
  out.cached_tokens = int(r.cached_tokens);

  const bool min_reached = int(r.output.size()) > sp.min_new_tokens;
  const bool is_stop_id =
      std::find(sp.stop_token_ids.begin(), sp.stop_token_ids.end(), s.token_id) != sp.stop_token_ids.end();
  const bool is_eos = !sp.ignore_eos && std::find(eos_ids_.begin(), eos_ids_.end(), s.token_id) != eos_ids_.end();
  FinishReason reason = FinishReason::None;
  if (min_reached && (is_stop_id || is_eos)) {
    reason = FinishReason::Stop;
    out.matched_stop = s.token_id;
    r.text += r.decoder->finish();
  } else {
    r.decoder->push(s.token_id, r.text);
    if (min_reached) {
      if (auto m = r.stops.find(r.text, r.emitted)) {
        reason = FinishReason::Stop;
        out.matched_stop = m->stop;
        r.text.resize(sp.no_stop_trim ? m->pos + m->stop.size() : m->pos);
      }
    }
    if (reason == FinishReason::None) {
      const bool at_limit = int(r.output.size()) >= sp.max_new_tokens;
      const bool at_context =
          r.prompt_len() + int64_t(r.output.size()) >= context_length();
      if (at_limit || at_context) {
        reason = FinishReason::Length;
        r.text += r.decoder->finish();
      }
    }
  }
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
  out.rid = r.req.rid;
  out.finished = true;
  out.finish_reason = reason;
  out.prompt_tokens = int(r.prompt_len());
  out.completion_tokens = int(r.output.size());
  out.cached_tokens = int(r.cached_tokens);
  const bool was_running =
      std::find_if(running_.begin(), running_.end(), [&](const auto& p) { return p.get() == &r; }) != running_.end();
  // Aborted requests are not cached: an abort may come from a failed forward with half-written pages.
  if (cache_ && was_running && reason != FinishReason::Abort && r.kv.length() > 0) {
    // Keep reserved + cache <= pool once this request's reservation is gone.
    const int64_t budget = n_pages_ - (reserved_pages_ - r.reserved_pages) - cache_->pages();
    cache_key_.assign(r.req.input_ids.begin(), r.req.input_ids.end());
    cache_key_.insert(cache_key_.end(), r.output.begin(), r.output.end());
    cache_->insert(cache_key_, r.kv.length(), r.kv, budget);
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
