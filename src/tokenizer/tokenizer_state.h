#pragma once
// Everything a loaded tokenizer holds; built once by tokenizer_loader.cpp, then read-only.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tokenizer/added_vocabulary.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/decoder.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/post_processor.h"
#include "tokenizer/pre_tokenizer.h"

namespace glm {

struct TokenizerState {
  Normalizer normalizer;
  PreTokenizer pre_tokenizer;
  BpeModel model;
  AddedVocabulary added;
  PostProcessor post_processor;
  TokenDecoder decoder;

  // For the ByteLevel decoder fast path: bytes of every id (index = id), present[id] when the
  // id is known. Empty when the decoder is not a plain ByteLevel decoder.
  std::vector<std::string> decoded_bytes;
  std::vector<bool> id_known;
  std::vector<bool> id_special;
  int32_t vocab_size = 0;

  std::vector<int32_t> eos_token_ids;
  std::optional<int32_t> bos_token_id, pad_token_id;
};

}  // namespace glm
