#include "parsers/tool_content_stream.h"

#include <algorithm>

#include "parsers/python_json.h"

namespace glm::parsers {

namespace {

// Whitespace as parse() strips it: Python's str.strip() (Unicode spaces too).
bool starts_with_space(const std::string& s) {
  const std::string_view core = python_strip(s);
  return !s.empty() && (core.empty() || core.data() != s.data());
}

// Bytes at the end of s that start a UTF-8 sequence still missing its continuation bytes (a chunk
// boundary inside a character: whether it is a space is not known yet).
size_t incomplete_utf8_tail(const std::string& s) {
  for (size_t back = 1; back <= 3 && back <= s.size(); ++back) {
    const auto c = static_cast<unsigned char>(s[s.size() - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    const size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

}  // namespace

std::string ToolContentStream::release() {
  const std::string_view core = python_strip(held_);
  if (core.empty()) return "";
  const size_t begin = static_cast<size_t>(core.data() - held_.data());
  const size_t end = begin + core.size();
  // Leading whitespace reaches here unsettled only after a call (strip it) or for text that began
  // with non-space (begin == 0).
  std::string out = held_.substr(sent_ ? 0 : begin, end - (sent_ ? 0 : begin));
  held_.erase(0, end);
  sent_ = true;
  return out;
}

std::string ToolContentStream::on_delta(const ToolStreamDelta& d) {
  const std::string_view text = d.normal_text;
  const size_t split = std::min(d.normal_before_calls, text.size());
  if (d.calls.empty()) return on_text(text);
  std::string out = on_text(text.substr(0, split));
  out += on_call();
  out += on_text(text.substr(split));
  return out;
}

std::string ToolContentStream::on_text(std::string_view text) {
  if (has_call_ && !keep_after_calls_) return "";  // glm45 keeps only the text before the first call
  held_ += partial_;
  held_ += text;
  partial_ = held_.substr(held_.size() - incomplete_utf8_tail(held_));
  held_.resize(held_.size() - partial_.size());
  // Leading whitespace of a call-free answer is content; of an answer with a call it is not. Until
  // that is known, an answer that began with whitespace is held.
  if (!sent_ && !has_call_ && starts_with_space(held_)) return "";
  return release();
}

std::string ToolContentStream::on_call() {
  if (has_call_) return "";
  has_call_ = true;
  held_ += partial_;  // text before a call is complete as it is
  partial_.clear();
  // Text held so far precedes the call: stripped at both ends (trailing whitespace is dropped, or
  // for glm47 kept held in case more text follows a call: parse() strips only the joined text).
  std::string out = release();
  if (!keep_after_calls_) held_.clear();
  return out;
}

std::string ToolContentStream::finish() {
  std::string out;
  held_ += partial_;
  partial_.clear();
  if (!has_call_) out.swap(held_);  // no call: the text as it was, whitespace included
  held_.clear();
  return out;
}

}  // namespace glm::parsers
