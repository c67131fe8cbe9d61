#pragma once
// tokenizer.json "decoder": turns token strings back into text (tokenizers' decode_chain, then
// concatenation). Supported: null (tokens joined with " "), ByteLevel, ByteFallback, Fuse, Strip,
// Replace, Metaspace, Sequence. ByteLevel alone (GLM, Qwen, GPT-2) is the fast path: every id
// maps to a fixed byte string and the text is the lossy UTF-8 decoding of the concatenation.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/regex.h"

namespace glm {

class TokenDecoder {
 public:
  static TokenDecoder from_json(const nlohmann::json& json);

  // True for a lone ByteLevel decoder: decoding is then per-token bytes + lossy UTF-8.
  bool is_pure_byte_level() const { return steps_.size() == 1 && steps_[0].kind == Step::Kind::ByteLevel; }
  bool is_null() const { return steps_.empty(); }

  std::string decode(std::vector<std::string> tokens) const;

 private:
  struct Step {
    enum class Kind { ByteLevel, ByteFallback, Fuse, Strip, Replace, Metaspace };
    explicit Step(Kind k, std::string c = {}) : kind(k), content(std::move(c)) {}
    Kind kind;
    std::string content;             // Strip: the character; Replace: replacement; Metaspace: replacement char
    size_t start = 0, stop = 0;      // Strip counts
    std::shared_ptr<Regex> pattern;  // Replace
    bool prepend_first = false;      // Metaspace: strip the leading space of the first token
  };
  static void add_steps(const nlohmann::json& json, std::vector<Step>& steps);
  std::vector<Step> steps_;
};

}  // namespace glm
