#include "serving/openai_protocol.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "serving/api_error.h"
#include "serving/json_fields.h"

namespace glm::serving {
namespace {

constexpr const char* kRoles[] = {"system", "assistant", "tool", "function", "developer", "user"};

float as_float(double v) { return static_cast<float>(v); }

int bounded_int(const FieldReader& r, const char* key, int64_t lo, int64_t hi, int64_t value) {
  if (value < lo || value > hi)
    schema_error(r.path(key) + ": Input should be between " + std::to_string(lo) + " and " + std::to_string(hi));
  return static_cast<int>(value);
}

// SGLang parses string arguments of assistant tool calls into objects before templating
// (serving_chat.py normalize_assistant_tool_call_arguments); GLM templates iterate them.
void normalize_tool_calls(Json& msg, const std::string& where) {
  auto it = msg.find("tool_calls");
  if (it == msg.end() || it->is_null()) return;
  if (!it->is_array()) schema_error(where + ".tool_calls: Input should be a valid list");
  for (size_t i = 0; i < it->size(); ++i) {
    Json& call = (*it)[i];
    std::string at = where + ".tool_calls." + std::to_string(i);
    FieldReader cr(call, at);
    const Json* fn = cr.object("function");
    if (!fn) schema_error(at + ".function: Field required");
    FieldReader fr(*fn, at + ".function");
    fr.str("name");
    Json& args = call["function"]["arguments"];
    if (args.is_string()) {
      Json parsed = Json::parse(args.get<std::string>(), nullptr, false);
      if (parsed.is_discarded()) bad_request("Assistant tool call function.arguments must be valid JSON.");
      if (!parsed.is_object()) bad_request("Assistant tool call function.arguments must be a JSON object.");
      args = std::move(parsed);
    } else if (!args.is_null() && !args.is_object()) {
      schema_error(at + ".function.arguments: Input should be a valid string or dictionary");
    }
  }
}

void check_content_parts(const Json& content, const std::string& where) {
  for (size_t i = 0; i < content.size(); ++i) {
    std::string at = where + "." + std::to_string(i);
    FieldReader pr(content[i], at);
    auto type = pr.str("type");
    if (!type) schema_error(at + ".type: Field required");
    if (*type == "text") {
      if (!pr.str("text")) schema_error(at + ".text: Field required");
    } else if (*type == "thinking" || *type == "reasoning") {
      if (pr.has("thinking") == pr.has("text")) schema_error(at + ": thinking parts require exactly one of 'thinking' or 'text'");
    } else if (*type == "image_url" || *type == "video_url" || *type == "audio_url") {
      bad_request("This model does not accept " + *type + " content (text-only model).");
    } else {
      schema_error(at + ".type: Input should be 'text', 'thinking', 'image_url', 'video_url' or 'audio_url'");
    }
  }
}

Json parse_messages(const FieldReader& r) {
  const Json* arr = r.get("messages");
  if (!arr) schema_error("messages: Field required");
  if (!arr->is_array()) schema_error("messages: Input should be a valid list");
  if (arr->empty()) bad_request("Messages cannot be empty.");
  Json out = Json::array();
  for (size_t i = 0; i < arr->size(); ++i) {
    std::string at = "messages." + std::to_string(i);
    Json msg = (*arr)[i];
    FieldReader mr(msg, at);
    auto role = mr.str("role");
    if (!role) schema_error(at + ".role: Field required");
    std::string lower = *role;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (std::find(std::begin(kRoles), std::end(kRoles), lower) == std::end(kRoles))
      schema_error(at + ".role: 'role' must be one of 'system', 'assistant', 'tool', 'function', 'developer', "
                        "'user' (case-insensitive).");
    msg["role"] = lower;
    const Json* content = mr.get("content");
    if (!content) {
      if (lower == "user") schema_error(at + ".content: Field required");
    } else if (content->is_array()) {
      check_content_parts(*content, at + ".content");
      if (lower != "assistant")
        for (const auto& p : *content)
          if (p.value("type", "") == "thinking" || p.value("type", "") == "reasoning")
            schema_error(at + ": thinking content parts are only valid in assistant messages");
    } else if (!content->is_string()) {
      schema_error(at + ".content: Input should be a valid string or a list of content parts");
    }
    mr.str("name");
    mr.str("tool_call_id");
    mr.str("reasoning_content");
    normalize_tool_calls(msg, at);
    out.push_back(std::move(msg));
  }
  return out;
}

Json parse_tools(const FieldReader& r) {
  const Json* arr = r.array("tools");
  if (!arr) return nullptr;
  Json out = Json::array();
  for (size_t i = 0; i < arr->size(); ++i) {
    std::string at = "tools." + std::to_string(i);
    FieldReader tr((*arr)[i], at);
    auto type = tr.str("type");
    const Json* fn = tr.object("function");
    if (!fn) schema_error(at + ".function: Field required");
    FieldReader fr(*fn, at + ".function");
    auto name = fr.str("name");
    if (!name) schema_error(at + ".function.name: Field required");
    const Json* params = fr.get("parameters");
    if (params && !params->is_object() && !params->is_boolean())
      bad_request("Tool " + std::to_string(i) + " function has invalid 'parameters' schema: not an object");
    if (params && params->is_object()) {
      auto ptype = params->find("type");
      if (ptype != params->end() && !ptype->is_string() && !ptype->is_array())
        bad_request("Tool " + std::to_string(i) + " function has invalid 'parameters' schema: 'type' is " +
                    ptype->dump() + ", not a string or list");
      auto props = params->find("properties");
      if (props != params->end() && !props->is_object())
        bad_request("Tool " + std::to_string(i) + " function has invalid 'parameters' schema: 'properties' is " +
                    props->dump() + ", not an object");
    }
    // SGLang's Function model: fields in declaration order, strict defaults to false.
    Json function = Json::object();
    function["description"] = fr.has("description") ? Json(*fr.str("description")) : Json(nullptr);
    function["name"] = *name;
    function["parameters"] = params ? *params : Json(nullptr);
    function["strict"] = fr.boolean("strict").value_or(false);
    Json tool = Json::object();
    tool["type"] = type.value_or("function");
    tool["function"] = std::move(function);
    out.push_back(std::move(tool));
  }
  return out;
}

ToolChoice parse_tool_choice(const FieldReader& r, const Json& tools, bool has_tools) {
  ToolChoice tc;
  const Json* v = r.get("tool_choice");
  if (!v) {
    tc.mode = has_tools ? ToolChoiceMode::Auto : ToolChoiceMode::None;
  } else if (v->is_string()) {
    std::string s = v->get<std::string>();
    if (s == "auto") tc.mode = ToolChoiceMode::Auto;
    else if (s == "none") tc.mode = ToolChoiceMode::None;
    else if (s == "required") tc.mode = ToolChoiceMode::Required;
    else schema_error("tool_choice: Input should be 'auto', 'required' or 'none'");
  } else if (v->is_object()) {
    FieldReader cr(*v, "tool_choice");
    const Json* fn = cr.object("function");
    if (!fn) schema_error("tool_choice.function: Field required");
    FieldReader fr(*fn, "tool_choice.function");
    tc.mode = ToolChoiceMode::Named;
    tc.name = fr.str("name").value_or("");
  } else {
    schema_error("tool_choice: Input should be 'auto', 'required', 'none' or a tool choice object");
  }
  if (tc.mode == ToolChoiceMode::Required && !has_tools)
    bad_request("Tools cannot be empty if tool choice is set to required.");
  if (tc.mode == ToolChoiceMode::Named) {
    if (!has_tools) bad_request("Tools cannot be empty if tool choice is set to a specific tool.");
    bool found = std::any_of(tools.begin(), tools.end(),
                             [&](const Json& t) { return t["function"]["name"] == tc.name; });
    if (!found) bad_request("Tool '" + tc.name + "' not found in tools list.");
  }
  return tc;
}

void parse_stream_options(const FieldReader& r, bool& include_usage, bool& continuous) {
  const Json* so = r.object("stream_options");
  if (!so) return;
  FieldReader sr(*so, "stream_options");
  include_usage = sr.boolean("include_usage").value_or(false);
  continuous = sr.boolean("continuous_usage_stats").value_or(false);
}

SamplingFields parse_sampling_fields(const FieldReader& r, bool chat) {
  SamplingFields f;
  if (auto v = r.number("temperature")) {
    if (*v < 0) schema_error("temperature: Input should be greater than or equal to 0");
    f.temperature = as_float(*v);
  }
  if (auto v = r.number("top_p")) {
    if (*v <= 0 || *v > 1) schema_error("top_p: Input should be in (0, 1]");
    f.top_p = as_float(*v);
  }
  if (auto v = r.integer("top_k")) {
    if (*v == 0 || *v < -1) schema_error("top_k: Input should be -1 (off) or a positive integer");
    f.top_k = static_cast<int>(std::min<int64_t>(*v, 1 << 30));
  }
  if (auto v = r.number("min_p")) {
    if (*v < 0 || *v > 1) schema_error("min_p: Input should be in [0, 1]");
    f.min_p = as_float(*v);
  }
  if (auto v = r.number("repetition_penalty")) {
    if (*v <= 0 || *v > 2) schema_error("repetition_penalty: Input should be in (0, 2]");
    f.repetition_penalty = as_float(*v);
  }
  if (auto v = r.number("frequency_penalty")) {
    if (*v < -2 || *v > 2) schema_error("frequency_penalty: Input should be in [-2, 2]");
    f.frequency_penalty = as_float(*v);
  }
  if (auto v = r.number("presence_penalty")) {
    if (*v < -2 || *v > 2) schema_error("presence_penalty: Input should be in [-2, 2]");
    f.presence_penalty = as_float(*v);
  }
  if (auto v = r.integer("min_tokens")) f.min_tokens = bounded_int(r, "min_tokens", 0, 1 << 30, *v);
  if (auto v = r.str_or_list("stop")) f.stop = *v;
  if (auto v = r.str_or_list("stop_regex")) f.stop_regex = *v;
  if (auto v = r.int_list("stop_token_ids")) f.stop_token_ids = *v;
  f.ignore_eos = r.boolean("ignore_eos").value_or(false);
  f.no_stop_trim = r.boolean("no_stop_trim").value_or(false);
  f.skip_special_tokens = r.boolean("skip_special_tokens").value_or(true);
  if (auto v = r.integer("seed")) f.seed = static_cast<uint64_t>(*v);
  if (auto v = r.str("regex")) f.regex = *v;
  // json_schema: a string (SGLang's sampling parameter) or, as llama.cpp's server also takes it, the schema.
  if (const Json* js = r.get("json_schema"); js && js->is_object()) f.json_schema = js->dump();
  else if (auto v = r.str("json_schema")) f.json_schema = *v;
  if (auto v = r.str("ebnf")) f.ebnf = *v;
  // llama.cpp clients send their GBNF grammar as `grammar` (sampling/ebnf_grammar.h reads both dialects).
  if (auto v = r.str("grammar")) {
    if (!f.ebnf.empty()) schema_error("grammar: give either ebnf or grammar (the same thing), not both");
    f.ebnf = *v;
  }
  if (const Json* lb = r.object("logit_bias")) {
    for (const auto& [key, v] : lb->items()) {
      int64_t id = -1;
      auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
      if (ec != std::errc() || end != key.data() + key.size() || id < 0 || id > INT32_MAX)
        schema_error(fmt::format("logit_bias: key '{}' is not a token id", key));
      if (!v.is_number()) schema_error(fmt::format("logit_bias.{}: Input should be a valid number", key));
      const double b = v.get<double>();
      if (!std::isfinite(b)) schema_error(fmt::format("logit_bias.{}: Input should be a finite number", key));
      f.logit_bias.emplace_back(static_cast<int32_t>(id), static_cast<float>(b));
    }
  }
  f.custom_logit_processor = r.str("custom_logit_processor");
  if (const Json* cp = r.object("custom_params")) f.custom_params = *cp;
  (void)chat;
  return f;
}

void parse_response_format(const FieldReader& r, std::string& format, SamplingFields& f) {
  const Json* rf = r.object("response_format");
  if (!rf) return;
  FieldReader fr(*rf, "response_format");
  auto type = fr.str("type");
  if (!type) schema_error("response_format.type: Field required");
  if (*type == "text") return;
  if (*type == "json_object") {
    format = "json_object";
    f.json_schema = R"({"type": "object"})";
  } else if (*type == "json_schema") {
    format = "json_schema";
    const Json* js = fr.object("json_schema");
    const Json* schema = js ? js->contains("schema") ? &(*js)["schema"] : nullptr : fr.get("schema");
    if (!schema || schema->is_null()) bad_request("schema_ is required for json_schema response format request.");
    if (!schema->is_object()) schema_error("response_format.json_schema.schema: Input should be a valid dictionary");
    f.json_schema = schema->dump();
  } else if (*type == "structural_tag") {
    bad_request("response_format structural_tag is not supported by glmserve.");
  } else {
    schema_error("response_format.type: Input should be 'text', 'json_object' or 'json_schema'");
  }
}

std::optional<std::string> parse_rid(const FieldReader& r) {
  const Json* v = r.get("rid");
  if (!v) return std::nullopt;
  if (v->is_string()) return v->get<std::string>();
  schema_error("rid: Input should be a valid string");
}

}  // namespace

ChatRequest parse_chat_request(const Json& body) {
  FieldReader r(body, "");
  ChatRequest q;
  q.model = r.str("model").value_or("default");
  q.messages = parse_messages(r);
  q.tools = parse_tools(r);
  bool has_tools = q.tools.is_array() && !q.tools.empty();
  q.tool_choice = parse_tool_choice(r, q.tools, has_tools);
  q.parallel_tool_calls = r.boolean("parallel_tool_calls").value_or(true);
  auto max_tokens = r.integer("max_tokens");
  auto max_completion = r.integer("max_completion_tokens");
  if (max_completion) q.max_tokens = bounded_int(r, "max_completion_tokens", 1, INT32_MAX, *max_completion);
  else if (max_tokens) q.max_tokens = bounded_int(r, "max_tokens", 1, INT32_MAX, *max_tokens);
  if (auto v = r.integer("n")) q.n = bounded_int(r, "n", 1, 128, *v);
  q.stream = r.boolean("stream").value_or(false);
  parse_stream_options(r, q.include_usage, q.continuous_usage_stats);
  q.logprobs = r.boolean("logprobs").value_or(false);
  if (auto v = r.integer("top_logprobs")) q.top_logprobs = bounded_int(r, "top_logprobs", 0, 20, *v);
  q.separate_reasoning = r.boolean("separate_reasoning").value_or(true);
  q.stream_reasoning = r.boolean("stream_reasoning").value_or(true);
  if (const Json* k = r.object("chat_template_kwargs")) q.chat_template_kwargs = *k;
  if (const Json* e = r.get("reasoning_effort")) {
    if (e->is_string()) {
      static const char* tiers[] = {"none", "minimal", "low", "medium", "high", "xhigh", "max"};
      std::string s = e->get<std::string>();
      if (std::find(std::begin(tiers), std::end(tiers), s) == std::end(tiers))
        schema_error("reasoning_effort: Input should be 'none', 'minimal', 'low', 'medium', 'high', 'xhigh' or 'max'");
      q.reasoning_effort = s;
    } else if (e->is_number() && !e->is_boolean()) {
      double d = e->get<double>();
      if (!(d >= 0.0 && d <= 0.99)) schema_error("reasoning_effort: a number must be in [0.0, 0.99]");
      q.reasoning_effort = e->dump();
    } else {
      schema_error("reasoning_effort: Input should be a string tier or a number");
    }
  }
  // reasoning_effort inside chat_template_kwargs is lifted to the request (serving_chat.py).
  if (q.chat_template_kwargs.contains("reasoning_effort")) {
    const Json& e = q.chat_template_kwargs["reasoning_effort"];
    if (e.is_string()) q.reasoning_effort = e.get<std::string>();
    q.chat_template_kwargs.erase("reasoning_effort");
  }
  // reasoning_effort "none" turns thinking off unless the caller set it explicitly (protocol.py).
  if (q.reasoning_effort) {
    bool thinking = *q.reasoning_effort != "none";
    if (!q.chat_template_kwargs.contains("thinking")) q.chat_template_kwargs["thinking"] = thinking;
    if (!q.chat_template_kwargs.contains("enable_thinking")) q.chat_template_kwargs["enable_thinking"] = thinking;
  }
  q.continue_final_message = r.boolean("continue_final_message").value_or(false);
  q.input_ids = r.int_list("input_ids");
  q.rid = parse_rid(r);
  q.sampling = parse_sampling_fields(r, true);
  parse_response_format(r, q.response_format, q.sampling);
  if (q.stream && r.boolean("return_prompt_token_ids").value_or(false))
    bad_request("return_prompt_token_ids is not supported with streaming. "
                "Please set stream=false when using return_prompt_token_ids=true.");
  if (q.n > 1 && q.rid) bad_request("rid must not be set when n > 1 (each choice is its own request).");
  return q;
}

CompletionRequest parse_completion_request(const Json& body) {
  FieldReader r(body, "");
  CompletionRequest q;
  q.model = r.str("model").value_or("default");
  const Json* p = r.get("prompt");
  if (!p) schema_error("prompt: Field required");
  if (p->is_string()) {
    q.prompt_texts.push_back(p->get<std::string>());
  } else if (p->is_array()) {
    if (p->empty()) bad_request("prompt cannot be empty.");
    if ((*p)[0].is_string()) {
      for (const auto& e : *p) {
        if (!e.is_string()) schema_error("prompt: Input should be a list of strings");
        q.prompt_texts.push_back(e.get<std::string>());
      }
    } else if ((*p)[0].is_array()) {
      for (const auto& e : *p) {
        if (!e.is_array()) schema_error("prompt: Input should be a list of lists of integers");
        if (e.empty()) bad_request("prompt cannot be empty.");
        q.prompt_ids.push_back(to_token_ids(e, "prompt"));
      }
    } else {
      q.prompt_ids.push_back(to_token_ids(*p, "prompt"));
    }
  } else {
    schema_error("prompt: Input should be a string, a list of strings or token ids");
  }
  if (auto v = r.integer("max_tokens")) {
    if (*v <= 0) schema_error("max_tokens: Value error, max_tokens must be positive");
    q.max_tokens = bounded_int(r, "max_tokens", 1, INT32_MAX, *v);
  }
  if (auto v = r.integer("n")) q.n = bounded_int(r, "n", 1, 128, *v);
  q.echo = r.boolean("echo").value_or(false);
  if (auto v = r.integer("logprobs")) q.logprobs = bounded_int(r, "logprobs", 0, 20, *v);
  q.stream = r.boolean("stream").value_or(false);
  parse_stream_options(r, q.include_usage, q.continuous_usage_stats);
  q.suffix = r.str("suffix");
  if (q.suffix && !q.suffix->empty()) bad_request("suffix is not supported.");
  if (auto v = r.integer("best_of"); v && *v != 1) bad_request("best_of is not supported.");
  q.rid = parse_rid(r);
  q.sampling = parse_sampling_fields(r, false);
  std::string format;
  parse_response_format(r, format, q.sampling);
  size_t prompts = q.prompt_texts.size() + q.prompt_ids.size();
  if ((q.n > 1 || prompts > 1) && q.rid) bad_request("rid must not be set for a batch or n > 1.");
  return q;
}

NativeGenerateRequest parse_generate_request(const Json& body) {
  FieldReader r(body, "");
  NativeGenerateRequest q;
  const Json* text = r.get("text");
  const Json* ids = r.get("input_ids");
  if ((text != nullptr) == (ids != nullptr)) bad_request("Either text or input_ids should be provided.");
  if (text) {
    if (text->is_string()) {
      q.texts.push_back(text->get<std::string>());
    } else if (text->is_array()) {
      q.batch = true;
      for (const auto& e : *text) {
        if (!e.is_string()) schema_error("text: Input should be a string or a list of strings");
        q.texts.push_back(e.get<std::string>());
      }
      if (q.texts.empty()) bad_request("text cannot be an empty list.");
    } else {
      schema_error("text: Input should be a string or a list of strings");
    }
  } else {
    if (!ids->is_array()) schema_error("input_ids: Input should be a list of integers");
    if (!ids->empty() && (*ids)[0].is_array()) {
      q.batch = true;
      for (const auto& e : *ids) {
        if (!e.is_array()) schema_error("input_ids: Input should be a list of lists of integers");
        q.input_ids.push_back(to_token_ids(e, "input_ids"));
      }
    } else {
      q.input_ids.push_back(to_token_ids(*ids, "input_ids"));
    }
    for (const auto& p : q.input_ids)
      if (p.empty()) bad_request("input_ids cannot be empty.");
  }
  // sampling_params: one object for every prompt, or a list with one per prompt (SGLang's batch form).
  // n (parallel samples per prompt) must then agree across the list.
  auto parse_sampling = [&](const Json& obj, const std::string& where, int& n) {
    if (!obj.is_object()) schema_error(where + ": Input should be a valid dictionary");
    FieldReader s(obj, where);
    SamplingFields f = parse_sampling_fields(s, false);
    SamplingParams p = to_sampling_params(f, nullptr, 1.0f);
    if (auto v = s.integer("max_new_tokens")) {
      if (*v < 0) schema_error(where + ".max_new_tokens: Input should be greater than or equal to 0");
      p.max_new_tokens = static_cast<int>(std::min<int64_t>(*v, INT32_MAX));
    }
    if (auto v = s.integer("min_new_tokens")) p.min_new_tokens = bounded_int(s, "min_new_tokens", 0, 1 << 30, *v);
    p.spaces_between_special_tokens = s.boolean("spaces_between_special_tokens").value_or(true);
    if (f.custom_logit_processor) q.custom_logit_processor = f.custom_logit_processor;
    n = 1;
    if (auto v = s.integer("n")) n = bounded_int(s, "n", 1, 128, *v);
    return p;
  };
  if (const Json* sp = r.get("sampling_params"); sp && !sp->is_null()) {
    const size_t prompts = q.texts.size() + q.input_ids.size();
    if (sp->is_array()) {
      if (!q.batch) bad_request("sampling_params: a list is for a batch (text or input_ids given as a list).");
      if (sp->size() != prompts)
        bad_request(fmt::format("sampling_params: a list needs one entry per prompt ({}), got {}.", prompts,
                                sp->size()));
      for (size_t i = 0; i < sp->size(); ++i) {
        int n = 1;
        q.sampling_per_prompt.push_back(parse_sampling((*sp)[i], fmt::format("sampling_params.{}", i), n));
        if (i == 0) q.n = n;
        else if (n != q.n) bad_request("sampling_params: n must be the same for every prompt.");
      }
      q.sampling = q.sampling_per_prompt[0];
    } else {
      q.sampling = parse_sampling(*sp, "sampling_params", q.n);
    }
  }
  if (auto clp = r.str("custom_logit_processor")) q.custom_logit_processor = clp;
  if (q.custom_logit_processor) {
    q.sampling.custom_logit_processor = *q.custom_logit_processor;
    for (auto& p : q.sampling_per_prompt) p.custom_logit_processor = *q.custom_logit_processor;
  }
  q.stream = r.boolean("stream").value_or(false);
  q.return_logprob = r.boolean("return_logprob").value_or(false);
  if (auto v = r.integer("top_logprobs_num")) q.top_logprobs_num = bounded_int(r, "top_logprobs_num", 0, 20, *v);
  if (auto v = r.integer("logprob_start_len"))
    q.logprob_start_len = bounded_int(r, "logprob_start_len", -1, INT32_MAX, *v);
  size_t prompts = q.texts.size() + q.input_ids.size();
  if (const Json* rid = r.get("rid")) {
    if (rid->is_string()) {
      q.rids.push_back(rid->get<std::string>());
    } else if (rid->is_array()) {
      for (const auto& e : *rid) {
        if (!e.is_string()) schema_error("rid: Input should be a string or a list of strings");
        q.rids.push_back(e.get<std::string>());
      }
    } else {
      schema_error("rid: Input should be a string or a list of strings");
    }
    if (q.rids.size() != prompts) bad_request("The number of rids must match the number of prompts.");
  }
  if (q.stream && (q.batch || q.n > 1)) bad_request("Streaming is supported for a single prompt and n = 1 only.");
  return q;
}

SamplingParams to_sampling_params(const SamplingFields& f, const Json& preferred, float default_temperature) {
  SamplingParams p;
  auto pref = [&](const char* key, float fallback) {
    if (preferred.is_object() && preferred.contains(key) && preferred[key].is_number())
      return preferred[key].get<float>();
    return fallback;
  };
  p.temperature = f.temperature.value_or(pref("temperature", default_temperature));
  p.top_p = f.top_p.value_or(pref("top_p", 1.0f));
  p.top_k = f.top_k.value_or(static_cast<int>(pref("top_k", -1.0f)));
  p.min_p = f.min_p.value_or(pref("min_p", 0.0f));
  p.repetition_penalty = f.repetition_penalty.value_or(pref("repetition_penalty", 1.0f));
  p.frequency_penalty = f.frequency_penalty;
  p.presence_penalty = f.presence_penalty;
  p.min_new_tokens = f.min_tokens;
  p.stop = f.stop;
  p.stop_regex = f.stop_regex;
  p.stop_token_ids = f.stop_token_ids;
  p.ignore_eos = f.ignore_eos;
  p.no_stop_trim = f.no_stop_trim;
  p.skip_special_tokens = f.skip_special_tokens;
  p.seed = f.seed;
  p.logit_bias = f.logit_bias;
  p.regex = f.regex;
  p.json_schema = f.json_schema;
  p.ebnf = f.ebnf;
  if (f.custom_logit_processor) p.custom_logit_processor = *f.custom_logit_processor;
  if (!f.custom_params.is_null()) p.custom_params = nlohmann::json(f.custom_params);
  return p;
}

}  // namespace glm::serving
