#include "chat/openai_template_inputs.h"

#include "core/error.h"

namespace glm {

using ojson = nlohmann::ordered_json;

namespace {

ojson normalize_message(const ojson& message, size_t index) {
  if (!message.is_object()) fail(ErrorKind::InvalidArgument, "messages[{}] must be an object", index);
  ojson m = message;
  if (m.contains("content") && m["content"].is_null()) m["content"] = "";
  if (m.value("role", "") == "assistant" && m.contains("tool_calls") && m["tool_calls"].is_array()) {
    for (auto& call : m["tool_calls"]) {
      if (!call.is_object() || !call.contains("function") || !call["function"].is_object()) continue;
      auto& fn = call["function"];
      if (fn.contains("arguments") && fn["arguments"].is_string()) {
        try {
          fn["arguments"] = ojson::parse(fn["arguments"].get<std::string>());
        } catch (const nlohmann::json::exception& e) {
          fail(ErrorKind::InvalidArgument, "messages[{}].tool_calls: arguments is not valid JSON: {}", index, e.what());
        }
      }
    }
  }
  ojson dropped = ojson::object();
  for (const auto& [k, v] : m.items())
    if (!v.is_null()) dropped[k] = v;
  const ojson* reasoning = nullptr;
  for (const char* key : {"reasoning_content", "thinking", "reasoning"}) {
    if (dropped.contains(key)) {
      reasoning = &dropped[key];
      break;
    }
  }
  if (!reasoning) return dropped;
  ojson aliased = ojson::object();
  aliased["thinking"] = *reasoning;
  for (const auto& [k, v] : dropped.items()) aliased[k] = v;
  aliased["reasoning_content"] = *reasoning;
  return aliased;
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
