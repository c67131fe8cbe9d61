#include "serving/chat_service.h"

#include "parsers/tool_call_grammar.h"
#include "serving/api_error.h"

namespace glm::serving {
namespace {

bool uses_tools(const ChatRequest& req) {
  return req.tools.is_array() && !req.tools.empty() && req.tool_choice.mode != ToolChoiceMode::None;
}

// serving_chat.py _get_reasoning_from_request for the glm45 detector (enable_thinking default on).
bool reasoning_requested(const ServingContext& ctx, const ChatRequest& req) {
  if (!ctx.args->reasoning_parser) return false;
  const Json& k = req.chat_template_kwargs;
  return !(k.contains("enable_thinking") && k["enable_thinking"] == false);
}

// SGLang's message preparation: null content -> "", tool content parts joined, the last
// assistant message continued (continue_final_message) or turned into a user turn.
Json template_messages(const ChatRequest& req, std::string& assistant_prefix) {
  Json msgs = req.messages;
  for (auto& m : msgs) {
    if (!m.contains("content") || m["content"].is_null()) m["content"] = "";
    if (m["role"] == "tool" && m["content"].is_array()) {
      bool all_text = true;
      std::string joined;
      for (const auto& p : m["content"]) {
        if (p.is_object() && p.value("type", "") == "text") joined += (joined.empty() ? "" : " ") + p.value("text", "");
        else all_text = false;
      }
      if (all_text) m["content"] = joined;
    }
  }
  if (!msgs.empty() && msgs.back()["role"] == "assistant" && msgs.back()["content"].is_string()) {
    std::string last = msgs.back()["content"].get<std::string>();
    if (req.continue_final_message) {
      assistant_prefix = last;
      msgs.erase(msgs.size() - 1);
    } else {
      msgs.back() = Json{{"role", "user"}, {"content", last}};
    }
  }
  return msgs;
}

std::string tool_call_prefix(const ServingContext& ctx, const ChatRequest& req) {
  if (!ctx.args->tool_call_parser) return "";
  std::string name;
  if (req.tool_choice.mode == ToolChoiceMode::Named) name = req.tool_choice.name;
  else if (req.tool_choice.mode == ToolChoiceMode::Required && req.tools.size() == 1)
    name = req.tools[0]["function"]["name"].get<std::string>();
  else if (req.tool_choice.mode != ToolChoiceMode::Required) return "";
  std::string prefix = "<tool_call>" + name;
  // glm45 writes the name on its own line; glm47 goes straight on to <arg_key>.
  if (!name.empty() && *ctx.args->tool_call_parser != "glm47") prefix += "\n";
  return prefix;
}

// tool_choice "required" with several tools: the prefix stops at "<tool_call>", so the output must
// go on with an allowed name and the separator the parser needs after it (glm45: a newline; glm47:
// the first <arg_key>, or </tool_call> for a call without arguments).
std::vector<std::string> tool_name_choices(const ServingContext& ctx, const ChatRequest& req) {
  std::vector<std::string> choices;
  if (!ctx.args->tool_call_parser || req.tool_choice.mode != ToolChoiceMode::Required || req.tools.size() < 2)
    return choices;
  const bool glm47 = *ctx.args->tool_call_parser == "glm47";
  for (const auto& t : req.tools) {
    const std::string name = t["function"]["name"].get<std::string>();
    if (glm47) {
      choices.push_back(name + "<arg_key>");
      choices.push_back(name + "</tool_call>");
    } else {
      choices.push_back(name + "\n");
    }
  }
  return choices;
}

// The regex for everything after the forced prefix under tool_choice "required" or a named tool.
std::optional<std::string> tool_call_regex(const ServingContext& ctx, const ChatRequest& req) {
  if (!ctx.args->tool_call_parser) return std::nullopt;
  if (req.tool_choice.mode != ToolChoiceMode::Required && req.tool_choice.mode != ToolChoiceMode::Named)
    return std::nullopt;
  parsers::ToolCallGrammarOptions o;
  o.parser = *ctx.args->tool_call_parser;
  o.parallel_tool_calls = req.parallel_tool_calls;
  if (req.tool_choice.mode == ToolChoiceMode::Named) o.prefilled_name = o.only_tool = req.tool_choice.name;
  else if (req.tools.size() == 1) o.prefilled_name = req.tools[0]["function"]["name"].get<std::string>();
  std::string rx = parsers::tool_call_output_regex(parsers::ToolSet::from_openai_tools(req.tools), o);
  // Hundreds of tools or huge enums: past this the pattern nears the NFA's state limit (its compile error
  // would refuse the request); constrain only the name then, as before.
  if (rx.size() > 20000) return std::nullopt;
  return rx;
}

}  // namespace

ChatPlan plan_chat(const ServingContext& ctx, const ChatRequest& req) {
  ChatPlan plan;
  const ServerArgs& args = *ctx.args;
  if (req.max_tokens && ctx.model.context_length > 0 && *req.max_tokens > ctx.model.context_length &&
      !args.allow_auto_truncate)
    bad_request(fmt::format("max_completion_tokens is too large: {}.This model supports at most {} completion tokens.",
                            *req.max_tokens, ctx.model.context_length));
  const bool tools = uses_tools(req);
  plan.forced_prefix = tools ? tool_call_prefix(ctx, req) : "";
  Json kwargs = req.chat_template_kwargs;
  if (req.reasoning_effort) kwargs["reasoning_effort"] = *req.reasoning_effort;
  if (!plan.forced_prefix.empty()) kwargs["enable_thinking"] = false;  // the tool call starts the answer
  ChatRequest effective = req;
  effective.chat_template_kwargs = kwargs;
  plan.reasoning_on = reasoning_requested(ctx, effective);
  plan.parse_reasoning = args.reasoning_parser && req.separate_reasoning;
  plan.parse_tools = tools && args.tool_call_parser.has_value();

  std::vector<int32_t> prompt;
  if (req.input_ids) {
    prompt = *req.input_ids;
  } else {
    std::string assistant_prefix;
    Json msgs = template_messages(req, assistant_prefix);
    Json template_tools = nullptr;
    if (tools) {
      template_tools = Json::array();
      for (const auto& t : req.tools)
        if (req.tool_choice.mode != ToolChoiceMode::Named || t["function"]["name"] == req.tool_choice.name)
          template_tools.push_back(t["function"]);
    }
    std::string rendered;
    try {
      rendered = ctx.text->render_chat(msgs, template_tools, kwargs, true);
    } catch (const GlmError& e) {
      bad_request(e.what());
    }
    prompt = ctx.text->encode(rendered + assistant_prefix + plan.forced_prefix);
  }
  if (prompt.empty()) bad_request("The prompt is empty.");

  SamplingParams sp = to_sampling_params(req.sampling, ctx.model.preferred_sampling_params, 1.0f);
  if (tools) sp.skip_special_tokens = false;  // the tool-call tags must survive detokenization
  if (tools) sp.output_prefix_choices = tool_name_choices(ctx, req);
  if (tools && sp.regex.empty() && sp.json_schema.empty() && sp.ebnf.empty()) {
    // tool_choice "required" / named: the whole call is constrained (parsers/tool_call_grammar.h), not
    // only the name. A request that brings its own regex, json_schema or ebnf keeps it (and the name choices).
    if (std::optional<std::string> rx = tool_call_regex(ctx, req)) {
      sp.regex = std::move(*rx);
      sp.regex_added_tokens_as_text = true;  // <arg_key>, </tool_call>, ... are the model's special tokens
      sp.output_prefix_choices.clear();
    }
  }
  // response_format applies to the answer: a request that thinks first is free until </think>.
  if ((!sp.json_schema.empty() || !sp.regex.empty() || !sp.ebnf.empty()) && plan.reasoning_on && args.reasoning_parser) sp.constrain_after_reasoning = true;
  if (req.max_tokens) sp.max_new_tokens = *req.max_tokens;
  check_custom_logit_processor_allowed(ctx, sp);
  fit_to_context(ctx, prompt, sp, req.max_tokens.has_value());

  if (plan.parse_reasoning) {
    auto ids = ctx.text->encode("</think>");
    if (ids.size() == 1) plan.think_end_token = ids[0];
  }
  plan.id = req.rid ? *req.rid : new_request_id("chatcmpl-");
  for (int i = 0; i < req.n; ++i) {
    GenerateRequest g;
    g.rid = req.n == 1 ? plan.id : plan.id + "-" + std::to_string(i);
    g.input_ids = prompt;
    g.sampling = sp;
    if (sp.seed && i > 0) g.sampling.seed = *sp.seed + static_cast<uint64_t>(i);
    g.return_logprob = req.logprobs;
    g.top_logprobs_num = req.logprobs ? req.top_logprobs : 0;
    plan.requests.push_back(std::move(g));
  }
  return plan;
}

namespace {

int count_reasoning_tokens(const std::vector<int32_t>& ids, int32_t end_token, bool reasoning_on) {
  if (!reasoning_on || end_token < 0) return 0;
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] == end_token) return static_cast<int>(i);
  return static_cast<int>(ids.size());
}

