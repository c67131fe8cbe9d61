#include "serving/model_loader.h"

#include <fstream>

#include "core/error.h"
#include "serving/glm_text_backend.h"

namespace glm::serving {
namespace {

nlohmann::json read_json_file(const std::string& path, bool required) {
  std::ifstream in(path);
  if (!in) {
    if (required) fail(ErrorKind::NotFound, "{}: cannot open", path);
    return nullptr;
  }
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) fail(ErrorKind::InvalidModel, "{}: not valid JSON", path);
  return j;
}

}  // namespace

ModelInfo read_model_info(const ServerArgs& args) {
  ModelInfo info;
  info.model_path = args.model_path;
  info.tokenizer_path = args.tokenizer_path;
  info.served_model_name = args.served_model_name;
  nlohmann::json config = read_json_file(args.model_path + "/config.json", true);
  int max_pos = config.value("max_position_embeddings", 0);
  info.context_length = args.context_length.value_or(max_pos);
  if (info.context_length <= 0)
    fail(ErrorKind::InvalidModel, "{}/config.json: no max_position_embeddings; pass --context-length",
         args.model_path);
  info.vocab_size = config.value("vocab_size", 0);
  auto add_eos = [&](const nlohmann::json& v) {
    if (v.is_number_integer()) info.eos_token_ids.push_back(v.get<int32_t>());
    if (v.is_array())
      for (const auto& e : v)
        if (e.is_number_integer()) info.eos_token_ids.push_back(e.get<int32_t>());
  };
  if (config.contains("eos_token_id")) add_eos(config["eos_token_id"]);
  // SGLang's preferred defaults come from generation_config.json (temperature, top_p, top_k, ...).
  nlohmann::json gen = read_json_file(args.model_path + "/generation_config.json", false);
  if (gen.is_object()) {
    Json prefs = Json::object();
    for (const char* k : {"temperature", "top_p", "top_k", "min_p", "repetition_penalty"})
      if (gen.contains(k) && gen[k].is_number()) prefs[k] = Json(gen[k]);
    if (!prefs.empty()) info.preferred_sampling_params = prefs;
    if (gen.contains("eos_token_id")) add_eos(gen["eos_token_id"]);
  }
  return info;
}

LoadedModel load_model(const ServerArgs& args) {
  LoadedModel m;
  m.info = read_model_info(args);
  m.text = make_glm_text_backend(args);
  m.engine = make_glm_engine(args, m.info);
  return m;
}

}  // namespace glm::serving
