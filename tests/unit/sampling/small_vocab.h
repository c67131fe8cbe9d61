#pragma once
// Test helpers shared by the constraint tests (json_constraint_test, regex_test): a small byte-level
// vocabulary, its trie, and the ids a constraint leaves allowed.
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sampling/token_constraint.h"
#include "sampling/token_trie.h"

namespace glm::sampling {

// A small byte-level vocabulary: every single byte (as GPT-2 byte-level BPE has) plus multi-byte
// tokens that cross JSON structure, and a few added tokens.
struct Vocab {
  std::vector<std::optional<std::string>> bytes;
  std::vector<int32_t> added;
  int32_t eos = -1;
};

inline Vocab small_vocab() {
  Vocab v;
  for (int b = 0; b < 256; ++b) v.bytes.push_back(std::string(1, char(b)));
  for (const char* t : {"{\"", "\":", "\": \"", "\"}", "\",", "\", \"", "true", "false", "null", "12", "0.5",
                        "e-", "name", " \"", "\\n", "\\u", "00e9", "}}", "]}", "[{", "},", "  ", "\n\n", "hello world",
                        "\"a\"", "é", "<think>", "</think>", "<tool_call>", "<|endoftext|>", "get_weather",
                        "get_time", "get", "_weather\n", "\n<", "<arg_key>", "</tool_call>",
                        // multi-byte characters whole and split across tokens (byte-fallback style)
                        "日本", "本", "\xe6\x97", "\xa5", "ab\xc3", "\xa9z", "é\""})
    v.bytes.push_back(std::string(t));
  for (size_t id = 256; id < v.bytes.size(); ++id) {
    const std::string& s = *v.bytes[id];
    if (s.front() == '<' && s.size() > 2 && s != "\n<") v.added.push_back(int32_t(id));
    if (s == "<|endoftext|>") v.eos = int32_t(id);
  }
  v.bytes.push_back(std::nullopt);  // a padding row without text
  return v;
}

inline std::shared_ptr<const TokenTrie> trie_of(const Vocab& v) { return std::make_shared<TokenTrie>(v.bytes, v.added); }

inline std::vector<int32_t> allowed_ids(TokenConstraint& c, std::span<const int32_t> output, size_t vocab) {
  std::vector<float> row(vocab, 1.0f);
  c.apply(row, output);
  std::vector<int32_t> ids;
  for (size_t i = 0; i < vocab; ++i)
    if (std::isfinite(row[i])) ids.push_back(int32_t(i));
  return ids;
}

}  // namespace glm::sampling
