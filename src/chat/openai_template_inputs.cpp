#include "chat/openai_template_inputs.h"

#include "core/error.h"

namespace glm {

using ojson = nlohmann::ordered_json;

namespace {

// Tool-call arguments given as a JSON string become an object (SGLang rule 2).
ojson parse_tool_calls(const ojson& calls, size_t index) {
  ojson out = calls;
  for (auto& call : out) {
    if (!call.is_object()) continue;
    auto fn = call.find("function");
    if (fn == call.end() || !fn->is_object()) continue;
    auto args = fn->find("arguments");
    if (args == fn->end() || !args->is_string()) continue;
    try {
      *args = ojson::parse(args->get_ref<const std::string&>());
    } catch (const nlohmann::json::exception& e) {
      fail(ErrorKind::InvalidArgument, "messages[{}].tool_calls: arguments is not valid JSON: {}", index, e.what());
    }
  }
  return out;
}

ojson normalize_message(const ojson& message, size_t index) {
  if (!message.is_object()) fail(ErrorKind::InvalidArgument, "messages[{}] must be an object", index);
  const bool assistant = message.value("role", "") == "assistant";
  const ojson* reasoning = nullptr;
  for (const char* key : {"reasoning_content", "thinking", "reasoning"}) {
    auto it = message.find(key);
    if (it != message.end() && !it->is_null()) {
      reasoning = &*it;
      break;
    }
  }
  ojson out = ojson::object();
  if (reasoning) out["thinking"] = *reasoning;  // {"thinking": r, **message, "reasoning_content": r}
  for (const auto& [k, v] : message.items()) {
    if (k == "content" && v.is_null()) out[k] = "";  // SGLang rule 1, before the null drop
    else if (v.is_null()) continue;                  // transformers' _normalize_chat_messages
    else if (assistant && k == "tool_calls" && v.is_array()) out[k] = parse_tool_calls(v, index);
    else out[k] = v;
  }
  if (reasoning) out["reasoning_content"] = *reasoning;
  return out;
}

}  // namespace

ojson normalize_openai_messages(const ojson& messages) {
  if (!messages.is_array()) fail(ErrorKind::InvalidArgument, "messages must be an array");
  ojson out = ojson::array();
  for (size_t i = 0; i < messages.size(); ++i) out.push_back(normalize_message(messages[i], i));
  return out;
}

ojson openai_tools_for_template(const ojson& tools, const ojson& tool_choice) {
  if (!tools.is_array() || tools.empty()) return nullptr;
  if (tool_choice.is_string() && tool_choice.get<std::string>() == "none") return nullptr;
  std::string only;
  if (tool_choice.is_object() && tool_choice.contains("function") && tool_choice["function"].is_object())
    only = tool_choice["function"].value("name", "");
  ojson out = ojson::array();
  for (size_t i = 0; i < tools.size(); ++i) {
    const ojson& tool = tools[i];
    const ojson& fn = tool.is_object() && tool.contains("function") ? tool["function"] : tool;
    if (!fn.is_object() || !fn.contains("name") || !fn["name"].is_string())
      fail(ErrorKind::InvalidArgument, "tools[{}]: expected {{\"type\": \"function\", \"function\": {{\"name\": ...}}}}", i);
    if (!only.empty() && fn["name"].get<std::string>() != only) continue;
    ojson f = ojson::object();
    f["description"] = fn.contains("description") ? fn["description"] : ojson(nullptr);
    f["name"] = fn["name"];
    f["parameters"] = fn.contains("parameters") ? fn["parameters"] : ojson(nullptr);
    f["strict"] = fn.contains("strict") && !fn["strict"].is_null() ? fn["strict"] : ojson(false);
    for (const auto& [k, v] : fn.items())
      if (!f.contains(k)) f[k] = v;
    out.push_back(std::move(f));
  }
  return out;
}

ojson openai_request_to_template_inputs(const ojson& request) {
  if (!request.is_object()) fail(ErrorKind::InvalidArgument, "request must be a JSON object");
  if (!request.contains("messages")) fail(ErrorKind::InvalidArgument, "request has no messages");
  ojson inputs = ojson::object();
  inputs["messages"] = normalize_openai_messages(request["messages"]);
  inputs["tools"] = openai_tools_for_template(request.value("tools", ojson(nullptr)),
                                              request.value("tool_choice", ojson("auto")));
  inputs["documents"] = nullptr;
  inputs["add_generation_prompt"] = request.value("add_generation_prompt", true);
  if (request.contains("chat_template_kwargs") && request["chat_template_kwargs"].is_object())
    for (const auto& [k, v] : request["chat_template_kwargs"].items()) inputs[k] = v;
  return inputs;
}

}  // namespace glm
