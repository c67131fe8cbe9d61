#include "tokenizer/post_processor.h"

#include <string>

#include "core/error.h"

namespace glm {

PostProcessor PostProcessor::from_json(const nlohmann::json& json) {
  PostProcessor p;
  if (!json.is_null()) add(json, p);
  return p;
}

PostProcessor PostProcessor::from_bos_eos(const std::vector<int32_t>& prefix, const std::vector<int32_t>& suffix) {
  PostProcessor p;
  p.prefix_ = prefix;
  p.suffix_ = suffix;
  return p;
}

void PostProcessor::add(const nlohmann::json& json, PostProcessor& p) {
  std::string type = json.value("type", "");
  if (type == "Sequence") {
    for (const auto& sub : json.at("processors")) add(sub, p);
  } else if (type == "ByteLevel") {
    // Only trims offsets; ids are unchanged.
  } else if (type == "TemplateProcessing") {
    const auto& specials = json.at("special_tokens");
    bool seen_sequence = false;
    std::vector<int32_t> prefix, suffix;
    for (const auto& piece : json.at("single")) {
      if (piece.contains("Sequence")) {
        seen_sequence = true;
        continue;
      }
      std::string name = piece.at("SpecialToken").at("id").get<std::string>();
      if (!specials.contains(name))
        fail(ErrorKind::InvalidModel, "tokenizer.json: TemplateProcessing uses undefined special token {:?}", name);
      for (const auto& id : specials[name].at("ids")) (seen_sequence ? suffix : prefix).push_back(id.get<int32_t>());
    }
    p.prefix_.insert(p.prefix_.end(), prefix.begin(), prefix.end());
    p.suffix_.insert(p.suffix_.begin(), suffix.begin(), suffix.end());
  } else if (type == "BertProcessing" || type == "RobertaProcessing") {
    p.prefix_.push_back(json.at("cls").at(1).get<int32_t>());
    p.suffix_.push_back(json.at("sep").at(1).get<int32_t>());
  } else {
    fail(ErrorKind::InvalidModel, "tokenizer.json: post_processor type {:?} is not supported", type);
  }
}

void PostProcessor::apply(std::vector<int32_t>& ids, size_t first) const {
  if (!prefix_.empty()) ids.insert(ids.begin() + std::ptrdiff_t(first), prefix_.begin(), prefix_.end());
  ids.insert(ids.end(), suffix_.begin(), suffix_.end());
}

}  // namespace glm