Json tool_call_json(const std::string& id, int index, const Json& name, const std::string& arguments) {
  Json fn = Json::object();
  fn["name"] = name;
  fn["arguments"] = arguments;
  Json call = Json::object();
  call["id"] = id.empty() ? Json(nullptr) : Json(id);
  call["index"] = index;
  call["type"] = "function";
  call["function"] = fn;
  return call;
}

}  // namespace

Json run_chat(const ServingContext& ctx, const ChatRequest& req, ChatPlan& plan, RequestStream& stream) {
  const size_t n = stream.size();
  std::vector<std::string> texts(n, plan.forced_prefix);
  std::vector<std::vector<int32_t>> ids(n);
  std::vector<std::vector<TokenLogprob>> lps(n);
  std::vector<GenerateOutput> last(n);
  RequestTimer timer;
  IndexedOutput ev;
  while (!stream.all_finished()) {
    if (!stream.next(ev, std::chrono::milliseconds(1000))) continue;
    auto& o = ev.out;
    timer.on_tokens(ctx.metrics, static_cast<int>(o.new_token_ids.size()));
    texts[ev.index] += o.new_text;
    ids[ev.index].insert(ids[ev.index].end(), o.new_token_ids.begin(), o.new_token_ids.end());
    for (auto& lp : o.logprobs) lps[ev.index].push_back(std::move(lp));
    last[ev.index] = std::move(o);
  }
  Json choices = Json::array();
  std::vector<ChoiceUsage> usage(n);
  const std::string& tool_parser = ctx.args->tool_call_parser.value_or("");
  for (size_t i = 0; i < n; ++i) {
    const GenerateOutput& o = last[i];
    std::string text = texts[i];
    Json reasoning = nullptr;
    if (plan.parse_reasoning) {
      auto [r, normal] = ctx.text->separate_reasoning(*ctx.args->reasoning_parser, text, plan.reasoning_on);
      if (!r.empty()) reasoning = r;
      text = normal;
    }
    Json finish = finish_reason_json(o);
    Json matched = matched_stop_json(o);
    Json tool_calls = nullptr;
    if (plan.parse_tools && ctx.text->has_tool_call(tool_parser, text)) {
      ToolParseResult parsed = ctx.text->parse_tool_calls(tool_parser, text, req.tools);
      if (finish == "stop") {
        finish = "tool_calls";
        matched = nullptr;
      }
      text = parsed.normal_text;
      tool_calls = Json::array();
      int k = 0;
      for (const auto& c : parsed.calls)
        tool_calls.push_back(tool_call_json(new_request_id("call_").substr(0, 29), k++, c.name, c.arguments));
    }
    Json message = Json::object();
    message["role"] = "assistant";
    message["content"] = text;
    message["reasoning_content"] = reasoning;
    message["tool_calls"] = tool_calls;
    Json choice = Json::object();
    choice["index"] = i;
    choice["message"] = message;
    if (req.logprobs) {
      Json content = Json::array();
      append_chat_logprobs(content, lps[i], *ctx.text);
      choice["logprobs"] = Json{{"content", content}};
    } else {
      choice["logprobs"] = nullptr;
    }
    choice["finish_reason"] = finish;
    choice["matched_stop"] = matched;
    choices.push_back(choice);
    usage[i] = {o.prompt_tokens, o.completion_tokens, o.cached_tokens,
                count_reasoning_tokens(ids[i], plan.think_end_token, plan.reasoning_on)};
    if (ctx.metrics) ctx.metrics->observe_finished_request(o.prompt_tokens, o.completion_tokens, o.cached_tokens,
                                                           timer.elapsed());
  }
  Json resp = Json::object();
  resp["id"] = plan.id;
  resp["object"] = "chat.completion";
  resp["created"] = unix_time_now();
  resp["model"] = req.model;
  resp["choices"] = choices;
  resp["usage"] = usage_json(usage, req.n, ctx.args->enable_cache_report);
  resp["metadata"] = Json{{"weight_version", "default"}};
  return resp;
}

