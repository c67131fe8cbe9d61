#include "chat/chat_template.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace glm {
namespace {

std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::NotFound, "cannot open {}", path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

nlohmann::ordered_json special_tokens_from_tokenizer_config(const nlohmann::ordered_json& config) {
  auto tokens = nlohmann::ordered_json::object();
  if (!config.is_object()) return tokens;
  for (const char* key : {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"}) {
    auto it = config.find(key);
    if (it == config.end()) continue;
    if (it->is_string()) tokens[key] = *it;
    else if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) tokens[key] = (*it)["content"];
  }
  return tokens;
}

ChatTemplate ChatTemplate::from_string(const std::string& source, nlohmann::ordered_json special_tokens) {
  ChatTemplate t;
  t.source_ = source;
  t.template_ = jinja::Template::parse(source);
  t.special_tokens_ = special_tokens.is_object() ? std::move(special_tokens) : nlohmann::ordered_json::object();
  return t;
}

ChatTemplate ChatTemplate::from_file(const std::string& path, nlohmann::ordered_json special_tokens) {
  std::string source = read_text_file(path);
  try {
    return from_string(source, std::move(special_tokens));
  } catch (const GlmError& e) {
    fail(ErrorKind::Template, "{}: {}", path, e.what());
  }
}

ChatTemplate ChatTemplate::from_model_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path root(dir);
  nlohmann::ordered_json config = nlohmann::ordered_json::object();
  const fs::path config_path = root / "tokenizer_config.json";
  if (fs::exists(config_path)) {
    try {
      config = nlohmann::ordered_json::parse(read_text_file(config_path));
    } catch (const nlohmann::json::exception& e) {
      fail(ErrorKind::InvalidModel, "{}: invalid JSON: {}", config_path.string(), e.what());
    }
  }
  nlohmann::ordered_json special = special_tokens_from_tokenizer_config(config);
  const fs::path jinja_path = root / "chat_template.jinja";
  if (fs::exists(jinja_path)) return from_file(jinja_path.string(), std::move(special));

  auto it = config.is_object() ? config.find("chat_template") : config.end();
  if (it == config.end() || it->is_null())
    fail(ErrorKind::NotFound, "{}: no chat_template.jinja and no chat_template in tokenizer_config.json", dir);
  std::string source;
  if (it->is_string()) {
    source = it->get<std::string>();
  } else if (it->is_array()) {
    for (const auto& entry : *it) {
      if (entry.is_object() && entry.value("name", "") == "default" && entry.contains("template") &&
          entry["template"].is_string())
        source = entry["template"].get<std::string>();
    }
    if (source.empty()) fail(ErrorKind::InvalidModel, "{}: chat_template list has no \"default\" entry", config_path.string());
  } else {
    fail(ErrorKind::InvalidModel, "{}: chat_template must be a string or a list of {{name, template}}", config_path.string());
  }
  try {
    return from_string(source, std::move(special));
  } catch (const GlmError& e) {
    fail(ErrorKind::Template, "{} (chat_template): {}", config_path.string(), e.what());
  }
}

std::string ChatTemplate::render(const nlohmann::ordered_json& inputs) const {
  if (!inputs.is_object()) fail(ErrorKind::InvalidArgument, "chat template inputs must be a JSON object");
  // transformers: render(messages=..., tools=..., documents=..., add_generation_prompt=...,
  // **{**special_tokens_map, **kwargs}).
  std::vector<std::pair<std::string, jinja::Value>> vars;
  vars.reserve(inputs.size() + special_tokens_.size() + 3);
  auto add = [&](const std::string& key, const nlohmann::ordered_json& v) {
    for (auto& [k, existing] : vars) {
      if (k == key) {
        existing = jinja::Value::from_json(v);
        return;
      }
    }
    vars.emplace_back(key, jinja::Value::from_json(v));
  };
  add("tools", nullptr);
  add("documents", nullptr);
  add("add_generation_prompt", false);
  for (const auto& [k, v] : special_tokens_.items()) add(k, v);
  for (const auto& [k, v] : inputs.items()) add(k, v);
  return template_.render(std::move(vars));
}

std::string ChatTemplate::render(const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools,
                                 bool add_generation_prompt, const nlohmann::ordered_json& chat_template_kwargs) const {
  nlohmann::ordered_json inputs = nlohmann::ordered_json::object();
  inputs["messages"] = messages;
  inputs["tools"] = tools;
  inputs["add_generation_prompt"] = add_generation_prompt;
  if (chat_template_kwargs.is_object())
    for (const auto& [k, v] : chat_template_kwargs.items()) inputs[k] = v;
  return render(inputs);
}

}  // namespace glm
