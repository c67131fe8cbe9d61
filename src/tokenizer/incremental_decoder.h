#pragma once
// Streaming detokenization: one object per request, fed one generated id at a time.
//
//   glm::IncrementalDecoder dec(tokenizer, /*skip_special_tokens=*/true);
//   for (int32_t id : generated) send(dec.push(id));   // new text, possibly empty
//   send(dec.finish());                                // whatever was held back
//
// Every piece is valid UTF-8, and the concatenation of all pieces equals
// tokenizer.decode(all ids, skip_special_tokens). With a plain ByteLevel decoder (GLM) this is
// exact: bytes of an incomplete UTF-8 sequence are held back until the sequence completes, and an
// invalid sequence is emitted as U+FFFD as soon as it is known to be invalid. Other decoders use
// tokenizers' DecodeStream rule (decode a window of recent ids, emit the new suffix once it does
// not end in U+FFFD); finish() flushes what that rule held back.
#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace glm {

class IncrementalDecoder {
 public:
  IncrementalDecoder(Tokenizer tokenizer, bool skip_special_tokens);

  std::string push(int32_t id);
  // Appends the new text to `out` instead of returning it.
  void push(int32_t id, std::string& out);
  std::string finish();

 private:
  Tokenizer tokenizer_;
  bool skip_special_tokens_;
  bool byte_path_;
  std::string pending_bytes_;  // byte path: start of an incomplete UTF-8 sequence
  // Generic path (tokenizers' DecodeStream): ids of the window, its decoded prefix, and the
  // index in ids_ where new text begins.
  std::vector<int32_t> ids_;
  std::string prefix_;
  size_t prefix_index_ = 0;
};

}  // namespace glm