// ---------------------------------------------------------------------------------------------
// Streaming

struct ChatStreamWriter::Choice {
  bool started = false, finished = false, has_tool_calls = false;
  int prompt_tokens = 0, completion_tokens = 0;  // as of the latest event (continuous_usage_stats)
  std::unique_ptr<ReasoningStream> reasoning;
  std::unique_ptr<ToolCallStream> tools;
  std::vector<int32_t> ids;
  GenerateOutput last;
};

ChatStreamWriter::ChatStreamWriter(const ServingContext& ctx, const ChatRequest& req, const ChatPlan& plan)
    : ctx_(ctx), req_(req), plan_(plan), created_(unix_time_now()) {
  for (size_t i = 0; i < plan.requests.size(); ++i) {
    auto c = std::make_unique<Choice>();
    if (plan.parse_reasoning)
      c->reasoning = ctx.text->reasoning_stream(*ctx.args->reasoning_parser, plan.reasoning_on, req.stream_reasoning);
    if (plan.parse_tools) c->tools = ctx.text->tool_call_stream(*ctx.args->tool_call_parser, req.tools);
    choices_.push_back(std::move(c));
  }
}

ChatStreamWriter::~ChatStreamWriter() = default;

Json ChatStreamWriter::chunk(int index, Json delta, Json logprobs) const {
  Json full_delta = Json::object();
  for (const char* k : {"role", "content", "reasoning_content", "tool_calls"})
    full_delta[k] = delta.contains(k) ? delta[k] : Json(nullptr);
  Json choice = Json::object();
  choice["index"] = index;
  choice["delta"] = full_delta;
  choice["logprobs"] = logprobs;
  choice["finish_reason"] = nullptr;
  choice["matched_stop"] = nullptr;
  Json c = Json::object();
  c["id"] = plan_.id;
  c["object"] = "chat.completion.chunk";
  c["created"] = created_;
  c["model"] = req_.model;
  c["choices"] = Json::array({choice});
  c["usage"] = nullptr;
  if (req_.continuous_usage_stats && index >= 0 && index < static_cast<int>(choices_.size())) {
    const Choice& ch = *choices_[index];
    c["usage"] = Json{{"prompt_tokens", ch.prompt_tokens},
                      {"total_tokens", ch.prompt_tokens + ch.completion_tokens},
                      {"completion_tokens", ch.completion_tokens},
                      {"prompt_tokens_details", nullptr},
                      {"reasoning_tokens", 0}};
  }
  return c;
}

