#pragma once
// tokenizer.json "post_processor" for single sequences with add_special_tokens: TemplateProcessing
// ("single" template), BertProcessing / RobertaProcessing (cls A sep), ByteLevel (ids unchanged),
// Sequence. When tokenizer.json has none, tokenizer_config.json's add_bos_token / add_eos_token
// (the Llama-style flags transformers turns into a template) are honoured instead.
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace glm {

class PostProcessor {
 public:
  static PostProcessor from_json(const nlohmann::json& json);
  static PostProcessor from_bos_eos(const std::vector<int32_t>& prefix, const std::vector<int32_t>& suffix);

  bool is_identity() const { return prefix_.empty() && suffix_.empty(); }
  // ids[first..] -> prefix + ids[first..] + suffix, in place.
  void apply(std::vector<int32_t>& ids, size_t first) const;

 private:
  static void add(const nlohmann::json& json, PostProcessor& p);
  std::vector<int32_t> prefix_, suffix_;
};

}  // namespace glm
