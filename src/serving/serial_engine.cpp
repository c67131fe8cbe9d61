#include "serving/serial_engine.h"

#include <algorithm>

#include "core/error.h"
#include "core/log.h"
#include "sampling/processor_registry.h"
#include "sampling/sampler.h"
#include "tokenizer/incremental_decoder.h"

namespace glm::serving {

struct SerialEngine::Active {
  GenerateRequest req;
  Sink sink;
  KvSequence kv;
  std::vector<int32_t> output;
  int64_t prefilled = 0;          // prompt tokens already in the KV cache
  std::unique_ptr<sampling::Sampler> sampler;
  std::unique_ptr<IncrementalDecoder> decoder;
  std::string text;               // all decoded output text
  size_t emitted = 0;             // bytes of `text` already sent
  size_t stop_hold = 0;           // longest stop string - 1: bytes held back while a stop may form
  int64_t reserved = 0;
};

SerialEngine::SerialEngine(std::unique_ptr<Glm4MoeModel> model, Tokenizer tokenizer, int64_t kv_tokens,
                           int64_t max_batch_tokens)
    : model_(std::move(model)), tokenizer_(std::move(tokenizer)), max_batch_tokens_(max_batch_tokens) {
  kv_capacity_tokens_ = (kv_tokens + page_size_ - 1) / page_size_ * page_size_;
  // Each sequence may waste up to one partial page: allow for that in the pool.
  kv_pool_ = model_->make_kv_pool(kv_capacity_tokens_ / page_size_ + 256, page_size_);
  for (int64_t id : model_->config().eos_token_ids) eos_ids_.push_back(static_cast<int32_t>(id));
  for (int32_t id : tokenizer_.eos_token_ids())
    if (std::find(eos_ids_.begin(), eos_ids_.end(), id) == eos_ids_.end()) eos_ids_.push_back(id);
  worker_ = std::thread([this] { loop(); });
}

SerialEngine::~SerialEngine() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

void SerialEngine::submit(GenerateRequest request, Sink sink) {
  const int64_t vocab = model_->config().vocab_size;
  for (int32_t id : request.input_ids)
    if (id < 0 || id >= vocab) fail(ErrorKind::InvalidArgument, "{}: token id {} is outside the vocabulary", request.rid, id);
  if (request.input_ids.empty()) fail(ErrorKind::InvalidArgument, "{}: empty prompt", request.rid);
  auto a = std::make_unique<Active>();
  a->reserved = static_cast<int64_t>(request.input_ids.size()) + std::max(request.sampling.max_new_tokens, 0);
  if (a->reserved > kv_capacity_tokens_)
    fail(ErrorKind::InvalidArgument, "{}: prompt + max_new_tokens = {} tokens exceeds the KV pool ({} tokens)",
         request.rid, a->reserved, kv_capacity_tokens_);
  const SamplingParams& sp = request.sampling;
  sampling::SamplingConfig cfg;
  cfg.temperature = sp.temperature;
  cfg.top_p = sp.top_p;
  cfg.top_k = sp.top_k;
  cfg.min_p = sp.min_p;
  cfg.frequency_penalty = sp.frequency_penalty;
  cfg.presence_penalty = sp.presence_penalty;
  cfg.repetition_penalty = sp.repetition_penalty;
  cfg.min_new_tokens = sp.min_new_tokens;
  cfg.stop_token_ids = sp.stop_token_ids;
  if (!sp.ignore_eos) cfg.stop_token_ids.insert(cfg.stop_token_ids.end(), eos_ids_.begin(), eos_ids_.end());
  cfg.seed = sp.seed;
  a->sampler = std::make_unique<sampling::Sampler>(cfg, static_cast<size_t>(vocab));
  if (!sp.custom_logit_processor.empty()) {
    sampling::ThinkingBudgetTokens tt;
    tt.think_start = tokenizer_.token_to_id("<think>").value_or(-1);
    tt.think_end = tokenizer_.token_to_id("</think>").value_or(-1);
    auto nl = tokenizer_.encode("\n", false);
    if (nl.size() == 1) tt.newline_ids = nl;
    a->sampler->set_logit_processor(sampling::resolve_logit_processor(sp.custom_logit_processor, tt),
                                    sp.custom_params);
  }
  a->decoder = std::make_unique<IncrementalDecoder>(tokenizer_, sp.skip_special_tokens);
  for (const auto& s : sp.stop) a->stop_hold = std::max(a->stop_hold, s.empty() ? 0 : s.size() - 1);
  a->req = std::move(request);
  a->sink = std::move(sink);
  {
    std::lock_guard lk(mu_);
    aborted_.erase(a->req.rid);
    waiting_.push_back(std::move(a));
  }
  cv_.notify_all();
}

void SerialEngine::abort(const std::string& rid) {
  {
    std::lock_guard lk(mu_);
    aborted_.insert(rid);
  }
  cv_.notify_all();
}

EngineStats SerialEngine::stats() const {
  std::lock_guard lk(mu_);
  EngineStats s;
  s.num_running = num_running_;
  s.num_waiting = static_cast<int>(waiting_.size());
  s.kv_capacity_tokens = kv_capacity_tokens_;
  s.kv_free_tokens = kv_capacity_tokens_ - reserved_tokens_;
  s.total_prompt_tokens = total_prompt_;
  s.total_generated_tokens = total_generated_;
  s.total_requests = total_requests_;
  return s;
}

nlohmann::json SerialEngine::server_info() const {
  return {{"max_total_num_tokens", kv_capacity_tokens_},
          {"max_req_input_len", kv_capacity_tokens_},
          {"engine", "serial (stand-in until the scheduler lands)"},
          {"page_size", page_size_}};
}

void SerialEngine::loop() {
  for (;;) {
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stop_ || !waiting_.empty() || !active_.empty(); });
      if (stop_) break;
      // Admit what fits the KV pool, in arrival order.
      while (!waiting_.empty() && reserved_tokens_ + waiting_.front()->reserved <= kv_capacity_tokens_) {
        reserved_tokens_ += waiting_.front()->reserved;
        active_.push_back(std::move(waiting_.front()));
        waiting_.pop_front();
      }
      num_running_ = static_cast<int>(active_.size());
    }
    try {
      step();
    } catch (const std::exception& e) {
      spdlog::error("engine step failed: {}", e.what());
      for (auto& a : active_) {
        if (!a || !a->sink) continue;
        GenerateOutput out;
        out.abort_message = e.what();
        finish(*a, FinishReason::Abort, out);
      }
    }
    // Drop finished requests and give their KV back.
    std::lock_guard lk(mu_);
    for (auto& a : active_) {
      if (a && !a->sink) {
        a->kv.release(*kv_pool_);
        reserved_tokens_ -= a->reserved;
        a.reset();
      }
    }
    active_.erase(std::remove(active_.begin(), active_.end(), nullptr), active_.end());
    num_running_ = static_cast<int>(active_.size());
  }
}

