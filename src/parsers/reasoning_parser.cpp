#include "parsers/reasoning_parser.h"

#include <algorithm>

#include "core/error.h"

namespace glm::parsers {

namespace {

constexpr size_t npos = std::string::npos;

bool is_strict_prefix(std::string_view token, std::string_view text) {
  return text.size() < token.size() && token.substr(0, text.size()) == text;
}

// Length of the longest tail of `text` that is a strict prefix of `tag`.
size_t partial_suffix(std::string_view text, std::string_view tag) {
  for (size_t k = std::min(text.size(), tag.size() - 1); k > 0; --k)
    if (tag.substr(0, k) == text.substr(text.size() - k)) return k;
  return 0;
}

}  // namespace

Glm45ReasoningParser::Glm45ReasoningParser(ReasoningOptions options)
    : options_(options), in_reasoning_(options.force_reasoning) {}

ReasoningResult Glm45ReasoningParser::parse(std::string_view text) const {
  ReasoningResult result;
  bool in_reasoning = options_.force_reasoning || text.find(kThinkStart) != npos;
  if (!in_reasoning) {
    result.normal_text = std::string(text);
    return result;
  }
  std::string_view rest = text;
  while (rest.substr(0, kThinkStart.size()) == kThinkStart) rest.remove_prefix(kThinkStart.size());
  size_t end = rest.find(kThinkEnd);
  if (end == npos) {
    size_t tool = rest.find(kToolStart);
    if (tool != npos) {
      result.reasoning_text = std::string(rest.substr(0, tool));
      result.normal_text = std::string(rest.substr(tool));
    } else {
      result.reasoning_text = std::string(rest);  // truncated thinking: all of it is reasoning
    }
    return result;
  }
  result.reasoning_text = std::string(rest.substr(0, end));
  result.normal_text = std::string(rest.substr(end + kThinkEnd.size()));
  return result;
}

ReasoningResult Glm45ReasoningParser::push(std::string_view chunk) {
  ReasoningResult out;
  buffer_.append(chunk);
  // Only a buffer that is, as a whole, the start of a tag waits for more text.
  if (is_strict_prefix(kThinkStart, buffer_) || is_strict_prefix(kThinkEnd, buffer_) ||
      is_strict_prefix(kToolStart, buffer_))
    return out;
  if (!stripped_think_start_) {
    size_t start = buffer_.find(kThinkStart);
    if (start != npos) {
      buffer_.erase(start, kThinkStart.size());
      stripped_think_start_ = true;
      in_reasoning_ = true;
    }
  }
  if (in_reasoning_) {
    size_t end = buffer_.find(kThinkEnd);
    if (end != npos) {
      out.reasoning_text = buffer_.substr(0, end);
      out.normal_text = buffer_.substr(end + kThinkEnd.size());
      buffer_.clear();
      in_reasoning_ = false;
      return out;
    }
    size_t tool = buffer_.find(kToolStart);
    if (tool != npos) {
      out.reasoning_text = buffer_.substr(0, tool);
      out.normal_text = buffer_.substr(tool);  // the tool parser needs the tag
      buffer_.clear();
      in_reasoning_ = false;
      return out;
    }
    if (options_.stream_reasoning) {
      // Hold back a tail that may be the start of a tag split across chunks.
      size_t hold = std::max(partial_suffix(buffer_, kThinkEnd), partial_suffix(buffer_, kToolStart));
      if (!stripped_think_start_) hold = std::max(hold, partial_suffix(buffer_, kThinkStart));
      out.reasoning_text = buffer_.substr(0, buffer_.size() - hold);
      buffer_.erase(0, buffer_.size() - hold);
    }
    return out;
  }
  out.normal_text = std::move(buffer_);
  buffer_.clear();
  return out;
}

ReasoningResult Glm45ReasoningParser::finish() {
  ReasoningResult out;
  if (!in_reasoning_) {
    out.normal_text = std::move(buffer_);  // a held-back tail that never became a tag is content
  } else {
    std::string_view rest = buffer_;
    if (rest.substr(0, kThinkStart.size()) == kThinkStart) rest.remove_prefix(kThinkStart.size());
    out.reasoning_text = std::string(rest);
  }
  buffer_.clear();
  return out;
}

std::unique_ptr<ReasoningParser> make_reasoning_parser(std::string_view name, ReasoningOptions options) {
  if (name == "glm45" || name == "glm4" || name == "glm47") return std::make_unique<Glm45ReasoningParser>(options);
  fail(ErrorKind::InvalidArgument, "unknown reasoning parser '{}' (supported: glm45)", name);
}

}  // namespace glm::parsers
