// `glmserve render`: chat template rendering from the command line, byte-exact.
//   echo '{"messages": [...], "tools": [...], "add_generation_prompt": true,
//          "chat_template_kwargs": {"enable_thinking": false}}' | glmserve render --model-path DIR
// Default mode renders the inputs as given (what jinja2 / transformers' render_jinja_template do);
// --openai first applies the OpenAI-request rules of the server (chat/openai_template_inputs.h).
// Keys other than messages / tools / add_generation_prompt / chat_template_kwargs are passed to the
// template as extra names. Prompt on stdout with no added newline; errors on stderr, exit 1.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>

#include "chat/chat_template.h"
#include "chat/openai_template_inputs.h"
#include "cli/command_registry.h"
#include "core/error.h"

namespace {

struct RenderOptions {
  std::string model_path;
  std::string chat_template;
  bool openai = false;
};

nlohmann::ordered_json raw_inputs(const nlohmann::ordered_json& request) {
  nlohmann::ordered_json inputs = nlohmann::ordered_json::object();
  for (const auto& [k, v] : request.items()) {
    if (k == "chat_template_kwargs") continue;
    inputs[k] = v;
  }
  if (request.contains("chat_template_kwargs") && request["chat_template_kwargs"].is_object())
    for (const auto& [k, v] : request["chat_template_kwargs"].items()) inputs[k] = v;
  return inputs;
}

int run_render(const RenderOptions& o) {
  using namespace glm;
  if (o.model_path.empty() && o.chat_template.empty())
    fail(ErrorKind::InvalidArgument, "render needs --model-path or --chat-template");
  ChatTemplate tmpl = o.chat_template.empty() ? ChatTemplate::from_model_dir(o.model_path)
                      : o.model_path.empty()  ? ChatTemplate::from_file(o.chat_template)
                                              : ChatTemplate::from_file(o.chat_template,
                                                                        ChatTemplate::from_model_dir(o.model_path).special_tokens());
  std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  nlohmann::ordered_json request;
  try {
    request = nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::InvalidArgument, "stdin is not valid JSON: {}", e.what());
  }
  if (!request.is_object()) fail(ErrorKind::InvalidArgument, "stdin must hold a JSON object");
  std::string prompt = tmpl.render(o.openai ? openai_request_to_template_inputs(request) : raw_inputs(request));
  std::fwrite(prompt.data(), 1, prompt.size(), stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace

static glm::cli::Registration reg{
    "render", "Render a chat request (JSON on stdin) through the chat template to stdout",
    [](CLI::App& sub) -> glm::cli::RunFn {
      auto o = std::make_shared<RenderOptions>();
      sub.add_option("--model-path", o->model_path, "Model directory (tokenizer_config.json / chat_template.jinja)");
      sub.add_option("--chat-template", o->chat_template, "Jinja chat template file (overrides the model's)");
      sub.add_flag("--openai", o->openai, "Apply the server's OpenAI request rules (tool_calls arguments, tools, nulls)");
      return [o] {
        try {
          return run_render(*o);
        } catch (const glm::GlmError& e) {
          std::fprintf(stderr, "%s\n", e.what());
          return e.kind() == glm::ErrorKind::InvalidArgument ? 2 : 1;
        }
      };
    }};
