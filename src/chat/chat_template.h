#pragma once
// A model's chat template, loaded like transformers loads it, rendered like transformers'
// apply_chat_template renders it (see jinja_template.h for the engine).
//
// For the server (HTTP /v1/chat/completions):
//   auto tmpl = glm::ChatTemplate::from_model_dir(model_dir);      // or from_file(--chat-template)
//   nlohmann::ordered_json inputs = glm::openai_request_to_template_inputs(request_json);  // see below
//   std::string prompt = tmpl.render(inputs);                       // GlmError(Template) -> HTTP 400
//
// `render(inputs)` is a faithful renderer: `inputs` is a JSON object whose keys become template
// names exactly as given (messages, tools, documents, add_generation_prompt, enable_thinking, ...).
// Before rendering it only adds what transformers adds on its own: the tokenizer's special tokens
// (bos_token, eos_token, ... from tokenizer_config.json, overridden by same-named inputs) and
// `tools` / `documents` = None when absent. It performs no OpenAI-specific rewriting; that is
// openai_request_to_template_inputs' job.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "chat/jinja_template.h"

namespace glm {

class ChatTemplate {
 public:
  // Template from `<dir>/chat_template.jinja` if present (it wins, as in transformers), else
  // tokenizer_config.json's `chat_template` (a string, or a list of {name, template}). Named
  // templates (the list form, or `<dir>/additional_chat_templates/<name>.jinja`) are selected as
  // transformers' get_chat_template does: "tool_use" when the inputs carry tools, else "default".
  // Special tokens come from tokenizer_config.json. Throws GlmError (NotFound / InvalidModel /
  // Template).
  static ChatTemplate from_model_dir(const std::string& dir);
  // A template file (SGLang's --chat-template FILE). `special_tokens` as from_string.
  static ChatTemplate from_file(const std::string& path,
                                nlohmann::ordered_json special_tokens = nlohmann::ordered_json::object());
  // `special_tokens`: {"bos_token": "...", ...} passed to every render.
  static ChatTemplate from_string(const std::string& source,
                                  nlohmann::ordered_json special_tokens = nlohmann::ordered_json::object());

  std::string render(const nlohmann::ordered_json& inputs) const;
  std::string render(const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools,
                     bool add_generation_prompt, const nlohmann::ordered_json& chat_template_kwargs) const;

  const std::string& source() const { return source_; }
  const nlohmann::ordered_json& special_tokens() const { return special_tokens_; }

 private:
  std::string source_;
  jinja::Template template_;
  std::optional<jinja::Template> tool_use_template_;  // named "tool_use", used when tools are given
  nlohmann::ordered_json special_tokens_;
};

// Special tokens as transformers' special_tokens_map exposes them to templates: the string
// values of bos/eos/unk/sep/pad/cls/mask_token in a tokenizer_config.json object (AddedToken
// objects {"content": ...} are reduced to their content).
nlohmann::ordered_json special_tokens_from_tokenizer_config(const nlohmann::ordered_json& config);

}  // namespace glm