// Runs one piece of output text through the reasoning and tool-call parsers and emits the
// resulting reasoning_content / content / tool_calls chunks.
void ChatStreamWriter::emit_text(Choice& c, int index, const std::string& text, Json logprobs, std::string& out) {
  std::string normal = text;
  if (c.reasoning) {
    auto [r, rest] = c.reasoning->feed(text);
    normal = std::move(rest);
    if (!r.empty()) {
      out += sse_event(chunk(index, Json{{"reasoning_content", r}}, logprobs));
      logprobs = nullptr;
    }
  }
  if (c.tools) {
    std::string content;
    std::vector<ToolCallDelta> calls;
    c.tools->feed(normal, content, calls);
    emit_tool_output(c, index, content, calls, logprobs, out);  // clears logprobs once it sends them
  } else if (!normal.empty()) {
    out += sse_event(chunk(index, Json{{"content", normal}}, logprobs));
    logprobs = nullptr;
  }
  // Tokens that add no text yet (half a multi-byte character, text a parser holds back) still get
  // their logprobs entries now, in an empty delta: the stream then reports one entry per token,
  // exactly as the non-streamed answer does (issue #5).
  if (!logprobs.is_null()) out += sse_event(chunk(index, Json::object(), logprobs));
}

void ChatStreamWriter::emit_tool_output(Choice& c, int index, const std::string& content,
                                        const std::vector<ToolCallDelta>& calls, Json& logprobs, std::string& out) {
  auto send = [&](const std::string& text) {
    if (text.empty()) return;
    out += sse_event(chunk(index, Json{{"content", text}}, logprobs));
    logprobs = nullptr;
  };
  send(content);  // already whitespace-settled by the tool stream (text_backend.h)
  for (const auto& d : calls) {
    c.has_tool_calls = true;
    std::string id = d.name ? new_request_id("call_").substr(0, 29) : "";
    Json call = tool_call_json(id, d.tool_index, d.name ? Json(*d.name) : Json(nullptr), d.arguments);
    out += sse_event(chunk(index, Json{{"tool_calls", Json::array({call})}}, logprobs));
    logprobs = nullptr;
  }
}

