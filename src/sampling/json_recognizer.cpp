#include "sampling/json_recognizer.h"

namespace glm::sampling {

namespace {

constexpr std::string_view kLiterals[] = {"true", "false", "null"};

bool is_ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
bool is_hex(uint8_t c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

}  // namespace

bool JsonRecognizer::top_is_object() const {
  const int level = depth_ - 1;
  return (objects_[level / 64] >> (level % 64)) & 1u;
}

bool JsonRecognizer::push(bool object) {
  if (depth_ >= kMaxDepth) return false;
  const uint64_t bit = uint64_t{1} << (depth_ % 64);
  if (object) objects_[depth_ / 64] |= bit;
  else objects_[depth_ / 64] &= ~bit;
  ++depth_;
  mode_ = object ? Mode::ObjectFirst : Mode::ArrayFirst;
  return true;
}

bool JsonRecognizer::end_value() {
  mode_ = depth_ == 0 ? Mode::Done : Mode::After;
  return true;
}

bool JsonRecognizer::start_value(uint8_t c) {
  // The schema's top-level type decides which first characters are allowed.
  auto root_allows = [&](JsonRoot kind) {
    return depth_ > 0 || root_ == JsonRoot::Any || root_ == kind ||
           (kind == JsonRoot::Number && root_ == JsonRoot::Integer);
  };
  switch (c) {
    case '{': return root_allows(JsonRoot::Object) && push(true);
    case '[': return root_allows(JsonRoot::Array) && push(false);
    case '"':
      if (!root_allows(JsonRoot::String)) return false;
      mode_ = Mode::String;
      aux_ = 0;
      return true;
    case '-':
      if (!root_allows(JsonRoot::Number)) return false;
      mode_ = Mode::NumMinus;
      return true;
    case 't': case 'f': case 'n': {
      const int lit = c == 't' ? 0 : c == 'f' ? 1 : 2;
      if (!root_allows(lit == 2 ? JsonRoot::Null : JsonRoot::Boolean)) return false;
      mode_ = Mode::Literal;
      aux_ = static_cast<uint8_t>(lit * 8 + 1);
      return true;
    }
    default:
      if (!is_digit(c) || !root_allows(JsonRoot::Number)) return false;
      mode_ = c == '0' ? Mode::NumZero : Mode::NumInt;
      return true;
  }
}

bool JsonRecognizer::feed(uint8_t c) {
  // Structural whitespace: every mode that accepts it is outside strings, literals and numbers (a
  // number ends at whitespace and the byte is read again in After / Done).
  const bool structural = mode_ != Mode::String && mode_ != Mode::Escape && mode_ != Mode::Unicode;
  if (structural && is_ws(c)) {
    if (ws_run_ >= max_ws_) return false;
    if (!step(c)) return false;
    ++ws_run_;
    return true;
  }
  ws_run_ = 0;
  return step(c);
}

bool JsonRecognizer::step(uint8_t c) {
  // A top-level integer may not have a fraction or an exponent.
  const bool integer_only = depth_ == 0 && root_ == JsonRoot::Integer;
  switch (mode_) {
    case Mode::Value:
      return is_ws(c) || start_value(c);
    case Mode::ArrayFirst:
      if (is_ws(c)) return true;
      if (c == ']') {
        --depth_;
        return end_value();
      }
      return start_value(c);
    case Mode::ObjectFirst:
    case Mode::Key:
      if (is_ws(c)) return true;
      if (c == '}' && mode_ == Mode::ObjectFirst) {
        --depth_;
        return end_value();
      }
      if (c != '"') return false;
      mode_ = Mode::String;
      aux_ = 1;
      return true;
    case Mode::Colon:
      if (is_ws(c)) return true;
      if (c != ':') return false;
      mode_ = Mode::Value;
      return true;
    case Mode::After:
      if (is_ws(c)) return true;
      if (c == ',') {
        mode_ = top_is_object() ? Mode::Key : Mode::Value;
        return true;
      }
      if (c == (top_is_object() ? '}' : ']')) {
        --depth_;
        return end_value();
      }
      return false;
    case Mode::Done:
      return is_ws(c);
    case Mode::String:
      if (utf8_left_ > 0) {  // inside a multi-byte character: its next continuation byte
        if (c < utf8_lo_ || c > utf8_hi_) return false;
        --utf8_left_;
        utf8_lo_ = 0x80;
        utf8_hi_ = 0xBF;
        return true;
      }
      if (c >= 0x80) {  // a lead byte: how many continuation bytes follow, and the first one's range (RFC 3629)
        if (c < 0xC2 || c > 0xF4) return false;
        utf8_left_ = c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
        utf8_lo_ = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
        utf8_hi_ = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
        return true;
      }
      if (c == '"') {
        if (aux_ & 1) {
          mode_ = Mode::Colon;
          return true;
        }
        return end_value();
      }
      if (c == '\\') {
        mode_ = Mode::Escape;
        return true;
      }
      return c >= 0x20;
    case Mode::Escape:
      if (c == 'u') {
        mode_ = Mode::Unicode;
        aux_ = static_cast<uint8_t>((aux_ & 1) | (4 << 1));
        return true;
      }
      if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't') {
        mode_ = Mode::String;
        return true;
      }
      return false;
    case Mode::Unicode: {
      if (!is_hex(c)) return false;
      const int left = (aux_ >> 1) - 1;
      aux_ = static_cast<uint8_t>((aux_ & 1) | (left << 1));
      if (left == 0) mode_ = Mode::String;
      return true;
    }
    case Mode::NumMinus:
      if (!is_digit(c)) return false;
      mode_ = c == '0' ? Mode::NumZero : Mode::NumInt;
      return true;
    case Mode::NumZero:
    case Mode::NumInt:
      if (is_digit(c) && mode_ == Mode::NumInt) return true;
      if (c == '.' && !integer_only) {
        mode_ = Mode::NumDot;
        return true;
      }
      if ((c == 'e' || c == 'E') && !integer_only) {
        mode_ = Mode::NumExp;
        return true;
      }
      break;  // the number ended: c belongs to what follows
    case Mode::NumDot:
      if (!is_digit(c)) return false;
      mode_ = Mode::NumFrac;
      return true;
    case Mode::NumFrac:
      if (is_digit(c)) return true;
      if (c == 'e' || c == 'E') {
        mode_ = Mode::NumExp;
        return true;
      }
      break;
    case Mode::NumExp:
      if (c == '+' || c == '-') {
        mode_ = Mode::NumExpSign;
        return true;
      }
      [[fallthrough]];
    case Mode::NumExpSign:
      if (!is_digit(c)) return false;
      mode_ = Mode::NumExpDigits;
      return true;
    case Mode::NumExpDigits:
      if (is_digit(c)) return true;
      break;
    case Mode::Literal: {
      const std::string_view lit = kLiterals[aux_ / 8];
      const size_t pos = aux_ % 8;
      if (c != static_cast<uint8_t>(lit[pos])) return false;
      ++aux_;
      if (pos + 1 == lit.size()) return end_value();
      return true;
    }
  }
  // Only an accepting number phase reaches here (NumZero / NumInt / NumFrac / NumExpDigits), with a
  // byte that is not part of the number: the number ends and the byte is read after it.
  end_value();
  return step(c);
}

bool JsonRecognizer::complete() const {
  if (mode_ == Mode::Done) return true;
  // A top-level number has no terminator: it is complete whenever its digits are.
  return depth_ == 0 && (mode_ == Mode::NumZero || mode_ == Mode::NumInt || mode_ == Mode::NumFrac ||
                         mode_ == Mode::NumExpDigits);
}

}  // namespace glm::sampling