void SerialEngine::finish(Active& a, FinishReason reason, GenerateOutput& out) {
  out.rid = a.req.rid;
  out.finished = true;
  out.finish_reason = reason;
  out.prompt_tokens = static_cast<int>(a.req.input_ids.size());
  out.completion_tokens = static_cast<int>(a.output.size());
  {
    std::lock_guard lk(mu_);
    total_prompt_ += out.prompt_tokens;
    total_generated_ += out.completion_tokens;
    ++total_requests_;
    aborted_.erase(a.req.rid);
  }
  a.sink(out);
  a.sink = nullptr;  // marks the request done for loop()
}

bool SerialEngine::step() {
  std::vector<Active*> batch;
  std::vector<SequenceInput> inputs;
  int64_t budget = max_batch_tokens_;
  std::set<std::string> aborted;
  {
    std::lock_guard lk(mu_);
    aborted = aborted_;
  }
  for (auto& ap : active_) {
    Active& a = *ap;
    if (aborted.count(a.req.rid)) {
      GenerateOutput out;
      out.abort_message = "Aborted by the client.";
      finish(a, FinishReason::Abort, out);
      continue;
    }
    const int64_t prompt_len = static_cast<int64_t>(a.req.input_ids.size());
    SequenceInput in;
    in.kv = &a.kv;
    if (a.prefilled < prompt_len) {
      int64_t n = std::min(prompt_len - a.prefilled, budget);
      if (n <= 0) continue;
      in.tokens = std::span<const int32_t>(a.req.input_ids.data() + a.prefilled, static_cast<size_t>(n));
      in.start_pos = a.prefilled;
    } else {
      if (budget < 1) continue;
      in.tokens = std::span<const int32_t>(&a.output.back(), 1);
      in.start_pos = prompt_len + static_cast<int64_t>(a.output.size()) - 1;
    }
    a.kv.reserve(*kv_pool_, in.start_pos + static_cast<int64_t>(in.tokens.size()));
    budget -= static_cast<int64_t>(in.tokens.size());
    batch.push_back(&a);
    inputs.push_back(in);
  }
  if (batch.empty()) return false;
  ForwardResult r = model_->forward(std::span<const SequenceInput>(inputs), *kv_pool_);
  const int64_t vocab = model_->config().vocab_size;
  std::vector<float> row(static_cast<size_t>(vocab));
  for (size_t i = 0; i < batch.size(); ++i) {
    Active& a = *batch[i];
    const int64_t prompt_len = static_cast<int64_t>(a.req.input_ids.size());
    if (a.prefilled < prompt_len) {
      a.prefilled += static_cast<int64_t>(inputs[i].tokens.size());
      if (a.prefilled < prompt_len) continue;  // more prompt chunks to go
    }
    if (a.req.sampling.max_new_tokens <= 0) {
      GenerateOutput out;
      finish(a, FinishReason::Length, out);
      continue;
    }
    std::copy_n(r.logits + static_cast<int64_t>(i) * vocab, vocab, row.begin());
    sampling::SampleResult s = a.sampler->sample(row, a.req.input_ids, a.output, a.req.return_logprob,
                                                  a.req.top_logprobs_num);
    a.output.push_back(s.token_id);
    GenerateOutput out;
    out.rid = a.req.rid;
    out.new_token_ids = {s.token_id};
    if (a.req.return_logprob) out.logprobs.push_back({s.token_id, s.logprob, std::move(s.top_logprobs)});
    out.prompt_tokens = static_cast<int>(prompt_len);
    out.completion_tokens = static_cast<int>(a.output.size());

    const SamplingParams& sp = a.req.sampling;
    bool is_stop_id = std::find(sp.stop_token_ids.begin(), sp.stop_token_ids.end(), s.token_id) != sp.stop_token_ids.end();
    bool is_eos = !sp.ignore_eos && std::find(eos_ids_.begin(), eos_ids_.end(), s.token_id) != eos_ids_.end();
    FinishReason reason = FinishReason::None;
    if (is_stop_id || is_eos) {
      reason = FinishReason::Stop;
      out.matched_stop = s.token_id;
      a.text += a.decoder->finish();
    } else {
      a.decoder->push(s.token_id, a.text);
      // Stop strings: searched in the text not yet sent (plus the held-back tail).
      size_t from = a.emitted;
      for (const auto& stop : sp.stop) {
        if (stop.empty()) continue;
        size_t pos = a.text.find(stop, from);
        if (pos != std::string::npos) {
          reason = FinishReason::Stop;
          out.matched_stop = stop;
          a.text.resize(sp.no_stop_trim ? pos + stop.size() : pos);
          break;
        }
      }
      if (reason == FinishReason::None) {
        bool at_limit = static_cast<int>(a.output.size()) >= sp.max_new_tokens;
        bool at_context = prompt_len + static_cast<int64_t>(a.output.size()) >= model_->config().max_position_embeddings;
        if (at_limit || at_context) {
          reason = FinishReason::Length;
          a.text += a.decoder->finish();
        }
      }
    }
    size_t visible = reason == FinishReason::None && a.text.size() > a.stop_hold ? a.text.size() - a.stop_hold
                     : reason == FinishReason::None ? a.emitted
                                                    : a.text.size();
    visible = std::max(visible, a.emitted);
    // Never cut a UTF-8 sequence between two events.
    while (visible > a.emitted && visible < a.text.size() && (static_cast<unsigned char>(a.text[visible]) & 0xC0) == 0x80)
      --visible;
    out.new_text = a.text.substr(a.emitted, visible - a.emitted);
    a.emitted = visible;
    if (reason != FinishReason::None) {
      finish(a, reason, out);
    } else {
      a.sink(out);
    }
  }
  return true;
}

}  // namespace glm::serving
