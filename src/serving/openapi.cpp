#include "serving/openapi.h"

namespace glm::serving {
namespace {

Json str() { return Json{{"type", "string"}}; }
Json boolean() { return Json{{"type", "boolean"}}; }
Json integer() { return Json{{"type", "integer"}}; }
Json number() { return Json{{"type", "number"}}; }
// OpenAPI 3.0 spelling (schemathesis and most generators do not fully support 3.1's type lists).
Json nullable(Json s) {
  s["nullable"] = true;
  return s;
}
Json array_of(Json s) { return Json{{"type", "array"}, {"items", s}}; }
Json one_of(std::initializer_list<Json> xs) {
  Json a = Json::array();
  for (const auto& x : xs) a.push_back(x);
  return Json{{"anyOf", a}};
}
Json object(Json props, std::initializer_list<const char*> required = {}) {
  Json o = Json{{"type", "object"}, {"properties", props}};
  if (required.size()) {
    o["required"] = Json::array();
    for (const char* r : required) o["required"].push_back(r);
  }
  return o;
}

Json sampling_extras() {
  return Json{{"temperature", nullable(number())},
              {"top_p", nullable(number())},
              {"top_k", nullable(integer())},
              {"min_p", nullable(number())},
              {"repetition_penalty", nullable(number())},
              {"frequency_penalty", number()},
              {"presence_penalty", number()},
              {"min_tokens", integer()},
              {"stop", nullable(one_of({str(), array_of(str())}))},
              {"stop_regex", nullable(one_of({str(), array_of(str())}))},
              {"stop_token_ids", nullable(array_of(integer()))},
              {"ignore_eos", boolean()},
              {"no_stop_trim", boolean()},
              {"skip_special_tokens", boolean()},
              {"seed", nullable(integer())},
              {"regex", nullable(str())},
              {"ebnf", nullable(str())},
              {"grammar", nullable(str())},
              {"custom_logit_processor", nullable(str())},
              {"custom_params", nullable(Json{{"type", "object"}})},
              {"rid", nullable(str())},
              {"stream", boolean()},
              {"stream_options", nullable(object({{"include_usage", boolean()}, {"continuous_usage_stats", boolean()}}))},
              {"n", integer()},
              {"model", str()}};
}

Json chat_schema() {
  Json part = object({{"type", Json{{"type", "string"}, {"enum", {"text"}}}}, {"text", str()}}, {"type", "text"});
  Json tool_call = object({{"id", nullable(str())},
                           {"type", str()},
                           {"function", object({{"name", str()}, {"arguments", str()}}, {"name"})}},
                          {"function"});
  Json message = object({{"role", Json{{"type", "string"}, {"enum", {"system", "user", "assistant", "tool", "developer"}}}},
                         {"content", nullable(one_of({str(), array_of(part)}))},
                         {"name", nullable(str())},
                         {"tool_call_id", nullable(str())},
                         {"reasoning_content", nullable(str())},
                         {"tool_calls", nullable(array_of(tool_call))}},
                        {"role"});
  Json function = object({{"name", str()},
                          {"description", nullable(str())},
                          {"parameters", nullable(Json{{"type", "object"}})},
                          {"strict", boolean()}},
                         {"name"});
  Json tool = object({{"type", str()}, {"function", function}}, {"function"});
  Json props = sampling_extras();
  props["messages"] = array_of(message);
  props["tools"] = nullable(array_of(tool));
  props["tool_choice"] = one_of({Json{{"type", "string"}, {"enum", {"auto", "required", "none"}}},
                                 object({{"type", str()}, {"function", object({{"name", str()}})}}, {"function"})});
  props["parallel_tool_calls"] = boolean();
  props["max_tokens"] = nullable(integer());
  props["max_completion_tokens"] = nullable(integer());
  props["logprobs"] = boolean();
  props["top_logprobs"] = nullable(integer());
  props["response_format"] =
      nullable(object({{"type", Json{{"type", "string"}, {"enum", {"text", "json_object", "json_schema"}}}},
                       {"json_schema", nullable(Json{{"type", "object"}})}},
                      {"type"}));
  props["separate_reasoning"] = boolean();
  props["stream_reasoning"] = boolean();
  props["chat_template_kwargs"] = nullable(Json{{"type", "object"}});
  props["reasoning_effort"] = nullable(one_of({str(), number()}));
  props["continue_final_message"] = boolean();
  props["input_ids"] = nullable(array_of(integer()));
  return object(props, {"messages"});
}

Json completion_schema() {
  Json props = sampling_extras();
  props["prompt"] = one_of({str(), array_of(str()), array_of(integer()), array_of(array_of(integer()))});
  props["max_tokens"] = integer();
  props["echo"] = boolean();
  props["logprobs"] = nullable(integer());
  props["suffix"] = nullable(str());
  return object(props, {"prompt"});
}

Json generate_schema() {
  Json sp = sampling_extras();
  for (const char* k : {"rid", "stream", "stream_options", "model", "custom_logit_processor"}) sp.erase(k);
  sp["max_new_tokens"] = nullable(integer());
  sp["min_new_tokens"] = integer();
  sp["json_schema"] = nullable(str());
  return object({{"text", nullable(one_of({str(), array_of(str())}))},
                 {"input_ids", nullable(one_of({array_of(integer()), array_of(array_of(integer()))}))},
                 {"sampling_params", nullable(one_of({object(sp), array_of(object(sp))}))},
                 {"stream", boolean()},
                 {"return_logprob", boolean()},
                 {"top_logprobs_num", integer()},
                 {"logprob_start_len", integer()},
                 {"rid", nullable(one_of({str(), array_of(str())}))},
                 {"custom_logit_processor", nullable(str())}});
}

Json body(const Json& schema) {
  return Json{{"required", true}, {"content", {{"application/json", {{"schema", schema}}}}}};
}

Json responses(bool json = true) {
  Json ok = Json{{"description", "Successful Response"}};
  if (json) ok["content"] = Json{{"application/json", {{"schema", Json::object()}}}};
  return Json{{"200", ok},
              {"400", {{"description", "Bad Request"}}},
              {"401", {{"description", "Unauthorized"}}},
              {"503", {{"description", "Loading"}}}};
}

Json op(const char* summary, const Json* request_schema, bool json_response = true) {
  Json o = Json{{"summary", summary}, {"responses", responses(json_response)}};
  if (request_schema) o["requestBody"] = body(*request_schema);
  return o;
}

}  // namespace

Json openapi_document() {
  Json chat = chat_schema(), completion = completion_schema(), generate = generate_schema();
  Json tokenize = object({{"model", str()},
                          {"prompt", nullable(one_of({str(), array_of(str())}))},
                          {"add_special_tokens", boolean()}});
  Json detokenize = object({{"model", str()},
                            {"tokens", one_of({array_of(integer()), array_of(array_of(integer()))})},
                            {"skip_special_tokens", boolean()}},
                           {"tokens"});
  Json parse_fc = object({{"text", str()},
                          {"tool_call_parser", Json{{"type", "string"}, {"enum", {"glm", "glm45", "glm47"}}}},
                          {"tools", array_of(Json{{"type", "object"}})}},
                         {"text", "tool_call_parser", "tools"});
  Json sep = object({{"text", str()}, {"reasoning_parser", Json{{"type", "string"}, {"enum", {"glm45"}}}}},
                    {"text", "reasoning_parser"});
  Json abort = object({{"rid", str()}, {"abort_all", boolean()}});

  Json paths = Json::object();
  paths["/v1/chat/completions"] = {{"post", op("OpenAI chat completions", &chat)}};
  paths["/v1/completions"] = {{"post", op("OpenAI text completions", &completion)}};
  paths["/v1/models"] = {{"get", op("List models", nullptr)}};
  Json retrieve = op("Retrieve a model", nullptr);
  retrieve["parameters"] = Json::array({Json{{"name", "model"}, {"in", "path"}, {"required", true}, {"schema", str()}}});
  retrieve["responses"]["404"] = {{"description", "Unknown model"}};
  paths["/v1/models/{model}"] = {{"get", retrieve}};
  paths["/generate"] = {{"post", op("Native generation (SGLang GenerateReqInput)", &generate)},
                        {"put", op("Native generation (SGLang GenerateReqInput)", &generate)}};
  paths["/health"] = {{"get", op("Health (one-token generation)", nullptr, false)}};
  paths["/health_generate"] = {{"get", op("Health (one-token generation)", nullptr, false)}};
  paths["/get_model_info"] = {{"get", op("Model information", nullptr)}};
  paths["/get_server_info"] = {{"get", op("Server arguments and scheduler state", nullptr)}};
  paths["/model_info"] = {{"get", op("Model information (same as /get_model_info)", nullptr)}};
  paths["/server_info"] = {{"get", op("Server arguments and scheduler state (same as /get_server_info)", nullptr)}};
  paths["/get_load"] = {{"get", op("Requests and KV tokens in use, per data-parallel rank", nullptr)}};
  paths["/v1/tokenize"] = {{"post", op("Tokenize text", &tokenize)}};
  paths["/v1/detokenize"] = {{"post", op("Detokenize ids", &detokenize)}};
  paths["/parse_function_call"] = {{"post", op("Parse tool calls out of text", &parse_fc)}};
  paths["/separate_reasoning"] = {{"post", op("Split reasoning from text", &sep)}};
  paths["/flush_cache"] = {{"post", op("Flush the prefix cache", nullptr, false)}};
  paths["/abort_request"] = {{"post", op("Abort a request", &abort, false)}};
  Json pause = object({{"mode", str()}});
  paths["/pause_generation"] = {{"post", op("Pause generation (abort | retract | in_place)", &pause, false)}};
  paths["/continue_generation"] = {{"post", op("Continue generation", nullptr, false)}};
  paths["/metrics"] = {{"get", op("Prometheus metrics (with --enable-metrics)", nullptr, false)}};

  Json doc = Json::object();
  doc["openapi"] = "3.0.3";
  doc["info"] = {{"title", "glmserve"}, {"version", "0.1.0"}};
  doc["paths"] = paths;
  return doc;
}

}  // namespace glm::serving
