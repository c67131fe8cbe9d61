// Building a TokenizerState from tokenizer.json and the optional config files next to it.
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_state.h"

namespace glm {
namespace {

std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::NotFound, "cannot open {}", path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::json parse_json(std::string_view text, std::string_view context) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::InvalidModel, "{}: invalid JSON: {}", context, e.what());
  }
}

// "eos_token": "<|endoftext|>" or {"content": "<|endoftext|>", ...} or null.
std::optional<std::string> token_content(const nlohmann::json& config, const char* key) {
  if (!config.contains(key)) return std::nullopt;
  const auto& v = config[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return std::nullopt;
}

// "eos_token_id": 151329 or [151329, 151336, ...] or null.
void append_ids(const nlohmann::json& config, const char* key, std::vector<int32_t>& out) {
  if (!config.contains(key)) return;
  const auto& v = config[key];
  auto add = [&out](int32_t id) {
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  };
  if (v.is_number_integer()) add(v.get<int32_t>());
  if (v.is_array())
    for (const auto& e : v)
      if (e.is_number_integer()) add(e.get<int32_t>());
}

AddedToken parse_added_token(const nlohmann::json& j, int32_t id) {
  AddedToken t;
  t.id = id;
  t.content = j.at("content").get<std::string>();
  t.special = j.value("special", false);
  t.single_word = j.value("single_word", false);
  t.lstrip = j.value("lstrip", false);
  t.rstrip = j.value("rstrip", false);
  // tokenizers' default: normalized unless special.
  t.normalized = j.value("normalized", !t.special);
  return t;
}

std::shared_ptr<TokenizerState> build_state(const nlohmann::json& tj, const nlohmann::json& config,
                                            std::string_view context) {
  auto s = std::make_shared<TokenizerState>();
  try {
    s->normalizer = Normalizer::from_json(tj.value("normalizer", nlohmann::json()));
    s->pre_tokenizer = PreTokenizer::from_json(tj.value("pre_tokenizer", nlohmann::json()));
    s->model = BpeModel::from_json(tj.at("model"), context);
    s->post_processor = PostProcessor::from_json(tj.value("post_processor", nlohmann::json()));
    s->decoder = TokenDecoder::from_json(tj.value("decoder", nlohmann::json()));

    std::vector<AddedToken> added;
    if (tj.contains("added_tokens") && tj["added_tokens"].is_array())
      for (const auto& a : tj["added_tokens"]) added.push_back(parse_added_token(a, a.at("id").get<int32_t>()));
    // transformers adds tokens listed in tokenizer_config's added_tokens_decoder that
    // tokenizer.json lacks.
    if (config.contains("added_tokens_decoder") && config["added_tokens_decoder"].is_object())
      for (const auto& [id_text, a] : config["added_tokens_decoder"].items()) {
        AddedToken t = parse_added_token(a, std::stoi(id_text));
        bool known = std::any_of(added.begin(), added.end(), [&](const AddedToken& x) { return x.content == t.content; });
        if (!known) added.push_back(std::move(t));
      }
    const Normalizer& normalizer = s->normalizer;
    s->added.build(std::move(added), [&normalizer](const std::string& c) { return normalizer.normalize(c); });
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::InvalidModel, "{}: malformed tokenizer: {}", context, e.what());
  } catch (const std::invalid_argument& e) {
    fail(ErrorKind::InvalidModel, "{}: malformed added_tokens_decoder id: {}", context, e.what());
  }

  int32_t max_id = s->model.max_id();
  for (const AddedToken& t : s->added.tokens()) max_id = std::max(max_id, t.id);
  s->vocab_size = max_id + 1;
  s->id_known.assign(size_t(s->vocab_size), false);
  s->id_special.assign(size_t(s->vocab_size), false);
  if (s->decoder.is_pure_byte_level()) s->decoded_bytes.resize(size_t(s->vocab_size));
  for (int32_t id = 0; id < s->vocab_size; ++id) {
    const AddedToken* a = s->added.find_id(id);
    const std::string* token = a ? &a->content : s->model.id_to_token(id);
    if (!token) continue;
    s->id_known[size_t(id)] = true;
    s->id_special[size_t(id)] = a && a->special;
    if (!s->decoded_bytes.empty()) byte_level::append_unmapped(*token, s->decoded_bytes[size_t(id)]);
  }

  // With no post_processor in tokenizer.json, Llama-style add_bos_token / add_eos_token apply.
  if (s->post_processor.is_identity() && (tj.value("post_processor", nlohmann::json()).is_null())) {
    std::vector<int32_t> prefix, suffix;
    auto id_of = [&](const char* key) -> std::optional<int32_t> {
      auto content = token_content(config, key);
      if (!content) return std::nullopt;
      if (const AddedToken* a = s->added.find_content(*content)) return a->id;
      return s->model.token_to_id(*content);
    };
    if (config.value("add_bos_token", false))
      if (auto id = id_of("bos_token")) prefix.push_back(*id);
    if (config.value("add_eos_token", false))
      if (auto id = id_of("eos_token")) suffix.push_back(*id);
    s->post_processor = PostProcessor::from_bos_eos(prefix, suffix);
  }
  return s;
}

