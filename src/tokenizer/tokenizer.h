#pragma once
// glm::Tokenizer: a Hugging Face `tokenizer.json` (byte-level BPE as GLM-4.5/4.6/4.7, Qwen and
// cl100k-style models use it) that encodes and decodes byte-identically to the `tokenizers`
// library. Thread-safe and cheap to copy (shared immutable state).
//
//   glm::Tokenizer tok = glm::Tokenizer::from_dir(model_dir);   // tokenizer.json + configs
//   std::vector<int32_t> ids = tok.encode("Hello", /*add_special_tokens=*/false);
//   std::string text = tok.decode(ids, /*skip_special_tokens=*/true);
//
// Encoding pipeline (tokenizers' Tokenizer::encode): added tokens are cut out of the raw text
// (added_vocabulary.h), the rest is normalized (normalizer.h), pre-tokenized (pre_tokenizer.h)
// and BPE-encoded word by word (bpe_model.h); add_special_tokens applies the post-processor.
//
// Invalid UTF-8 input to encode() is not rejected: each maximal invalid subsequence is replaced by
// U+FFFD first, which is what a Python server does when it decodes request bytes with
// errors="replace" (JSON request bodies are valid UTF-8 anyway).
//
// decode() drops ids that are neither in the vocab nor added tokens (as tokenizers does), and
// with skip_special_tokens drops added tokens marked special. GLM's <think>, <tool_call>,
// <arg_key>, ... are added tokens with special=false, so they survive skip_special_tokens.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace glm {

struct TokenizerState;

class Tokenizer {
 public:
  // Reads dir/tokenizer.json, plus (optional) dir/tokenizer_config.json for bos/eos tokens,
  // add_bos_token/add_eos_token and added_tokens_decoder, and dir/generation_config.json and
  // dir/config.json for eos ids.
  static Tokenizer from_dir(const std::filesystem::path& dir);
  // Only tokenizer.json (no config files).
  static Tokenizer from_file(const std::filesystem::path& tokenizer_json);
  // From the JSON text of a tokenizer.json; `tokenizer_config_json` may be empty.
  static Tokenizer from_json_text(std::string_view tokenizer_json, std::string_view tokenizer_config_json = {},
                                  std::string_view context = "tokenizer.json");

  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens) const;
  // Same, appending to `out` (lets a caller reuse its buffer).
  void encode_into(std::string_view text, bool add_special_tokens, std::vector<int32_t>& out) const;

  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  // The token's string as stored in tokenizer.json (byte-level form, e.g. "Ġhello"); nullopt for
  // unknown ids.
  std::optional<std::string> id_to_token(int32_t id) const;
  // Number of ids: highest id among the vocab and the added tokens, plus one. The model's
  // embedding can be larger (GLM pads 151365 -> 151552).
  int32_t vocab_size() const;
  bool is_special(int32_t id) const;  // an added token with special=true
  bool is_added_token(int32_t id) const;

  // Stop ids: generation_config.json eos_token_id (int or list), config.json eos_token_id and
  // tokenizer_config.json eos_token, de-duplicated in that order. Empty when none is known.
  const std::vector<int32_t>& eos_token_ids() const;
  std::optional<int32_t> bos_token_id() const;
  std::optional<int32_t> pad_token_id() const;

  // Byte form of one token as decode() sees it when the decoder is a plain ByteLevel decoder
  // (nullptr otherwise, or for unknown ids). Used by IncrementalDecoder.
  const std::string* token_bytes(int32_t id) const;

  std::shared_ptr<const TokenizerState> state() const { return state_; }

 private:
  explicit Tokenizer(std::shared_ptr<const TokenizerState> s) : state_(std::move(s)) {}
  std::shared_ptr<const TokenizerState> state_;
};

}  // namespace glm
