#pragma once
// The content (normal text) of a streamed answer with a tool-call parser, made to add up byte for
// byte to what the non-streamed parse() returns as normal_text:
//   - no call: the text unchanged (whitespace at both ends kept);
//   - with a call: glm45 keeps the text before the first call, glm47 the text around all calls,
//     stripped at both ends.
// Streaming cannot know in advance whether a call will come, so:
//   - trailing whitespace is held until more text shows it was inner (sent then), a call drops it,
//     or the end of a call-free answer sends it;
//   - text that begins with whitespace is held as a whole until a call comes (then sent stripped)
//     or the answer ends without one (then sent unchanged). An answer that starts with non-space
//     text streams at once. (GLM answers usually start with "\n": with tools and tool_choice auto
//     their content then arrives when the answer ends; reasoning and calls still stream.)
//
//   ToolContentStream s(/*keep_text_after_calls=*/parser == "glm47");
//   per parser delta (push() or finish()): send(s.on_delta(d));
//   at the end:                            send(s.finish());
// Known gap: a "<tool_call>" that never becomes a call (no name before the end) makes parse() strip
// the text around it while the stream, which saw no call, sends it unstripped.
#include <string>
#include <string_view>

#include "parsers/tool_call_parser.h"

namespace glm::parsers {

class ToolContentStream {
 public:
  explicit ToolContentStream(bool keep_text_after_calls) : keep_after_calls_(keep_text_after_calls) {}

  // One parser delta: its normal text before the first call, the call, the text after it.
  std::string on_delta(const ToolStreamDelta& d);
  // Normal text from the tool parser; returns the content that may be sent now.
  std::string on_text(std::string_view text);
  // A tool call started (its first delta); returns content to send before it.
  std::string on_call();
  // End of the answer; returns the rest.
  std::string finish();

 private:
  std::string release();  // sends held text up to its last non-space byte

  bool keep_after_calls_;
  bool has_call_ = false;
  bool sent_ = false;    // some content was sent (so leading whitespace is settled)
  std::string held_;     // text not sent yet
  std::string partial_;  // an incomplete UTF-8 character at the end of the text so far
};

}  // namespace glm::parsers