std::optional<int32_t> lookup(const TokenizerState& s, const std::optional<std::string>& content) {
  if (!content) return std::nullopt;
  if (const AddedToken* a = s.added.find_content(*content)) return a->id;
  return s.model.token_to_id(*content);
}

nlohmann::json read_optional_json(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) return nlohmann::json::object();
  nlohmann::json j = parse_json(read_text_file(path), path.string());
  return j.is_object() ? j : nlohmann::json::object();
}

}  // namespace

Tokenizer Tokenizer::from_json_text(std::string_view tokenizer_json, std::string_view tokenizer_config_json,
                                    std::string_view context) {
  nlohmann::json tj = parse_json(tokenizer_json, context);
  nlohmann::json config =
      tokenizer_config_json.empty() ? nlohmann::json::object() : parse_json(tokenizer_config_json, "tokenizer_config.json");
  auto s = build_state(tj, config, context);
  s->bos_token_id = lookup(*s, token_content(config, "bos_token"));
  s->pad_token_id = lookup(*s, token_content(config, "pad_token"));
  if (auto eos = lookup(*s, token_content(config, "eos_token"))) s->eos_token_ids.push_back(*eos);
  return Tokenizer(std::move(s));
}

Tokenizer Tokenizer::from_file(const std::filesystem::path& tokenizer_json) {
  return from_json_text(read_text_file(tokenizer_json), {}, tokenizer_json.string());
}

Tokenizer Tokenizer::from_dir(const std::filesystem::path& dir) {
  auto tokenizer_path = dir / "tokenizer.json";
  if (!std::filesystem::exists(tokenizer_path))
    fail(ErrorKind::NotFound, "{}: no tokenizer.json (only the Hugging Face fast-tokenizer format is supported)",
         dir.string());
  nlohmann::json tj = parse_json(read_text_file(tokenizer_path), tokenizer_path.string());
  nlohmann::json tconfig = read_optional_json(dir / "tokenizer_config.json");
  nlohmann::json gen = read_optional_json(dir / "generation_config.json");
  nlohmann::json model_config = read_optional_json(dir / "config.json");

  auto s = build_state(tj, tconfig, tokenizer_path.string());
  append_ids(gen, "eos_token_id", s->eos_token_ids);
  append_ids(model_config, "eos_token_id", s->eos_token_ids);
  if (auto eos = lookup(*s, token_content(tconfig, "eos_token")))
    if (std::find(s->eos_token_ids.begin(), s->eos_token_ids.end(), *eos) == s->eos_token_ids.end())
      s->eos_token_ids.push_back(*eos);
  s->bos_token_id = lookup(*s, token_content(tconfig, "bos_token"));
  if (!s->bos_token_id && model_config.contains("bos_token_id") && model_config["bos_token_id"].is_number_integer())
    s->bos_token_id = model_config["bos_token_id"].get<int32_t>();
  s->pad_token_id = lookup(*s, token_content(tconfig, "pad_token"));
  if (!s->pad_token_id && model_config.contains("pad_token_id") && model_config["pad_token_id"].is_number_integer())
    s->pad_token_id = model_config["pad_token_id"].get<int32_t>();
  return Tokenizer(std::move(s));
}

}  // namespace glm
