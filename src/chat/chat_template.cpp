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
  auto parse_named = [&](const std::string& source, const std::string& where) {
    try {
      return jinja::Template::parse(source);
    } catch (const GlmError& e) {
      fail(ErrorKind::Template, "{}: {}", where, e.what());
    }
  };
  const fs::path jinja_path = root / "chat_template.jinja";
  if (fs::exists(jinja_path)) {
    ChatTemplate t = from_file(jinja_path.string(), std::move(special));
    const fs::path tool_use = root / "additional_chat_templates" / "tool_use.jinja";
    if (fs::exists(tool_use)) t.tool_use_template_ = parse_named(read_text_file(tool_use), tool_use.string());
    return t;
  }

  auto it = config.is_object() ? config.find("chat_template") : config.end();
  if (it == config.end() || it->is_null())
    fail(ErrorKind::NotFound, "{}: no chat_template.jinja and no chat_template in tokenizer_config.json", dir);
  std::string source, tool_use_source;
  if (it->is_string()) {
    source = it->get<std::string>();
  } else if (it->is_array()) {
    for (const auto& entry : *it) {
      if (!entry.is_object() || !entry.contains("template") || !entry["template"].is_string()) continue;
      if (entry.value("name", "") == "default") source = entry["template"].get<std::string>();
      if (entry.value("name", "") == "tool_use") tool_use_source = entry["template"].get<std::string>();
    }
    if (source.empty() && tool_use_source.empty())
      fail(ErrorKind::InvalidModel, "{}: chat_template list has no \"default\" entry", config_path.string());
  } else {
    fail(ErrorKind::InvalidModel, "{}: chat_template must be a string or a list of {{name, template}}", config_path.string());
  }
  ChatTemplate t;
  t.special_tokens_ = std::move(special);
  if (!tool_use_source.empty())
    t.tool_use_template_ = parse_named(tool_use_source, config_path.string() + " (chat_template tool_use)");
  if (source.empty()) {
    // Only a tool_use template: transformers refuses renders without tools; keep it as the default too.
    t.source_ = tool_use_source;
    t.template_ = *t.tool_use_template_;
  } else {
    t.source_ = source;
    t.template_ = parse_named(source, config_path.string() + " (chat_template)");
  }
  return t;
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
  auto tools = inputs.find("tools");
  const bool has_tools = tools != inputs.end() && !tools->is_null();
  return (has_tools && tool_use_template_ ? *tool_use_template_ : template_).render(std::move(vars));
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