void ChatStreamWriter::on_event(const IndexedOutput& ev, std::string& out) {
  Choice& c = *choices_.at(ev.index);
  const GenerateOutput& o = ev.out;
  c.prompt_tokens = o.prompt_tokens;
  c.completion_tokens = o.completion_tokens;
  if (!c.started) {
    c.started = true;
    out += sse_event(chunk(ev.index, Json{{"role", "assistant"}, {"content", ""}}));
    if (!plan_.forced_prefix.empty()) emit_text(c, ev.index, plan_.forced_prefix, nullptr, out);
  }
  c.ids.insert(c.ids.end(), o.new_token_ids.begin(), o.new_token_ids.end());
  Json logprobs = nullptr;
  if (req_.logprobs && !o.logprobs.empty()) {
    Json content = Json::array();
    append_chat_logprobs(content, o.logprobs, *ctx_.text);
    logprobs = Json{{"content", content}};
  }
  if (!o.new_text.empty() || !logprobs.is_null()) emit_text(c, ev.index, o.new_text, logprobs, out);
  if (o.finished) {
    c.finished = true;
    c.last = o;
    // Text the parsers still hold (a partial tag at the very end) is content after all.
    if (c.reasoning) {
      auto [r, normal] = c.reasoning->finish();
      if (!r.empty()) out += sse_event(chunk(ev.index, Json{{"reasoning_content", r}}));
      if (!normal.empty()) {
        if (c.tools) emit_text(c, ev.index, normal, nullptr, out);
        else out += sse_event(chunk(ev.index, Json{{"content", normal}}));
      }
    }
    if (c.tools) {
      std::string held;
      std::vector<ToolCallDelta> calls;
      c.tools->finish(held, calls);
      Json none = nullptr;
      emit_tool_output(c, ev.index, held, calls, none, out);
    }
  }
}

void ChatStreamWriter::finish(std::string& out) {
  std::vector<ChoiceUsage> usage;
  for (size_t i = 0; i < choices_.size(); ++i) {
    const Choice& c = *choices_[i];
    const GenerateOutput& o = c.last;
    Json finish = finish_reason_json(o);
    Json matched = matched_stop_json(o);
    if (c.has_tool_calls && finish == "stop") {
      finish = "tool_calls";
      matched = nullptr;
    }
    Json ch = chunk(static_cast<int>(i), Json::object());
    ch["choices"][0]["finish_reason"] = finish;
    ch["choices"][0]["matched_stop"] = matched;
    out += sse_event(ch);
    usage.push_back({o.prompt_tokens, o.completion_tokens, o.cached_tokens,
                     count_reasoning_tokens(c.ids, plan_.think_end_token, plan_.reasoning_on)});
  }
  if (req_.include_usage) {
    Json u = Json::object();
    u["id"] = plan_.id;
    u["object"] = "chat.completion.chunk";
    u["created"] = created_;
    u["model"] = req_.model;
    u["choices"] = Json::array();
    u["usage"] = usage_json(usage, req_.n, ctx_.args->enable_cache_report);
    out += sse_event(u);
  }
  out += sse_done();
}

}  // namespace glm::serving
