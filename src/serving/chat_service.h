#pragma once
// POST /v1/chat/completions: messages + tools -> chat template -> token ids -> engine, and
// engine output -> reasoning parser -> tool-call parser -> OpenAI response (serving_chat.py).
//
// tool_choice "required" / a named tool: the generation prompt is prefilled with the start of a
// GLM tool call ("<tool_call>" plus the function name when there is exactly one candidate) and
// rendered with thinking off, so the model can only continue inside a tool call; the prefilled
// text is put back in front of the output before parsing (and streamed first). With several
// candidate tools under "required" the output is constrained (engine/output_constraints.h) to start
// with an allowed name and the parser's separator ("name\n" for glm45; "name<arg_key>" or
// "name</tool_call>" for glm47).
//
// response_format json_object / json_schema: enforced by the engine's JSON constraint; when the
// request reasons first (reasoning parser on, thinking enabled) only the text after </think> is.
//
// logprobs: one entry per generated token, each token id decoded on its own (response_parts.h).
// A stream carries every event's entries in its next chunk, an empty delta when the tokens added
// no text yet (half a UTF-8 character, text a parser holds back), so streamed and non-streamed
// answers list the same entries.
#include <memory>
#include <string>
#include <vector>

#include "serving/openai_protocol.h"
#include "serving/request_stream.h"
#include "serving/response_parts.h"
#include "serving/serving_context.h"

namespace glm::serving {

struct ChatPlan {
  std::string id;                      // "chatcmpl-..." (the rid when the client gave one)
  std::vector<GenerateRequest> requests;
  std::string forced_prefix;           // prefilled tool-call start, "" if none
  bool reasoning_on = false;           // template renders thinking; parser starts in reasoning
  bool parse_reasoning = false;
  bool parse_tools = false;
  int32_t think_end_token = -1;        // "</think>", for reasoning_tokens
};

// Validates against the server state and builds the engine requests (throws ApiException).
ChatPlan plan_chat(const ServingContext& ctx, const ChatRequest& req);

// Non-streaming: waits for every choice and returns the chat.completion object.
Json run_chat(const ServingContext& ctx, const ChatRequest& req, ChatPlan& plan, RequestStream& stream);

// Streaming: turns engine events into SSE events, choice by choice.
class ChatStreamWriter {
 public:
  ChatStreamWriter(const ServingContext& ctx, const ChatRequest& req, const ChatPlan& plan);
  ~ChatStreamWriter();
  // Appends the SSE events this engine event produces to `out`.
  void on_event(const IndexedOutput& ev, std::string& out);
  // After every choice finished: finish chunks, usage chunk, [DONE].
  void finish(std::string& out);

 private:
  struct Choice;
  Json chunk(int index, Json delta, Json logprobs = nullptr) const;
  void emit_text(Choice& c, int index, const std::string& text, Json logprobs, std::string& out);
  void emit_tool_output(Choice& c, int index, const std::string& content, const std::vector<ToolCallDelta>& calls,
                        Json& logprobs, std::string& out);

  const ServingContext& ctx_;
  const ChatRequest& req_;
  const ChatPlan& plan_;
  int64_t created_;
  std::vector<std::unique_ptr<Choice>> choices_;
};

}  // namespace glm::serving
