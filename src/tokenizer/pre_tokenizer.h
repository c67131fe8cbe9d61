#pragma once
// tokenizer.json "pre_tokenizer": cuts normalized text into words before BPE.
// Supported: null, Sequence, Split (String or Regex pattern; behaviors Removed, Isolated,
// MergedWithPrevious, MergedWithNext, Contiguous; invert), ByteLevel (add_prefix_space, use_regex
// with the GPT-2 pattern; maps bytes to GPT-2 characters), Digits, Whitespace, WhitespaceSplit.
// Semantics follow tokenizers' PreTokenizedString::split: empty pieces are dropped.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/regex.h"

namespace glm {

// A word as a byte range of the arena string filled by PreTokenizer::split.
struct ByteRange {
  uint32_t begin, end;
};

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

// Applies a split `behavior` to the alternating (range, is_match) list of a pattern's matches over
// one piece, as tokenizers' NormalizedString::split does. Exposed for unit tests.
void apply_split_behavior(const std::vector<std::pair<ByteRange, bool>>& matches, SplitBehavior behavior,
                          std::vector<ByteRange>& out);

class PreTokenizer {
 public:
  // `json` is the "pre_tokenizer" value (null allowed: the whole text is one word).
  static PreTokenizer from_json(const nlohmann::json& json);

  // Splits `text` into words. `arena` receives the text plus any rewritten pieces (prefix space,
  // byte-level mapping); `words` receives ranges into it. Both are cleared first.
  void split(std::string_view text, std::string& arena, std::vector<ByteRange>& words) const;

  // True when a ByteLevel step maps the words to GPT-2 characters.
  bool is_byte_level() const { return byte_level_; }

 private:
  struct Step {
    enum class Kind { Split, ByteLevel, WhitespaceSplit } kind;
    std::shared_ptr<Regex> regex;  // Split; ByteLevel with use_regex
    SplitBehavior behavior = SplitBehavior::Isolated;
    bool invert = false;
    bool add_prefix_space = false;  // ByteLevel
  };
  static void add_steps(const nlohmann::json& json, std::vector<Step>& steps);
  void apply(const Step& step, std::string& arena, const std::vector<ByteRange>& in,
             std::vector<ByteRange>& out) const;

  std::vector<Step> steps_;
  bool byte_level_ = false;
};

}  // namespace glm
