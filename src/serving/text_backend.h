#pragma once
// What the HTTP layer needs besides glm::Engine: the tokenizer, the chat template and the
// tool-call / reasoning parsers, behind one small interface so that the serving code does not
// care which module implements them (glm_text_backend.cpp binds the real ones; unit tests bind
// fakes). All methods are called from HTTP worker threads concurrently: implementations are
// const and thread-safe; parser objects are per request.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "serving/json.h"

namespace glm::serving {

// One piece of a streamed tool call (SGLang's ToolCallItem): the first piece of a call carries
// its name and empty arguments, later pieces carry argument JSON fragments.
struct ToolCallDelta {
  int tool_index = 0;
  std::optional<std::string> name;
  std::string arguments;
};

struct ParsedToolCall {
  int tool_index = 0;
  std::string name;
  std::string arguments;  // JSON text of the arguments object
};

struct ToolParseResult {
  std::string normal_text;
  std::vector<ParsedToolCall> calls;
};

// Streaming reasoning split (SGLang ReasoningParser.parse_stream_chunk).
class ReasoningStream {
 public:
  virtual ~ReasoningStream() = default;
  // Appends `chunk`; returns (reasoning_delta, normal_delta).
  virtual std::pair<std::string, std::string> feed(std::string_view chunk) = 0;
  // At end of stream: whatever is still buffered, as (reasoning, normal).
  virtual std::pair<std::string, std::string> finish() = 0;
};

// Streaming tool-call detection (SGLang FunctionCallParser.parse_stream_chunk).
// normal_text: the content to stream, already made to add up byte for byte to the non-streamed
// message.content (parsers/tool_content_stream.h: whitespace around calls held or dropped).
class ToolCallStream {
 public:
  virtual ~ToolCallStream() = default;
  virtual void feed(std::string_view chunk, std::string& normal_text, std::vector<ToolCallDelta>& calls) = 0;
  // End of stream: text still held back (it might have started a tag) and the argument text of
  // the last call not yet streamed (serving_chat.py _check_for_unstreamed_tool_args).
  virtual void finish(std::string& normal_text, std::vector<ToolCallDelta>& calls) = 0;
};

class TextBackend {
 public:
  virtual ~TextBackend() = default;

  // Tokenizer
  // add_special_tokens: the tokenizer's post-processor (true for raw prompts as SGLang encodes
  // them; false for rendered chat templates, which already hold their special tokens).
  virtual std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = false) const = 0;
  virtual std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const = 0;
  virtual std::string token_text(int32_t id) const = 0;  // one token's text, for logprobs
  virtual int vocab_size() const = 0;

  // Chat template: OpenAI messages (validated), tools (function objects, or null), extra
  // template variables (chat_template_kwargs, reasoning_effort). Throws GlmError(Template).
  virtual std::string render_chat(const Json& messages, const Json& tools,
                                  const Json& template_kwargs, bool add_generation_prompt) const = 0;

  // Parsers by their SGLang names ("glm45", "glm47", "glm"; reasoning "glm45").
  virtual bool has_tool_parser(const std::string& name) const = 0;
  virtual bool has_reasoning_parser(const std::string& name) const = 0;
  virtual ToolParseResult parse_tool_calls(const std::string& parser, std::string_view text,
                                           const Json& tools) const = 0;
  virtual bool has_tool_call(const std::string& parser, std::string_view text) const = 0;
  // Non-streaming split: (reasoning, normal).
  virtual std::pair<std::string, std::string> separate_reasoning(const std::string& parser, std::string_view text,
                                                                 bool force_reasoning) const = 0;
  virtual std::unique_ptr<ReasoningStream> reasoning_stream(const std::string& parser, bool force_reasoning,
                                                            bool stream_reasoning) const = 0;
  virtual std::unique_ptr<ToolCallStream> tool_call_stream(const std::string& parser,
                                                           const Json& tools) const = 0;
};

// What the server knows about the loaded model (config.json + generation_config.json).
struct ModelInfo {
  std::string model_path, tokenizer_path, served_model_name;
  int context_length = 0;
  int vocab_size = 0;
  Json preferred_sampling_params = nullptr;  // generation_config.json defaults, or null
  std::vector<int32_t> eos_token_ids;
};

}  // namespace glm::serving
