#pragma once
// Incremental parser for a text/event-stream body (the client side of SSE), as the bench client
// receives it: bytes arrive in arbitrary pieces (a line, half a line, several events at once).
//   SseParser p;
//   p.feed(chunk, [](const std::string& data) { ... });   // once per complete event with data
// Follows the WHATWG event-stream rules that matter for LLM servers: lines end in \n, \r\n or \r;
// "data:" lines (one optional space after the colon is dropped) accumulate, joined by '\n'; a blank
// line dispatches the event; comment lines (":...") and other fields are ignored. An event without
// data lines dispatches nothing. Bytes after the last line end wait for the next feed().
#include <functional>
#include <string>
#include <string_view>

namespace glm::loadgen {

class SseParser {
 public:
  using OnData = std::function<void(const std::string& data)>;
  void feed(std::string_view bytes, const OnData& on_data);

 private:
  void line(std::string_view l, const OnData& on_data);

  std::string partial_;     // an unfinished line
  std::string data_;        // data of the event being assembled
  bool has_data_ = false;
  bool last_was_cr_ = false;  // a "\r\n" split across two feeds must not make an extra blank line
};

}  // namespace glm::loadgen
