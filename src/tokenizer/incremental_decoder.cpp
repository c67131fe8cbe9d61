#include "tokenizer/incremental_decoder.h"

#include "tokenizer/utf8.h"

namespace glm {

IncrementalDecoder::IncrementalDecoder(Tokenizer tokenizer, bool skip_special_tokens)
    : tokenizer_(std::move(tokenizer)), skip_special_tokens_(skip_special_tokens),
      byte_path_(tokenizer_.token_bytes(0) != nullptr || tokenizer_.vocab_size() == 0) {
  // token_bytes() is non-null for every known id exactly when the decoder is plain ByteLevel;
  // probe for any known id rather than assuming id 0 exists.
  if (!byte_path_)
    for (int32_t id = 0; id < tokenizer_.vocab_size() && !byte_path_; ++id)
      byte_path_ = tokenizer_.token_bytes(id) != nullptr;
}

std::string IncrementalDecoder::push(int32_t id) {
  std::string out;
  push(id, out);
  return out;
}

void IncrementalDecoder::push(int32_t id, std::string& out) {
  if (byte_path_) {
    if (skip_special_tokens_ && tokenizer_.is_special(id)) return;
    const std::string* bytes = tokenizer_.token_bytes(id);
    if (!bytes) return;
    if (pending_bytes_.empty()) {
      size_t used = utf8::append_lossy(*bytes, out, false);
      pending_bytes_.assign(*bytes, used);
    } else {
      pending_bytes_ += *bytes;
      size_t used = utf8::append_lossy(pending_bytes_, out, false);
      pending_bytes_.erase(0, used);
    }
    return;
  }
  ids_.push_back(id);
  std::string text = tokenizer_.decode(ids_, skip_special_tokens_);
  bool ends_incomplete = text.size() >= 3 && text.compare(text.size() - 3, 3, utf8::kReplacement) == 0;
  if (text.size() <= prefix_.size() || ends_incomplete || text.compare(0, prefix_.size(), prefix_) != 0) return;
  out.append(text, prefix_.size());
  size_t new_prefix_index = ids_.size() - prefix_index_;
  ids_.erase(ids_.begin(), ids_.begin() + std::ptrdiff_t(prefix_index_));
  prefix_ = tokenizer_.decode(ids_, skip_special_tokens_);
  prefix_index_ = new_prefix_index;
}

std::string IncrementalDecoder::finish() {
  std::string out;
  if (byte_path_) {
    utf8::append_lossy(pending_bytes_, out, true);
    pending_bytes_.clear();
    return out;
  }
  std::string text = tokenizer_.decode(ids_, skip_special_tokens_);
  if (text.size() > prefix_.size() && text.compare(0, prefix_.size(), prefix_) == 0) out.assign(text, prefix_.size());
  ids_.clear();
  prefix_.clear();
  prefix_index_ = 0;
  return out;
}

}  // namespace glm
