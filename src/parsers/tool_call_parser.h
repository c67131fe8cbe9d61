#pragma once
// Tool-call parsers for GLM output (SGLang `--tool-call-parser glm45|glm47`, spec §3).
//
// Usage by the server (one parser object per choice of a request, built with the request's tools):
//
//   auto parser = glm::parsers::make_tool_call_parser("glm45", ToolSet::from_openai_tools(req["tools"]));
//   // non-streaming: the finished completion text (after reasoning separation)
//   ToolParseResult r = parser->parse(text);
//   //   r.calls[i] = {index, name, arguments}; arguments is the JSON text SGLang sends as
//   //   function.arguments; r.normal_text is message.content. If has_tool_call(text) and the finish
//   //   reason is "stop", SGLang reports "tool_calls".
//   // streaming: every text delta, then finish() once at the end of the stream
//   ToolStreamDelta d = parser->push(delta_text);   // d.normal_text -> delta.content
//   for (auto& c : d.calls) ...                      // c.name set -> first chunk of call c.index
//                                                    // (new id, name, arguments ""), else an
//                                                    // arguments fragment
//   ToolStreamDelta tail = parser->finish();         // held-back text and SGLang's
//                                                    // _check_for_unstreamed_tool_args suffix
//
// Guarantees: for every completed call, the concatenation of its streamed argument fragments equals
// the `arguments` the non-streaming parse of the same text produces (values are typed by the tool's
// JSON schema; json.dumps formatting with ", " and ": ", non-ASCII kept). Argument values other than
// plain strings are sent as one fragment when their `</arg_value>` arrives (SGLang streams some of
// them raw and can end up with a different, sometimes invalid, string).
//
// Two exceptions, both malformed output: a key repeated inside one call (parse() keeps the last value,
// as a Python dict; streaming has already sent both) and a `</tool_call>` inside an unterminated value.
// parse() reproduces SGLang 0.5.23's Glm4MoeDetector / Glm47MoeDetector.detect_and_parse exactly
// (tests/unit/parsers/sglang_oracle_test.cpp runs both on the same corpus), except that a call with
// an empty name is never forwarded. glm47 tools whose union schemas need sibling context to type a
// value (discriminators) get their arguments in one fragment at `</tool_call>`, as in SGLang.
//
// Deliberate streaming differences from SGLang, all where SGLang's output is inconsistent or lossy:
// - glm45 streaming emits normal text that precedes `<tool_call>` in the same chunk (SGLang drops it).
// - a stray `</tool_call>` is removed from streamed normal text even when split across chunks.
// - text between `</arg_key>` and `<arg_value>` other than whitespace / literal "\n" voids the pair,
//   as in parse() (SGLang's streaming accepts anything there).
// - finish() on a call that never got `</tool_call>` closes its JSON (values typed as far as they
//   arrived) so the client always receives a parseable arguments string.
// Unknown tool names: dropped by parse() (SGLang's default) unless forward_unknown_tools is set
// (SGLANG_FORWARD_UNKNOWN_TOOLS=1); push() never validates names (as SGLang).
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parsers/tool_schema.h"

namespace glm::parsers {

struct ToolCall {
  int index = 0;          // position among the returned calls: 0, 1, 2, ... across all blocks
  std::string name;
  std::string arguments;  // JSON object text
};

struct ToolParseResult {
  std::string normal_text;
  std::vector<ToolCall> calls;
};

struct ToolCallDelta {
  int index = 0;                    // tool_index
  std::optional<std::string> name;  // set on the first delta of a call (with arguments "")
  std::string arguments;            // JSON text fragment
};

struct ToolStreamDelta {
  std::string normal_text;
  std::vector<ToolCallDelta> calls;
  // normal_text[0, normal_before_calls) came before the first entry of `calls` in the output, the
  // rest after it (one push can hold "text</tool_call> more text"; glm45's content drops the latter).
  size_t normal_before_calls = 0;
  bool empty() const { return normal_text.empty() && calls.empty(); }
};

struct ToolParserOptions {
  bool forward_unknown_tools = false;
};

class ToolCallParser {
 public:
  virtual ~ToolCallParser() = default;

  // True when the text contains the start of a tool call ("<tool_call>").
  virtual bool has_tool_call(std::string_view text) const;

  // Non-streaming parse of a complete output. Never throws on malformed text.
  virtual ToolParseResult parse(std::string_view text) const = 0;

  // Streaming: feed the next piece of output text. Never throws on malformed text.
  virtual ToolStreamDelta push(std::string_view chunk) = 0;

  // End of stream: flushes held-back text and reconciles the last call's arguments.
  virtual ToolStreamDelta finish() = 0;

  // Index the next call will get (SGLang's current_tool_id after completed calls; -1 before any).
  virtual int current_tool_id() const = 0;

  // The complete argument objects seen so far in streaming (SGLang's prev_tool_call_arr).
  virtual const std::vector<ToolCall>& streamed_calls() const = 0;
};

// "glm" / "glm45" -> Glm45ToolParser, "glm47" -> Glm47ToolParser. Other names: GlmError
// (InvalidArgument) naming the supported parsers.
std::unique_ptr<ToolCallParser> make_tool_call_parser(std::string_view parser_name, ToolSet tools,
                                                      ToolParserOptions options = {});

// The parser names make_tool_call_parser accepts.
std::vector<std::string> tool_call_parser_names();

}  // namespace glm::parsers
