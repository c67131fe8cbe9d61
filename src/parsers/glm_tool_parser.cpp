#include "parsers/glm_tool_parser.h"

#include <algorithm>

#include "core/error.h"
#include "parsers/glm_tool_markup.h"

namespace glm::parsers {

using namespace markup;

namespace {

constexpr size_t npos = std::string::npos;

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

bool is_json_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

void remove_all(std::string& text, std::string_view needle) {
  for (size_t p; (p = text.find(needle)) != npos;) text.erase(p, needle.size());
}

// JSON string-literal body (no quotes) of a UTF-8 fragment.
std::string escape_fragment(std::string_view text) {
  std::string quoted = python_json_quote(text);
  return quoted.substr(1, quoted.size() - 2);
}

// Largest n <= end such that text[begin, n) does not end inside a UTF-8 sequence.
size_t complete_utf8_end(std::string_view text, size_t begin, size_t end) {
  size_t p = end;
  int back = 0;
  while (p > begin && back < 4 && (static_cast<unsigned char>(text[p - 1]) & 0xC0) == 0x80) { --p; ++back; }
  if (p == begin) return end;
  unsigned char lead = static_cast<unsigned char>(text[p - 1]);
  size_t need = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 1;
  size_t have = static_cast<size_t>(back) + 1;
  return have < need ? p - 1 : end;
}

// True while `gap` can still be "(\\n|\s)*<arg_value>": separators, then a (partial) tag; a trailing
// backslash or incomplete UTF-8 sequence may still become a separator.
bool gap_may_precede_value(std::string_view gap) {
  if (ends_with(gap, kArgValueStart)) {
    gap.remove_suffix(kArgValueStart.size());
  } else {
    gap.remove_suffix(partial_tag_suffix(gap, kArgValueStart));
  }
  size_t p = 0;
  while (p < gap.size()) {
    if (gap.substr(p, 2) == "\\n") { p += 2; continue; }
    if (gap[p] == '\\' && p + 1 == gap.size()) return true;
    size_t q = p;
    char32_t cp = decode_utf8(gap, q);
    if (python_is_space(cp)) { p = q; continue; }
    if (static_cast<unsigned char>(gap[p]) >= 0xC0 && complete_utf8_end(gap, p, gap.size()) == p) return true;
    return false;
  }
  return true;
}

}  // namespace

bool ToolCallParser::has_tool_call(std::string_view text) const {
  return text.find(kToolCallStart) != std::string_view::npos;
}

GlmToolParser::GlmToolParser(Dialect dialect, ToolSet tools, ToolParserOptions options)
    : dialect_(dialect), tools_(std::move(tools)), options_(options) {}

std::optional<std::string> GlmToolParser::schema_type(std::string_view key) const {
  return dialect_ == Dialect::Glm45 ? glm45_argument_type(tools_, call_name_, key)
                                    : glm47_argument_type(tools_, call_name_, key);
}

Json GlmToolParser::parse_arguments_body(std::string_view name, std::string_view body) const {
  return type_argument_pairs(typing(), tools_, name, find_argument_pairs(body));
}

ToolParseResult GlmToolParser::parse(std::string_view text) const {
  ToolParseResult result;
  size_t first = text.find(kToolCallStart);
  if (first == npos) {
    result.normal_text = std::string(text);
    return result;
  }
  auto blocks = find_tool_call_blocks(text);
  if (dialect_ == Dialect::Glm45) {
    // Text after or between calls is discarded by this detector.
    result.normal_text = std::string(python_strip(text.substr(0, first)));
  } else {
    std::string outside;
    size_t last = 0;
    for (const auto& b : blocks) {
      outside.append(text.substr(last, b.begin - last));
      last = b.end;
    }
    outside.append(text.substr(last));
    result.normal_text = std::string(python_strip(outside));
  }
  for (const auto& block : blocks) {
    std::string name;
    std::string_view body;
    if (dialect_ == Dialect::Glm45) {
      auto [pos, len] = find_glm45_name_end(block.inner);
      if (pos == npos) continue;  // "<tool_call>name</tool_call>" is not the 4.5 format
      name = std::string(block.inner.substr(0, pos));
      body = block.inner.substr(pos + len);
    } else {
      // Not stripped: SGLang matches the raw text against the tool names (streaming strips it).
      size_t key = block.inner.find(kArgKeyStart);
      name = std::string(block.inner.substr(0, key));
      body = key == npos ? std::string_view() : block.inner.substr(key);
    }
    // Unknown names are dropped unless forwarding is on; a call without a name never is forwarded.
    if (!tools_.find(name) && (!options_.forward_unknown_tools || python_strip(name).empty())) continue;
    Json args = parse_arguments_body(name, body);
    result.calls.push_back({static_cast<int>(result.calls.size()), name, python_json_dumps(args)});
  }
  return result;
}

void GlmToolParser::start_call() {
  in_call_ = true;
  name_sent_ = false;
  skip_block_ = false;
  if (current_tool_id_ < 0) current_tool_id_ = 0;
  call_name_.clear();
  body_.clear();
  streamed_.clear();
  phase_ = Phase::Between;
  tag_tail_.clear();
  key_text_.clear();
  current_key_.clear();
  value_raw_.clear();
  value_streamed_ = 0;
  value_mode_ = ValueMode::Undecided;
  string_opened_ = false;
  first_param_ = true;
  buffer_whole_call_ = false;
}

bool GlmToolParser::read_call_name(ToolStreamDelta& out) {
  size_t end = buffer_.find(kToolCallEnd);
  std::string name;
  if (dialect_ == Dialect::Glm45) {
    auto [pos, len] = find_glm45_name_end(buffer_);
    if (pos == npos || (end != npos && end < pos)) {
      if (end == npos) return false;
      skip_block_ = true;  // a block without a name line yields no call, as in parse()
      return true;
    }
    name = std::string(python_strip(std::string_view(buffer_).substr(0, pos)));
    buffer_.erase(0, pos + len);
  } else {
    size_t key = buffer_.find("<arg_key");
    size_t stop = std::min(key, end);
    if (stop == npos) return false;
    name = std::string(python_strip(std::string_view(buffer_).substr(0, stop)));
    buffer_.erase(0, stop);
  }
  if (name.empty()) {
    skip_block_ = true;
    return true;
  }
  call_name_ = std::move(name);
  name_sent_ = true;
  // Values typed with their siblings' help can only be sent once all of them are known.
  buffer_whole_call_ = dialect_ == Dialect::Glm47 && glm47_needs_argument_context(tools_, call_name_);
  out.calls.push_back({current_tool_id_, call_name_, ""});
  return true;
}

ToolStreamDelta GlmToolParser::push(std::string_view chunk) {
  ToolStreamDelta out;
  buffer_.append(chunk);
  while (true) {
    if (!in_call_) {
      size_t start = buffer_.find(kToolCallStart);
      if (start == npos) {
        // Hold back a possible start tag, and a possible stray end tag so that it is removed whole.
        size_t keep = buffer_.size() - std::max(partial_tag_suffix(buffer_, kToolCallStart),
                                                partial_tag_suffix(buffer_, kToolCallEnd));
        std::string text = buffer_.substr(0, keep);
        remove_all(text, kToolCallEnd);  // a stray end tag is not content
        out.normal_text += text;
        if (out.calls.empty()) out.normal_before_calls = out.normal_text.size();
        buffer_.erase(0, keep);
        break;
      }
      std::string text = buffer_.substr(0, start);
      remove_all(text, kToolCallEnd);
      out.normal_text += text;
      if (out.calls.empty()) out.normal_before_calls = out.normal_text.size();
      buffer_.erase(0, start + kToolCallStart.size());
      start_call();
      continue;
    }
    if (skip_block_) {
      size_t end = buffer_.find(kToolCallEnd);
      if (end == npos) {
        buffer_.erase(0, buffer_.size() - partial_tag_suffix(buffer_, kToolCallEnd));
        break;
      }
      buffer_.erase(0, end + kToolCallEnd.size());
      in_call_ = false;
      skip_block_ = false;
      continue;
    }
    if (!name_sent_) {
      if (!read_call_name(out)) break;
      continue;
    }
    size_t end = buffer_.find(kToolCallEnd);
    if (end == npos) {
      size_t keep = buffer_.size() - partial_tag_suffix(buffer_, kToolCallEnd);
      feed_body(std::string_view(buffer_).substr(0, keep), out);
      buffer_.erase(0, keep);
      break;
    }
    feed_body(std::string_view(buffer_).substr(0, end), out);
    buffer_.erase(0, end + kToolCallEnd.size());
    finalize_call(false, out);
  }
  return out;
}

void GlmToolParser::feed_body(std::string_view text, ToolStreamDelta& out) {
  if (text.empty()) return;
  body_.append(text);
  if (buffer_whole_call_) return;  // sent whole by finalize_call
  std::string json;
  for (char c : text) feed_char(c, json);
  if (phase_ == Phase::InValue && value_mode_ == ValueMode::StreamString) stream_string_content(json, false);
  emit_arguments(std::move(json), out);
}

void GlmToolParser::feed_char(char c, std::string& json_out) {
  switch (phase_) {
    case Phase::Between:
      tag_tail_.push_back(c);
      if (tag_tail_.size() > kArgKeyStart.size()) tag_tail_.erase(0, tag_tail_.size() - kArgKeyStart.size());
      if (tag_tail_ == kArgKeyStart) {
        phase_ = Phase::InKey;
        key_text_.clear();
        tag_tail_.clear();
      }
      return;
    case Phase::InKey:
      key_text_.push_back(c);
      if (ends_with(key_text_, kArgKeyEnd)) {
        current_key_ = std::string(
            python_strip(std::string_view(key_text_).substr(0, key_text_.size() - kArgKeyEnd.size())));
        phase_ = Phase::WaitingValue;
        tag_tail_.clear();
      }
      return;
    case Phase::WaitingValue:
      // tag_tail_ holds everything since </arg_key>; like parse()'s regex, only whitespace and
      // literal "\n" may come before <arg_value>, otherwise the key has no value.
      tag_tail_.push_back(c);
      if (!gap_may_precede_value(tag_tail_)) {
        phase_ = Phase::Between;
        tag_tail_.clear();
        return;
      }
      if (ends_with(tag_tail_, kArgValueStart)) {
        // The key goes out only once its value starts, so a truncated pair never leaves "key": behind.
        json_out += first_param_ ? "{" : ", ";
        json_out += python_json_quote(current_key_) + ": ";
        first_param_ = false;
        phase_ = Phase::InValue;
        value_raw_.clear();
        value_streamed_ = 0;
        string_opened_ = false;
        auto type = schema_type(current_key_);
        value_mode_ = (type && *type == "string") ? ValueMode::Undecided : ValueMode::Buffered;
      }
      return;
    case Phase::InValue:
      value_raw_.push_back(c);
      if (ends_with(value_raw_, kArgValueEnd)) {
        close_value(std::string_view(value_raw_).substr(0, value_raw_.size() - kArgValueEnd.size()), json_out);
        phase_ = Phase::Between;
        tag_tail_.clear();
      } else if (value_mode_ == ValueMode::Undecided && !is_json_ws(c)) {
        // Values that JSON-decode or are quoted may not end up as their raw text: send them typed
        // and whole at </arg_value>. Anything else is the raw text and can stream as it arrives.
        bool may_decode = c == '"' || c == '\'' || c == '\\' || c == '{' || c == '[';
        // glm45 turns JSON scalars into str(value) ("true" -> "True", "1e5" -> "100000.0").
        if (dialect_ == Dialect::Glm45)
          may_decode = may_decode || (c >= '0' && c <= '9') || c == '-' || c == 't' || c == 'f' || c == 'n' ||
                       c == 'N' || c == 'I';
        value_mode_ = may_decode ? ValueMode::Buffered : ValueMode::StreamString;
      }
      return;
  }
}

void GlmToolParser::stream_string_content(std::string& json_out, bool at_close) {
  size_t available = value_raw_.size();
  if (!at_close) {
    available -= partial_tag_suffix(value_raw_, kArgValueEnd);
    available = complete_utf8_end(value_raw_, value_streamed_, available);
  }
  if (available <= value_streamed_) return;
  if (!string_opened_) {
    json_out.push_back('"');
    string_opened_ = true;
  }
  json_out += escape_fragment(std::string_view(value_raw_).substr(value_streamed_, available - value_streamed_));
  value_streamed_ = available;
}

void GlmToolParser::close_value(std::string_view raw_value, std::string& json_out) {
  if (value_mode_ == ValueMode::StreamString) {
    if (!string_opened_) {
      json_out.push_back('"');
      string_opened_ = true;
    }
    if (raw_value.size() > value_streamed_) json_out += escape_fragment(raw_value.substr(value_streamed_));
    json_out.push_back('"');
  } else {
    json_out += python_json_dumps(type_argument_value(typing(), tools_, call_name_, current_key_, raw_value));
  }
  value_raw_.clear();
  value_streamed_ = 0;
  value_mode_ = ValueMode::Undecided;
}

void GlmToolParser::emit_arguments(std::string fragment, ToolStreamDelta& out) {
  if (fragment.empty()) return;
  streamed_ += fragment;
  if (!out.calls.empty() && out.calls.back().index == current_tool_id_ && !out.calls.back().name) {
    out.calls.back().arguments += fragment;
  } else {
    out.calls.push_back({current_tool_id_, std::nullopt, std::move(fragment)});
  }
}

void GlmToolParser::finalize_call(bool value_closed_by_stream_end, ToolStreamDelta& out) {
  std::string body = body_;
  if (phase_ == Phase::InValue) {
    // An unterminated value: close it so the client still gets a JSON object. At end of stream the
    // value counts as complete; a </tool_call> inside a value ends the block without it (as parse()).
    std::string json;
    close_value(value_raw_, json);
    emit_arguments(std::move(json), out);
    phase_ = Phase::Between;
    if (value_closed_by_stream_end) body += kArgValueEnd;
  }
  std::string expected = python_json_dumps(parse_arguments_body(call_name_, body));
  std::string closing = first_param_ ? "{}" : "}";
  std::string fragment = closing;
  if (streamed_ + closing != expected && expected.compare(0, streamed_.size(), streamed_) == 0)
    fragment = expected.substr(streamed_.size());  // heal a divergence the state machine could not see
  emit_arguments(std::move(fragment), out);
  completed_calls_.push_back({current_tool_id_, call_name_, expected});
  last_streamed_ = streamed_;
  ++current_tool_id_;
  in_call_ = false;
  name_sent_ = false;
}

ToolStreamDelta GlmToolParser::finish() {
  ToolStreamDelta out;
  if (in_call_) {
    if (!name_sent_) {
      // glm47's parse() keeps an unclosed block as normal text; glm45's drops everything after it.
      if (dialect_ == Dialect::Glm47 && !skip_block_) out.normal_text = std::string(kToolCallStart) + buffer_;
      out.normal_before_calls = out.normal_text.size();
      in_call_ = false;
    } else {
      feed_body(buffer_, out);
      finalize_call(true, out);
    }
  } else {
    std::string text = buffer_;
    remove_all(text, kToolCallEnd);
    out.normal_text += text;
    if (out.calls.empty()) out.normal_before_calls = out.normal_text.size();
  }
  buffer_.clear();
  // serving_chat._check_for_unstreamed_tool_args: send what the last call's arguments still miss.
  if (!completed_calls_.empty()) {
    const std::string& expected = completed_calls_.back().arguments;
    if (expected.size() > last_streamed_.size() && expected.compare(0, last_streamed_.size(), last_streamed_) == 0) {
      std::string suffix = expected.substr(last_streamed_.size());
      out.calls.push_back({completed_calls_.back().index, std::nullopt, suffix});
      last_streamed_ = expected;
    }
  }
  return out;
}

std::vector<std::string> tool_call_parser_names() { return {"glm", "glm45", "glm47"}; }

std::unique_ptr<ToolCallParser> make_tool_call_parser(std::string_view parser_name, ToolSet tools,
                                                      ToolParserOptions options) {
  if (parser_name == "glm" || parser_name == "glm45")
    return std::make_unique<Glm45ToolParser>(std::move(tools), options);
  if (parser_name == "glm47") return std::make_unique<Glm47ToolParser>(std::move(tools), options);
  fail(ErrorKind::InvalidArgument, "unknown tool-call parser '{}' (supported: glm, glm45, glm47)", parser_name);
}

}  // namespace glm::parsers
