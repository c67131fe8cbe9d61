#include "serving/completion_service.h"

#include "serving/api_error.h"

namespace glm::serving {

CompletionPlan plan_completion(const ServingContext& ctx, const CompletionRequest& req) {
  CompletionPlan plan;
  plan.id = req.rid ? *req.rid : new_request_id("cmpl-");
  std::vector<std::vector<int32_t>> prompts = req.prompt_ids;
  std::vector<std::string> texts;
  for (const auto& t : req.prompt_texts) {
    prompts.push_back(ctx.text->encode(t, true));
    texts.push_back(t);
  }
  if (texts.empty())
    for (const auto& p : req.prompt_ids) texts.push_back(req.echo ? ctx.text->decode(p, false) : "");
  SamplingParams sp = to_sampling_params(req.sampling, nullptr, 1.0f);
  sp.max_new_tokens = req.max_tokens;
  check_custom_logit_processor_allowed(ctx, sp);
  for (size_t p = 0; p < prompts.size(); ++p) {
    if (prompts[p].empty()) bad_request("The prompt is empty.");
    SamplingParams fitted = sp;
    fit_to_context(ctx, prompts[p], fitted, true);
    for (int k = 0; k < req.n; ++k) {
      GenerateRequest g;
      size_t index = p * static_cast<size_t>(req.n) + static_cast<size_t>(k);
      g.rid = prompts.size() * static_cast<size_t>(req.n) == 1 ? plan.id : plan.id + "-" + std::to_string(index);
      g.input_ids = prompts[p];
      g.sampling = fitted;
      if (fitted.seed && k > 0) g.sampling.seed = *fitted.seed + static_cast<uint64_t>(k);
      g.return_logprob = req.logprobs.has_value();
      g.top_logprobs_num = req.logprobs.value_or(0);
      if (req.echo && req.logprobs) g.logprob_start_len = 0;  // the echoed prompt is scored too
      plan.requests.push_back(std::move(g));
      plan.echo_texts.push_back(req.echo ? texts[p] : "");
    }
  }
  return plan;
}

namespace {
Json empty_completion_logprobs() {
  return Json{{"text_offset", Json::array()},
              {"token_logprobs", Json::array()},
              {"tokens", Json::array()},
              {"top_logprobs", Json::array()}};
}
// echo + logprobs (serving_completions.py with echo): the prompt's tokens come first, the first one
// with null logprob and top_logprobs (nothing predicts it), text_offset counting from the prompt start.
void append_echo_logprobs(Json& lp, const GenerateRequest& g, const std::vector<TokenLogprob>& input,
                          const TextBackend& text) {
  if (g.input_ids.empty()) return;
  const std::string first = text.token_text(g.input_ids[0]);
  lp["text_offset"].push_back(0);
  lp["token_logprobs"].push_back(nullptr);
  lp["tokens"].push_back(first);
  lp["top_logprobs"].push_back(nullptr);
  size_t offset = first.size();
  append_completion_logprobs(lp, input, text, offset);
}
}  // namespace

Json run_completion(const ServingContext& ctx, const CompletionRequest& req, CompletionPlan& plan,
                    RequestStream& stream) {
  const size_t n = stream.size();
  std::vector<std::string> texts(plan.echo_texts);
  std::vector<std::vector<TokenLogprob>> lps(n), input_lps(n);
  std::vector<GenerateOutput> last(n);
  RequestTimer timer;
  IndexedOutput ev;
  while (!stream.all_finished()) {
    if (!stream.next(ev, std::chrono::milliseconds(1000))) continue;
    timer.on_tokens(ctx.metrics, static_cast<int>(ev.out.new_token_ids.size()));
    texts[ev.index] += ev.out.new_text;
    if (!ev.out.input_logprobs.empty()) input_lps[ev.index] = std::move(ev.out.input_logprobs);
    for (auto& lp : ev.out.logprobs) lps[ev.index].push_back(std::move(lp));
    last[ev.index] = std::move(ev.out);
  }
  Json choices = Json::array();
  std::vector<ChoiceUsage> usage;
  for (size_t i = 0; i < n; ++i) {
    Json c = Json::object();
    c["index"] = i;
    c["text"] = texts[i];
    if (req.logprobs) {
      Json lp = empty_completion_logprobs();
      if (req.echo) append_echo_logprobs(lp, plan.requests[i], input_lps[i], *ctx.text);
      size_t offset = plan.echo_texts[i].size();
      append_completion_logprobs(lp, lps[i], *ctx.text, offset);
      c["logprobs"] = lp;
    } else {
      c["logprobs"] = nullptr;
    }
    c["finish_reason"] = finish_reason_json(last[i]);
    c["matched_stop"] = matched_stop_json(last[i]);
    choices.push_back(c);
    usage.push_back({last[i].prompt_tokens, last[i].completion_tokens, last[i].cached_tokens, 0});
    if (ctx.metrics)
      ctx.metrics->observe_finished_request(last[i].prompt_tokens, last[i].completion_tokens, last[i].cached_tokens,
                                            timer.elapsed());
  }
  Json resp = Json::object();
  resp["id"] = plan.id;
  resp["object"] = "text_completion";
  resp["created"] = unix_time_now();
  resp["model"] = req.model;
  resp["choices"] = choices;
  resp["usage"] = usage_json(usage, req.n, ctx.args->enable_cache_report);
  resp["metadata"] = Json{{"weight_version", "default"}};
  return resp;
}

CompletionStreamWriter::CompletionStreamWriter(const ServingContext& ctx, const CompletionRequest& req,
                                               const CompletionPlan& plan)
    : ctx_(ctx), req_(req), plan_(plan), created_(unix_time_now()), last_(plan.requests.size()),
      echoed_(plan.requests.size(), false), offsets_(plan.requests.size(), 0) {}

Json CompletionStreamWriter::chunk(int index, const std::string& text, Json logprobs, Json finish,
                                   Json matched) const {
  Json choice = Json::object();
  choice["index"] = index;
  choice["text"] = text;
  choice["logprobs"] = logprobs;
  choice["finish_reason"] = finish;
  choice["matched_stop"] = matched;
  Json c = Json::object();
  c["id"] = plan_.id;
  c["object"] = "text_completion";
  c["created"] = created_;
  c["model"] = req_.model;
  c["choices"] = Json::array({choice});
  c["usage"] = nullptr;
  return c;
}

void CompletionStreamWriter::on_event(const IndexedOutput& ev, std::string& out) {
  const int i = ev.index;
  std::string text = ev.out.new_text;
  const bool first = !echoed_[i];
  if (!echoed_[i]) {
    echoed_[i] = true;
    text = plan_.echo_texts[i] + text;
    offsets_[i] = plan_.echo_texts[i].size();
  }
  Json lp = nullptr;
  const bool echo_lps = req_.logprobs && req_.echo && first;  // the prompt's logprobs lead the first chunk
  if (req_.logprobs && (!ev.out.logprobs.empty() || echo_lps)) {
    lp = empty_completion_logprobs();
    if (echo_lps) append_echo_logprobs(lp, plan_.requests[size_t(i)], ev.out.input_logprobs, *ctx_.text);
    append_completion_logprobs(lp, ev.out.logprobs, *ctx_.text, offsets_[i]);
  }
  if (!text.empty() || !lp.is_null()) out += sse_event(chunk(i, text, lp, nullptr, nullptr));
  if (ev.out.finished) last_[i] = ev.out;
}

void CompletionStreamWriter::finish(std::string& out) {
  std::vector<ChoiceUsage> usage;
  for (size_t i = 0; i < last_.size(); ++i) {
    out += sse_event(chunk(static_cast<int>(i), "", nullptr, finish_reason_json(last_[i]), matched_stop_json(last_[i])));
    usage.push_back({last_[i].prompt_tokens, last_[i].completion_tokens, last_[i].cached_tokens, 0});
  }
  if (req_.include_usage) {
    Json u = Json::object();
    u["id"] = plan_.id;
    u["object"] = "text_completion";
    u["created"] = created_;
    u["model"] = req_.model;
    u["choices"] = Json::array();
    u["usage"] = usage_json(usage, req_.n, ctx_.args->enable_cache_report);
    out += sse_event(u);
  }
  out += sse_done();
}

// ---------------------------------------------------------------------------------------------
// Native /generate

GeneratePlan plan_generate(const ServingContext& ctx, const NativeGenerateRequest& req) {
  GeneratePlan plan;
  std::vector<std::vector<int32_t>> prompts = req.input_ids;
  for (const auto& t : req.texts) prompts.push_back(ctx.text->encode(t, true));
  check_custom_logit_processor_allowed(ctx, req.sampling);
  for (const auto& sp : req.sampling_per_prompt) check_custom_logit_processor_allowed(ctx, sp);
  for (size_t p = 0; p < prompts.size(); ++p) {
    if (prompts[p].empty()) bad_request("The prompt is empty.");
    for (int32_t id : prompts[p])
      if (ctx.model.vocab_size > 0 && id >= ctx.model.vocab_size)
        bad_request(fmt::format("The input_ids contains values greater than the vocab size ({}).",
                                ctx.model.vocab_size));
    GenerateRequest g;
    g.input_ids = prompts[p];
    g.sampling = req.sampling_per_prompt.empty() ? req.sampling : req.sampling_per_prompt[p];
    fit_to_context(ctx, g.input_ids, g.sampling, true);
    g.return_logprob = req.return_logprob;
    g.top_logprobs_num = req.top_logprobs_num;
    if (req.return_logprob && req.logprob_start_len >= 0) {
      if (req.logprob_start_len >= static_cast<int>(g.input_ids.size()))
        bad_request(fmt::format("logprob_start_len ({}) is higher than the number of input tokens ({}). Request "
                                "with a lower logprob_start_len.",
                                req.logprob_start_len, g.input_ids.size()));
      g.logprob_start_len = req.logprob_start_len;
    }
    // n > 1: prompt-major copies (prompt p, sample k -> p * n + k), distinct seeds when one is given.
    for (int k = 0; k < req.n; ++k) {
      GenerateRequest copy = g;
      copy.rid = req.rids.empty() ? new_request_id() : req.n == 1 ? req.rids[p] : req.rids[p] + "-" + std::to_string(k);
      if (copy.sampling.seed && k > 0) copy.sampling.seed = *copy.sampling.seed + static_cast<uint64_t>(k);
      plan.requests.push_back(std::move(copy));
    }
  }
  return plan;
}

Json generate_result(const ServingContext& ctx, const NativeGenerateRequest& req, const GenerateRequest& g,
                     const std::string& text, const std::vector<int32_t>& ids, const std::vector<TokenLogprob>& input_lps,
                     const std::vector<TokenLogprob>& lps, const GenerateOutput& last, double e2e_seconds) {
  Json meta = Json::object();
  meta["id"] = last.rid;
  if (last.finished) {
    Json fr = Json::object();
    fr["type"] = finish_reason_json(last);
    if (last.finish_reason == FinishReason::Length) fr["length"] = last.completion_tokens;
    else if (last.finish_reason == FinishReason::Abort) fr["message"] = last.abort_message;
    else fr["matched"] = matched_stop_json(last);
    meta["finish_reason"] = fr;
  } else {
    meta["finish_reason"] = nullptr;
  }
  meta["prompt_tokens"] = last.prompt_tokens;
  meta["weight_version"] = "default";
  meta["completion_tokens"] = last.completion_tokens;
  meta["cached_tokens"] = last.cached_tokens;
  meta["e2e_latency"] = e2e_seconds;
  if (last.spec_verify_ct > 0) {
    meta["spec_verify_ct"] = last.spec_verify_ct;
    meta["spec_accept_length"] =
        static_cast<double>(last.completion_tokens) / static_cast<double>(last.spec_verify_ct);
    meta["spec_accept_token_num"] = last.spec_accepted_tokens;
    meta["spec_draft_token_num"] = last.spec_draft_tokens;
    meta["spec_accept_rate"] = last.spec_draft_tokens > 0 ? static_cast<double>(last.spec_accepted_tokens) /
                                                                static_cast<double>(last.spec_draft_tokens)
                                                          : 0.0;
  }
  if (req.return_logprob) {
    Json tokens = Json::array(), tops = Json::array();
    for (const auto& lp : lps) {
      tokens.push_back(Json::array({lp.logprob, lp.token_id, nullptr}));
      Json top = Json::array();
      for (const auto& [id, v] : lp.top) top.push_back(Json::array({v, id, nullptr}));
      tops.push_back(top);
    }
    // Prompt logprobs (logprob_start_len >= 0): position 0 has none, as in SGLang ([null, id, null]).
    Json in_tokens = Json::array(), in_tops = Json::array();
    if (g.logprob_start_len == 0 && !g.input_ids.empty()) {
      in_tokens.push_back(Json::array({nullptr, g.input_ids[0], nullptr}));
      in_tops.push_back(nullptr);
    }
    for (const auto& lp : input_lps) {
      in_tokens.push_back(Json::array({lp.logprob, lp.token_id, nullptr}));
      Json top = Json::array();
      for (const auto& [id, v] : lp.top) top.push_back(Json::array({v, id, nullptr}));
      in_tops.push_back(top);
    }
    meta["input_token_logprobs"] = in_tokens;
    meta["output_token_logprobs"] = tokens;
    if (req.top_logprobs_num > 0) {
      meta["input_top_logprobs"] = in_tops;
      meta["output_top_logprobs"] = tops;
    }
  }
  (void)ctx;
  Json r = Json::object();
  r["text"] = text;
  r["output_ids"] = ids;
  r["meta_info"] = meta;
  return r;
}

Json run_generate(const ServingContext& ctx, const NativeGenerateRequest& req, const GeneratePlan& plan,
                  RequestStream& stream) {
  const size_t n = stream.size();
  std::vector<std::string> texts(n);
  std::vector<std::vector<int32_t>> ids(n);
  std::vector<std::vector<TokenLogprob>> lps(n), input_lps(n);
  std::vector<GenerateOutput> last(n);
  RequestTimer timer;
  IndexedOutput ev;
  while (!stream.all_finished()) {
    if (!stream.next(ev, std::chrono::milliseconds(1000))) continue;
    timer.on_tokens(ctx.metrics, static_cast<int>(ev.out.new_token_ids.size()));
    texts[ev.index] += ev.out.new_text;
    if (!ev.out.input_logprobs.empty()) input_lps[ev.index] = std::move(ev.out.input_logprobs);
    ids[ev.index].insert(ids[ev.index].end(), ev.out.new_token_ids.begin(), ev.out.new_token_ids.end());
    for (auto& lp : ev.out.logprobs) lps[ev.index].push_back(std::move(lp));
    last[ev.index] = std::move(ev.out);
  }
  Json results = Json::array();
  for (size_t i = 0; i < n; ++i) {
    results.push_back(
        generate_result(ctx, req, plan.requests[i], texts[i], ids[i], input_lps[i], lps[i], last[i], timer.elapsed()));
    if (ctx.metrics)
      ctx.metrics->observe_finished_request(last[i].prompt_tokens, last[i].completion_tokens, last[i].cached_tokens,
                                            timer.elapsed());
  }
  return req.batch || req.n > 1 ? results : results[0];
}

GenerateStreamWriter::GenerateStreamWriter(const ServingContext& ctx, const NativeGenerateRequest& req,
                                           const GeneratePlan& plan)
    : ctx_(ctx), req_(req), plan_(plan), texts_(plan.requests.size()), ids_(plan.requests.size()),
      input_logprobs_(plan.requests.size()), logprobs_(plan.requests.size()) {}

void GenerateStreamWriter::on_event(const IndexedOutput& ev, std::string& out) {
  const int i = ev.index;
  timer_.on_tokens(ctx_.metrics, static_cast<int>(ev.out.new_token_ids.size()));
  texts_[i] += ev.out.new_text;
  ids_[i].insert(ids_[i].end(), ev.out.new_token_ids.begin(), ev.out.new_token_ids.end());
  if (!ev.out.input_logprobs.empty()) input_logprobs_[i] = ev.out.input_logprobs;
  logprobs_[i].insert(logprobs_[i].end(), ev.out.logprobs.begin(), ev.out.logprobs.end());
  out += sse_event(generate_result(ctx_, req_, plan_.requests[size_t(i)], texts_[i], ids_[i], input_logprobs_[i],
                                   logprobs_[i], ev.out, timer_.elapsed()));
  if (ev.out.finished && ctx_.metrics)
    ctx_.metrics->observe_finished_request(ev.out.prompt_tokens, ev.out.completion_tokens, ev.out.cached_tokens,
                                           timer_.elapsed());
}

void GenerateStreamWriter::finish(std::string& out) { out += sse_done(); }

}  // namespace glm::serving
