#include "serving/utility_routes.h"

#include "serving/api_error.h"
#include "serving/json_fields.h"
#include "serving/metrics.h"
#include "serving/openai_protocol.h"
#include "serving/response_parts.h"

namespace glm::serving {

bool health_check(const ServingContext& ctx) {
  EngineStats st = ctx.engine->stats();
  if (st.num_running > 0) return true;  // busy means alive; do not add work
  GenerateRequest g;
  g.rid = new_request_id("HEALTH_CHECK_");
  g.input_ids = {0};
  g.sampling.max_new_tokens = 1;
  g.sampling.temperature = 0;
  try {
    RequestStream stream(*ctx.engine, {std::move(g)});
    IndexedOutput ev;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!stream.all_finished()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      stream.next(ev, std::chrono::milliseconds(200));
    }
    return ev.out.finish_reason != FinishReason::Abort;
  } catch (const std::exception&) {
    return false;
  }
}

Json model_card(const ServingContext& ctx, const std::string& id) {
  Json c = Json::object();
  c["id"] = id;
  c["object"] = "model";
  c["created"] = unix_time_now();
  c["owned_by"] = "sglang";
  c["root"] = id;
  c["parent"] = nullptr;
  c["max_model_len"] = ctx.model.context_length;
  return c;
}

Json model_info_json(const ServingContext& ctx) {
  Json j = Json::object();
  j["model_path"] = ctx.model.model_path;
  j["tokenizer_path"] = ctx.model.tokenizer_path;
  j["is_generation"] = true;
  j["preferred_sampling_params"] = ctx.model.preferred_sampling_params;
  j["weight_version"] = "default";
  return j;
}

Json server_info_json(const ServingContext& ctx) {
  Json j = Json(ctx.args->to_json());
  j["context_length"] = ctx.model.context_length;
  nlohmann::json engine_info = ctx.engine->server_info();
  if (engine_info.is_object())
    for (auto& [k, v] : engine_info.items()) j[k] = Json(v);
  EngineStats st = ctx.engine->stats();
  Json state = Json::object();
  state["num_running_reqs"] = st.num_running;
  state["num_queue_reqs"] = st.num_waiting;
  state["max_total_num_tokens"] = st.kv_capacity_tokens;
  // SGLang's _get_token_info: available = free pool slots, evictable = prefix-cache slots.
  const KvTokenUsage kv = kv_token_usage(st);
  state["num_used_tokens"] = kv.num_used;
  state["token_usage"] = kv.token_usage;
  state["available_size"] = kv.available;
  state["evictable_size"] = kv.evictable;
  state["last_gen_throughput"] = st.gen_throughput_tok_s;
  state["avg_spec_accept_length"] = st.spec_accept_length;
  j["internal_states"] = Json::array({state});
  j["version"] = "glmserve-0.1.0";
  return j;
}

Json load_json(const ServingContext& ctx) {
  // SGLang's GET /get_load: one entry per data-parallel rank (glmserve has one): requests in the scheduler
  // (running + waiting), the waiting ones, and the KV tokens in use.
  EngineStats st = ctx.engine->stats();
  Json rank = Json::object();
  rank["dp_rank"] = 0;
  rank["num_reqs"] = st.num_running + st.num_waiting;
  rank["num_waiting_reqs"] = st.num_waiting;
  rank["num_tokens"] = kv_token_usage(st).num_used;
  return Json::array({rank});
}

Json tokenize_route(const ServingContext& ctx, const Json& body) {
  FieldReader r(body, "");
  const Json* prompt = r.get("prompt");
  const Json* messages = r.get("messages");
  if ((prompt == nullptr) == (messages == nullptr))
    schema_error("Value error, Exactly one of 'prompt' or 'messages' must be provided.");
  Json resp = Json::object();
  const bool add_special = r.boolean("add_special_tokens").value_or(true);
  if (prompt) {
    if (prompt->is_string()) {
      auto ids = ctx.text->encode(prompt->get<std::string>(), add_special);
      resp["tokens"] = ids;
      resp["count"] = ids.size();
    } else if (prompt->is_array()) {
      Json all = Json::array(), counts = Json::array();
      for (const auto& p : *prompt) {
        if (!p.is_string()) schema_error("prompt: Input should be a string or a list of strings");
        auto ids = ctx.text->encode(p.get<std::string>(), add_special);
        all.push_back(ids);
        counts.push_back(ids.size());
      }
      resp["tokens"] = all;
      resp["count"] = counts;
    } else {
      schema_error("prompt: Input should be a string or a list of strings");
    }
  } else {
    ChatRequest chat = parse_chat_request(body);
    Json tools = nullptr;
    if (chat.tools.is_array() && chat.tool_choice.mode != ToolChoiceMode::None) {
      tools = Json::array();
      for (const auto& t : chat.tools) tools.push_back(t["function"]);
    }
    Json kwargs = chat.chat_template_kwargs;
    if (chat.reasoning_effort) kwargs["reasoning_effort"] = *chat.reasoning_effort;
    std::string rendered;
    try {
      rendered = ctx.text->render_chat(chat.messages, tools, kwargs, true);
    } catch (const GlmError& e) {
      bad_request(e.what());
    }
    auto ids = ctx.text->encode(rendered);
    resp["tokens"] = ids;
    resp["count"] = ids.size();
  }
  resp["max_model_len"] = ctx.model.context_length;
  return resp;
}

