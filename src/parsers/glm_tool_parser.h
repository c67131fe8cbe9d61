#pragma once
// Glm45ToolParser (SGLang Glm4MoeDetector, "glm"/"glm45") and Glm47ToolParser (Glm47MoeDetector,
// "glm47"). Both share one streaming engine: the call header (name) is located per dialect, then an
// XML -> JSON state machine turns <arg_key>/<arg_value> pairs into argument fragments.
// Interface and guarantees: parsers/tool_call_parser.h.
#include <string>
#include <vector>

#include "parsers/argument_typing.h"
#include "parsers/tool_call_parser.h"

namespace glm::parsers {

class GlmToolParser : public ToolCallParser {
 public:
  enum class Dialect { Glm45, Glm47 };

  GlmToolParser(Dialect dialect, ToolSet tools, ToolParserOptions options);

  ToolParseResult parse(std::string_view text) const override;
  ToolStreamDelta push(std::string_view chunk) override;
  ToolStreamDelta finish() override;
  int current_tool_id() const override { return current_tool_id_; }
  const std::vector<ToolCall>& streamed_calls() const override { return completed_calls_; }

 private:
  enum class Phase { Between, InKey, WaitingValue, InValue };
  enum class ValueMode { Undecided, StreamString, Buffered };

  // The typed argument object of one call body (text after the name, inside the block).
  Json parse_arguments_body(std::string_view name, std::string_view body) const;
  ArgumentTyping typing() const { return dialect_ == Dialect::Glm45 ? ArgumentTyping::Glm45 : ArgumentTyping::Glm47; }
  std::optional<std::string> schema_type(std::string_view key) const;

  void start_call();
  // Consumes the call header from buffer_; false when more text is needed.
  bool read_call_name(ToolStreamDelta& out);
  void feed_body(std::string_view text, ToolStreamDelta& out);
  void feed_char(char c, std::string& json_out);
  void stream_string_content(std::string& json_out, bool at_close);
  void close_value(std::string_view raw_value, std::string& json_out);
  void finalize_call(bool value_closed_by_stream_end, ToolStreamDelta& out);
  void emit_arguments(std::string fragment, ToolStreamDelta& out);

  Dialect dialect_;
  ToolSet tools_;
  ToolParserOptions options_;

  // Streaming state. buffer_ holds text not yet consumed (normal text being held back, or the
  // unread rest of the current call).
  std::string buffer_;
  bool in_call_ = false;
  bool name_sent_ = false;
  bool skip_block_ = false;
  bool buffer_whole_call_ = false;  // glm47 union schemas: arguments go out in one piece at the end  // a block without a usable name: consumed silently up to </tool_call>
  int current_tool_id_ = -1;
  std::string call_name_;
  std::string body_;      // raw body of the current call consumed so far
  std::string streamed_;  // argument fragments emitted for the current call
  std::vector<ToolCall> completed_calls_;

  // XML -> JSON state machine for the current call.
  Phase phase_ = Phase::Between;
  std::string tag_tail_;    // recent characters while looking for the next tag
  std::string key_text_;
  std::string current_key_;
  std::string value_raw_;   // raw value text so far, possibly ending in a partial </arg_value>
  size_t value_streamed_ = 0;  // bytes of value_raw_ already emitted as JSON string content
  ValueMode value_mode_ = ValueMode::Undecided;
  bool string_opened_ = false;  // the opening quote of a streamed string value went out
  bool first_param_ = true;
  std::string last_streamed_;   // fragments of the last completed call, for finish()
};

class Glm45ToolParser : public GlmToolParser {
 public:
  explicit Glm45ToolParser(ToolSet tools, ToolParserOptions options = {})
      : GlmToolParser(Dialect::Glm45, std::move(tools), options) {}
};

class Glm47ToolParser : public GlmToolParser {
 public:
  explicit Glm47ToolParser(ToolSet tools, ToolParserOptions options = {})
      : GlmToolParser(Dialect::Glm47, std::move(tools), options) {}
};

}  // namespace glm::parsers
