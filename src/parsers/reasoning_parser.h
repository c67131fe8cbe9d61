#pragma once
// Reasoning separation for GLM output (SGLang `--reasoning-parser glm45`, spec §4): splits the
// completion into reasoning_content (inside <think>…</think>) and content. Runs before the tool-call
// parser; the tool parser only sees the normal text.
//
// Usage by the server (one object per choice):
//   ReasoningOptions opt;
//   opt.force_reasoning = reasoning_on;   // true unless chat_template_kwargs.enable_thinking == false
//   opt.stream_reasoning = req.stream_reasoning;  // default true
//   auto parser = make_reasoning_parser("glm45", opt);
//   non-streaming: ReasoningResult r = parser->parse(text);
//                  message.reasoning_content = r.reasoning_text (null if empty), content = r.normal_text
//   streaming:     ReasoningResult d = parser->push(delta); ... then parser->finish() at stream end
//
// Behaviour is SGLang 0.5.23's BaseReasoningFormatDetector with Glm45Detector's tokens (checked
// against it by tests/unit/parsers/reasoning_oracle_test.cpp), quirks included:
// - parse(): in reasoning when force_reasoning or "<think>" occurs anywhere; only *leading* "<think>"s
//   are removed (a "\n<think>" start keeps both in the reasoning text); no whitespace stripping; without
//   "</think>" everything is reasoning unless "<tool_call>" interrupts it.
// - push(): the first "<think>" is removed wherever it is; a chunk-split "</think>" / "<tool_call>" is
//   held back while streaming reasoning; a buffer that as a whole is a tag prefix waits.
// - finish(): flushes buffered reasoning (stream_reasoning=false, or a held-back tail) as reasoning,
//   or a held-back tail as normal text once reasoning has ended.
// (Older SGLang revisions kept a literal "<think>" in the stream_reasoning=false flush; 0.5.23 no
// longer does, and neither do we.)
// Not implemented: continue_final_message / previous_content and force_nonempty_content.
#include <memory>
#include <string>
#include <string_view>

namespace glm::parsers {

struct ReasoningResult {
  std::string reasoning_text;
  std::string normal_text;
};

struct ReasoningOptions {
  bool force_reasoning = false;
  bool stream_reasoning = true;
};

class ReasoningParser {
 public:
  virtual ~ReasoningParser() = default;
  // Stateless apart from force_reasoning (as SGLang's detect_and_parse).
  virtual ReasoningResult parse(std::string_view text) const = 0;
  virtual ReasoningResult push(std::string_view chunk) = 0;
  virtual ReasoningResult finish() = 0;
  virtual bool in_reasoning() const = 0;
};

// <think>/</think> with <tool_call> as an implicit end of reasoning.
class Glm45ReasoningParser : public ReasoningParser {
 public:
  explicit Glm45ReasoningParser(ReasoningOptions options = {});

  ReasoningResult parse(std::string_view text) const override;
  ReasoningResult push(std::string_view chunk) override;
  ReasoningResult finish() override;
  bool in_reasoning() const override { return in_reasoning_; }

  static constexpr std::string_view kThinkStart = "<think>";
  static constexpr std::string_view kThinkEnd = "</think>";
  static constexpr std::string_view kToolStart = "<tool_call>";

 private:
  ReasoningOptions options_;
  std::string buffer_;
  bool in_reasoning_;
  bool stripped_think_start_ = false;
};

// "glm45" (also accepted: "glm4", "glm47", which SGLang users sometimes pass; all map to the same
// detector). Unknown names: GlmError (InvalidArgument).
std::unique_ptr<ReasoningParser> make_reasoning_parser(std::string_view name, ReasoningOptions options = {});

}  // namespace glm::parsers
