#pragma once
// From an OpenAI chat-completions request to the template inputs SGLang + transformers build,
// so that glmserve's prompt equals SGLang's for the same request. Rules, in order:
//
// messages (SGLang serving_chat._apply_jinja_template, then transformers apply_chat_template):
//   1. content null -> ""                           (SGLang: `if message.content is None: ""`)
//   2. assistant tool_calls[i].function.arguments given as a JSON string is parsed into an object
//      (SGLang: "tool call arguments ... need to be dicts not JSON str"); a string that is not
//      valid JSON is an InvalidArgument error, as orjson.loads raises there.
//   3. keys whose value is null are dropped         (transformers _normalize_chat_messages)
//   4. reasoning aliases: the first non-null of reasoning_content / thinking / reasoning is set as
//      {"thinking": r, **message, "reasoning_content": r}   (transformers _alias_reasoning_fields)
//   Content given as a list of parts is passed through unchanged (the GLM templates read
//   {"type": "text", "text": ...} parts themselves).
// tools (SGLang protocol Tool/Function): when present and tool_choice != "none", the template gets
//   the `function` objects with fields in the order description (null when absent), name,
//   parameters (null when absent), strict (false when absent), then any other given fields;
//   a tool_choice naming one function keeps only that tool. Otherwise tools = None.
// add_generation_prompt: the request's value when given, else true (chat completions).
// chat_template_kwargs: every entry becomes a top-level template name (after the above, so a
//   kwarg may override them, as **kwargs does in transformers).
// documents: None.
#include <nlohmann/json.hpp>

namespace glm {

nlohmann::ordered_json openai_request_to_template_inputs(const nlohmann::ordered_json& request);

// Step 1-4 above for one message list (exposed for tests and for callers that build inputs).
nlohmann::ordered_json normalize_openai_messages(const nlohmann::ordered_json& messages);
// The tool list the template sees (null when none), per the rules above.
nlohmann::ordered_json openai_tools_for_template(const nlohmann::ordered_json& tools,
                                                 const nlohmann::ordered_json& tool_choice);

}  // namespace glm