Json detokenize_route(const ServingContext& ctx, const Json& body) {
  FieldReader r(body, "");
  const Json* tokens = r.get("tokens");
  if (!tokens) schema_error("tokens: Field required");
  if (!tokens->is_array()) schema_error("tokens: Input should be a valid list");
  bool skip = r.boolean("skip_special_tokens").value_or(true);
  auto check_vocab = [&](const std::vector<int32_t>& ids) {
    for (int32_t id : ids)
      if (ctx.model.vocab_size > 0 && id >= ctx.model.vocab_size)
        bad_request("token id " + std::to_string(id) + " is outside the vocabulary");
  };
  if (!tokens->empty() && (*tokens)[0].is_array()) {
    Json texts = Json::array();
    for (const auto& t : *tokens) {
      if (!t.is_array()) schema_error("tokens: Input should be a list of lists of integers");
      auto ids = to_token_ids(t, "tokens");
      check_vocab(ids);
      texts.push_back(ctx.text->decode(ids, skip));
    }
    return Json{{"text", texts}};
  }
  auto ids = to_token_ids(*tokens, "tokens");
  check_vocab(ids);
  return Json{{"text", ctx.text->decode(ids, skip)}};
}

Json parse_function_call_route(const ServingContext& ctx, const Json& body) {
  FieldReader r(body, "");
  auto text = r.str("text");
  if (!text) schema_error("text: Field required");
  auto parser = r.str("tool_call_parser");
  if (!parser) schema_error("tool_call_parser: Field required");
  if (!ctx.text->has_tool_parser(*parser)) bad_request("Unsupported tool_call_parser: " + *parser);
  const Json* tools_in = r.array("tools");
  if (!tools_in) schema_error("tools: Field required");
  Json wrapped = Json::object();
  wrapped["messages"] = Json::array({Json{{"role", "user"}, {"content", ""}}});
  wrapped["tools"] = *tools_in;
  ChatRequest checked = parse_chat_request(wrapped);  // validates the tool objects
  ToolParseResult parsed = ctx.text->parse_tool_calls(*parser, *text, checked.tools);
  Json calls = Json::array();
  for (const auto& c : parsed.calls)
    calls.push_back(Json{{"tool_index", c.tool_index}, {"name", c.name}, {"parameters", c.arguments}});
  return Json{{"normal_text", parsed.normal_text}, {"calls", calls}};
}

Json separate_reasoning_route(const ServingContext& ctx, const Json& body) {
  FieldReader r(body, "");
  auto text = r.str("text");
  if (!text) schema_error("text: Field required");
  auto parser = r.str("reasoning_parser");
  if (!parser) schema_error("reasoning_parser: Field required");
  if (!ctx.text->has_reasoning_parser(*parser)) bad_request("Unsupported reasoning_parser: " + *parser);
  auto [reasoning, normal] = ctx.text->separate_reasoning(*parser, *text, false);
  return Json{{"reasoning_text", reasoning}, {"text", normal}};
}

Json pause_generation_route(const ServingContext& ctx, const Json& body) {
  FieldReader r(body, "");
  const std::string mode = r.str("mode").value_or("abort");
  PauseMode m = PauseMode::Abort;
  if (mode == "in_place") m = PauseMode::InPlace;
  else if (mode == "retract") m = PauseMode::Retract;
  else if (mode != "abort") schema_error("mode: Input should be 'abort', 'retract' or 'in_place'");
  ctx.engine->pause_generation(m);
  return Json{{"message", "Generation paused successfully."}, {"status", "ok"}};
}

Json continue_generation_route(const ServingContext& ctx, const Json&) {
  ctx.engine->continue_generation();
  return Json{{"message", "Generation continued successfully."}, {"status", "ok"}};
}

void abort_route(const ServingContext& ctx, const Json& body, ActiveRequests& active) {
  FieldReader r(body, "");
  auto rid = r.str("rid");
  bool all = r.boolean("abort_all").value_or(false);
  if (all) {
    for (const auto& id : active.snapshot()) ctx.engine->abort(id);
  } else if (rid) {
    ctx.engine->abort(*rid);
  }
}

}  // namespace glm::serving
