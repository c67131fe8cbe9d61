#include "tokenizer/tokenizer.h"

#include "tokenizer/tokenizer_state.h"
#include "tokenizer/utf8.h"

namespace glm {
namespace {

// Pre-tokenizes and BPE-encodes text that contains no added token.
void encode_plain(const TokenizerState& s, std::string_view text, std::vector<int32_t>& out) {
  thread_local std::string arena;
  thread_local std::vector<ByteRange> words;
  s.pre_tokenizer.split(text, arena, words);
  for (ByteRange w : words) s.model.tokenize(std::string_view(arena).substr(w.begin, w.end - w.begin), out);
}

}  // namespace

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  encode_into(text, add_special_tokens, ids);
  return ids;
}

void Tokenizer::encode_into(std::string_view text, bool add_special_tokens, std::vector<int32_t>& out) const {
  const TokenizerState& s = *state_;
  std::string repaired;
  if (!utf8::is_valid(text)) {
    repaired = utf8::to_valid(text);
    text = repaired;
  }
  const size_t first = out.size();
  thread_local std::vector<TextSegment> segments, normalized_segments;
  s.added.split_raw(text, segments);
  bool plain = s.normalizer.is_identity() && !s.added.has_normalized_tokens();
  for (const TextSegment& seg : segments) {
    if (seg.token_id >= 0) {
      out.push_back(seg.token_id);
      continue;
    }
    std::string_view piece = text.substr(seg.begin, seg.end - seg.begin);
    if (plain) {
      encode_plain(s, piece, out);
      continue;
    }
    std::string normalized = s.normalizer.normalize(piece);
    s.added.split_normalized(normalized, normalized_segments);
    for (const TextSegment& inner : normalized_segments) {
      if (inner.token_id >= 0)
        out.push_back(inner.token_id);
      else
        encode_plain(s, std::string_view(normalized).substr(inner.begin, inner.end - inner.begin), out);
    }
  }
  if (add_special_tokens) s.post_processor.apply(out, first);
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  const TokenizerState& s = *state_;
  auto keep = [&](int32_t id) {
    return id >= 0 && id < s.vocab_size && s.id_known[size_t(id)] && !(skip_special_tokens && s.id_special[size_t(id)]);
  };
  if (!s.decoded_bytes.empty()) {
    std::string bytes;
    for (int32_t id : ids)
      if (keep(id)) bytes += s.decoded_bytes[size_t(id)];
    if (utf8::is_valid(bytes)) return bytes;
    return utf8::to_valid(bytes);
  }
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids)
    if (keep(id)) tokens.push_back(*id_to_token(id));
  return s.decoder.decode(std::move(tokens));
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  if (const AddedToken* a = state_->added.find_content(token)) return a->id;
  return state_->model.token_to_id(token);
}

std::optional<std::string> Tokenizer::id_to_token(int32_t id) const {
  if (const AddedToken* a = state_->added.find_id(id)) return a->content;
  if (const std::string* t = state_->model.id_to_token(id)) return *t;
  return std::nullopt;
}

int32_t Tokenizer::vocab_size() const { return state_->vocab_size; }

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && id < state_->vocab_size && state_->id_special[size_t(id)];
}

bool Tokenizer::is_added_token(int32_t id) const { return state_->added.find_id(id) != nullptr; }

const std::vector<int32_t>& Tokenizer::eos_token_ids() const { return state_->eos_token_ids; }
std::optional<int32_t> Tokenizer::bos_token_id() const { return state_->bos_token_id; }
std::optional<int32_t> Tokenizer::pad_token_id() const { return state_->pad_token_id; }

const std::string* Tokenizer::token_bytes(int32_t id) const {
  const TokenizerState& s = *state_;
  if (s.decoded_bytes.empty() || id < 0 || id >= s.vocab_size || !s.id_known[size_t(id)]) return nullptr;
  return &s.decoded_bytes[size_t(id)];
}

}  // namespace glm
