#include "parsers/reasoning_parser.h"

#include "core/error.h"

namespace glm::parsers {

namespace {

constexpr size_t npos = std::string::npos;

bool is_strict_prefix(std::string_view token, std::string_view text) {
  return text.size() < token.size() && token.substr(0, text.size()) == text;
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
  if (is_strict_prefix(kThinkStart, buffer_) || is_strict_prefix(kThinkEnd, buffer_) ||
      is_strict_prefix(kToolStart, buffer_))
    return out;
  // A local view: with stream_reasoning=false the buffer keeps the "<think>" removed here.
  std::string current = buffer_;
  if (!stripped_think_start_) {
    size_t start = current.find(kThinkStart);
    if (start != npos) {
      current.erase(start, kThinkStart.size());
      stripped_think_start_ = true;
      in_reasoning_ = true;
    }
  }
  if (in_reasoning_) {
    size_t end = current.find(kThinkEnd);
    if (end != npos) {
      out.reasoning_text = current.substr(0, end);
      out.normal_text = current.substr(end + kThinkEnd.size());
      buffer_.clear();
      in_reasoning_ = false;
      return out;
    }
    size_t tool = current.find(kToolStart);
    if (tool != npos) {
      out.reasoning_text = current.substr(0, tool);
      out.normal_text = current.substr(tool);  // the tool parser needs the tag
      buffer_.clear();
      in_reasoning_ = false;
      return out;
    }
    if (options_.stream_reasoning) {
      out.reasoning_text = std::move(current);
      buffer_.clear();
    }
    return out;
  }
  out.normal_text = std::move(current);
  buffer_.clear();
  return out;
}

ReasoningResult Glm45ReasoningParser::finish() {
  ReasoningResult out;
  if (!in_reasoning_) return out;
  std::string_view rest = buffer_;
  if (rest.substr(0, kThinkStart.size()) == kThinkStart) rest.remove_prefix(kThinkStart.size());
  if (!options_.stream_reasoning) out.reasoning_text = std::string(rest);
  buffer_.clear();
  return out;
}

std::unique_ptr<ReasoningParser> make_reasoning_parser(std::string_view name, ReasoningOptions options) {
  if (name == "glm45" || name == "glm4" || name == "glm47") return std::make_unique<Glm45ReasoningParser>(options);
  fail(ErrorKind::InvalidArgument, "unknown reasoning parser '{}' (supported: glm45)", name);
}

}  // namespace glm::parsers
