#include "chat/jinja_lexer.h"

#include <cctype>

#include "chat/jinja_error.h"
#include "chat/py_text.h"

namespace glm::jinja {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// Python's `\s` / str.isspace() over UTF-8: whitespace stripping around `-` tags and lstrip_blocks
// also remove Unicode spaces (U+00A0, U+3000, ...), as jinja2's regexes do.
char32_t code_point_at(const std::string& s, size_t p, size_t* len) {
  std::string_view rest = std::string_view(s).substr(p, std::min<size_t>(4, s.size() - p));
  unsigned char c = static_cast<unsigned char>(rest[0]);
  *len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
  if (*len > rest.size()) *len = 1;
  return *len == 1 ? c : utf8_decode(rest.substr(0, *len))[0];
}

size_t skip_ws_forward(const std::string& s, size_t p) {
  while (p < s.size()) {
    size_t len;
    if (!py_isspace(code_point_at(s, p, &len))) break;
    p += len;
  }
  return p;
}

size_t skip_ws_backward(const std::string& s, size_t e) {
  while (e > 0) {
    size_t b = e - 1;
    while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xc0) == 0x80) --b;
    size_t len;
    if (!py_isspace(code_point_at(s, b, &len)) || b + len != e) break;
    e = b;
  }
  return e;
}
bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

[[noreturn]] void syntax_error(int line, const std::string& msg) {
  throw TemplateError(fmt::format("syntax error at template line {}: {}", line, msg), true);
}

// jinja2 reads string literals the way Python's unicode-escape codec does; unknown escapes stay as written.
std::string unescape_string(std::string_view body) {
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\' || i + 1 >= body.size()) {
      out.push_back(c);
      continue;
    }
    char e = body[++i];
    auto hex = [&](size_t digits) -> bool {
      char32_t cp = 0;
      for (size_t k = 1; k <= digits; ++k) {
        if (i + k >= body.size() || !std::isxdigit(static_cast<unsigned char>(body[i + k]))) return false;
        char h = static_cast<char>(std::tolower(static_cast<unsigned char>(body[i + k])));
        cp = cp * 16 + static_cast<char32_t>(h <= '9' ? h - '0' : h - 'a' + 10);
      }
      utf8_append(out, cp);
      i += digits;
      return true;
    };
    switch (e) {
      case 'n': out.push_back('\n'); break;
      case 't': out.push_back('\t'); break;
      case 'r': out.push_back('\r'); break;
      case '\\': out.push_back('\\'); break;
      case '\'': out.push_back('\''); break;
      case '"': out.push_back('"'); break;
      case 'a': out.push_back('\a'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'v': out.push_back('\v'); break;
      case '\n': break;  // line continuation
      case 'x':
        if (!hex(2)) syntax_error(1, "truncated \\xXX escape");
        break;
      case 'u':
        if (!hex(4)) syntax_error(1, "truncated \\uXXXX escape");
        break;
      case 'U':
        if (!hex(8)) syntax_error(1, "truncated \\UXXXXXXXX escape");
        break;
      default:
        if (e >= '0' && e <= '7') {
          char32_t cp = e - '0';
          for (int k = 0; k < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7'; ++k)
            cp = cp * 8 + (body[++i] - '0');
          utf8_append(out, cp);
        } else {
          out.push_back('\\');
          out.push_back(e);
        }
    }
  }
  return out;
}

class Lexer {
 public:
  Lexer(std::string src, const LexerOptions& o) : src_(std::move(src)), opt_(o) {}

  std::vector<Token> run() {
    while (pos_ < src_.size()) {
      size_t tag = find_tag(pos_);
      std::string text = src_.substr(pos_, tag - pos_);
      if (tag == src_.size()) {
        emit_text(text);
        pos_ = tag;
        break;
      }
      char kind = src_[tag + 1];
      char sign = tag + 2 < src_.size() ? src_[tag + 2] : '\0';
      apply_left_strip(text, kind, sign);
      emit_text(text);
      advance_to(tag + 2 + ((sign == '-' || sign == '+') ? 1 : 0));
      if (kind == '#') lex_comment();
      else if (kind == '%' && try_raw()) continue;
      else lex_tag(kind == '{' ? TokenType::VarBegin : TokenType::BlockBegin);
    }
    tokens_.push_back(Token{TokenType::End, "", 0, 0.0, line_});
    return std::move(tokens_);
  }

 private:
  size_t find_tag(size_t from) const {
    for (size_t i = from; i + 1 < src_.size(); ++i) {
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return src_.size();
  }

  void advance_to(size_t p) {
    for (size_t i = pos_; i < p && i < src_.size(); ++i) line_ += src_[i] == '\n';
    pos_ = p;
  }

  void apply_left_strip(std::string& text, char kind, char sign) {
    if (sign == '-') {
      text.resize(skip_ws_backward(text, text.size()));
    } else if (sign != '+' && opt_.lstrip_blocks && kind != '{') {
      size_t nl = text.rfind('\n');
      size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
      if (l_pos > 0 || line_starting_) {
        if (l_pos < text.size() && skip_ws_forward(text, l_pos) == text.size()) text.resize(l_pos);
      }
    }
  }

  void emit_text(const std::string& text) {
    if (!text.empty()) tokens_.push_back(Token{TokenType::Text, text, 0, 0.0, line_});
    line_starting_ = false;
  }

  // Consumes the end-of-tag whitespace rule: "-X}" eats all whitespace, "+X}" nothing, "X}" one
  // newline under trim_blocks. `pos_` is just past the closing delimiter.
  void after_close(char modifier, bool trim) {
    if (modifier == '-') {
      size_t p = skip_ws_forward(src_, pos_);
      line_starting_ = p > pos_ && src_[p - 1] == '\n';
      advance_to(p);
    } else if (modifier != '+' && trim && opt_.trim_blocks && pos_ < src_.size() && src_[pos_] == '\n') {
      advance_to(pos_ + 1);
      line_starting_ = true;
    } else {
      line_starting_ = false;
    }
  }

  void lex_comment() {
    size_t end = src_.find("#}", pos_);
    if (end == std::string::npos) syntax_error(line_, "Missing end of comment tag");
    char modifier = end > pos_ && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : '\0';
    advance_to(end + 2);
    after_close(modifier, true);
  }

  // `{% raw %}...{% endraw %}` -> one text token. Returns false when the tag is not `raw`.
  bool try_raw() {
    size_t p = pos_;
    while (p < src_.size() && is_ws(src_[p])) ++p;
    if (src_.compare(p, 3, "raw") != 0 || (p + 3 < src_.size() && is_name_char(src_[p + 3]))) return false;
    p += 3;
    while (p < src_.size() && is_ws(src_[p])) ++p;
    bool dash = p < src_.size() && src_[p] == '-';
    if (src_.compare(p + (dash ? 1 : 0), 2, "%}") != 0) return false;
    advance_to(p + (dash ? 3 : 2));
    if (dash) after_close('-', false);
    // Find {%[-+]? endraw [-+]?%}
    for (size_t q = pos_; q + 1 < src_.size(); ++q) {
      if (src_[q] != '{' || src_[q + 1] != '%') continue;
      size_t r = q + 2;
      char sign = r < src_.size() && (src_[r] == '-' || src_[r] == '+') ? src_[r++] : '\0';
      while (r < src_.size() && is_ws(src_[r])) ++r;
      if (src_.compare(r, 6, "endraw") != 0) continue;
      r += 6;
      while (r < src_.size() && is_ws(src_[r])) ++r;
      char modifier = r < src_.size() && (src_[r] == '-' || src_[r] == '+') ? src_[r++] : '\0';
      if (src_.compare(r, 2, "%}") != 0) continue;
      std::string text = src_.substr(pos_, q - pos_);
      apply_left_strip(text, '%', sign);
      emit_text(text);
      advance_to(r + 2);
      after_close(modifier, true);
      return true;
    }
    syntax_error(line_, "Missing end of raw directive");
  }

  void lex_tag(TokenType begin) {
    tokens_.push_back(Token{begin, "", 0, 0.0, line_});
    const char close = begin == TokenType::VarBegin ? '}' : '%';
    int depth = 0;  // open ( [ {: a `}}` inside a dict literal is not the end of the tag
    while (true) {
      while (pos_ < src_.size() && is_ws(src_[pos_])) advance_to(pos_ + 1);
      if (pos_ >= src_.size()) syntax_error(line_, begin == TokenType::VarBegin ? "unexpected end of template, expected '}}'" : "unexpected end of template, expected '%}'");
      if (depth == 0) {
        size_t p = pos_;
        char modifier = (src_[p] == '-' || src_[p] == '+') ? src_[p++] : '\0';
        if (src_.compare(p, 2, std::string{close, '}'}) == 0 && !(modifier == '+' && close == '}')) {
          tokens_.push_back(Token{begin == TokenType::VarBegin ? TokenType::VarEnd : TokenType::BlockEnd, "", 0, 0.0, line_});
          advance_to(p + 2);
          after_close(modifier, begin == TokenType::BlockBegin);
          return;
        }
      }
      lex_expression_token(depth);
    }
  }

  void lex_expression_token(int& depth) {
    const char c = src_[pos_];
    Token tok{TokenType::Operator, "", 0, 0.0, line_};
    if (is_name_start(c)) {
      size_t e = pos_;
      while (e < src_.size() && is_name_char(src_[e])) ++e;
      tok.type = TokenType::Name;
      tok.value = src_.substr(pos_, e - pos_);
      advance_to(e);
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      lex_number(tok);
    } else if (c == '\'' || c == '"') {
      size_t e = pos_ + 1;
      while (e < src_.size() && src_[e] != c) e += src_[e] == '\\' ? 2 : 1;
      if (e >= src_.size()) syntax_error(line_, "unexpected end of string");
      tok.type = TokenType::String;
      tok.value = unescape_string(std::string_view(src_).substr(pos_ + 1, e - pos_ - 1));
      advance_to(e + 1);
    } else {
      static const char* const kOps[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<",
                                         ">",  "=",  ".",  ",",  ":",  "|",  "(", ")", "[", "]", "{", "}"};
      for (const char* op : kOps) {
        size_t n = std::char_traits<char>::length(op);
        if (src_.compare(pos_, n, op) == 0) {
          tok.value = op;
          break;
        }
      }
      if (tok.value.empty()) syntax_error(line_, fmt::format("unexpected char '{}'", c));
      if (tok.value == "(" || tok.value == "[" || tok.value == "{") ++depth;
      if (tok.value == ")" || tok.value == "]" || tok.value == "}") {
        if (depth == 0) syntax_error(line_, fmt::format("unexpected '{}'", tok.value));
        --depth;
      }
      advance_to(pos_ + tok.value.size());
    }
    tokens_.push_back(std::move(tok));
  }

  void lex_number(Token& tok) {
    size_t e = pos_;
    auto digits = [&] {
      while (e < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[e])) || src_[e] == '_')) ++e;
    };
    digits();
    bool is_float = false;
    if (e + 1 < src_.size() && src_[e] == '.' && std::isdigit(static_cast<unsigned char>(src_[e + 1]))) {
      is_float = true;
      ++e;
      digits();
    }
    if (e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
      size_t f = e + 1;
      if (f < src_.size() && (src_[f] == '+' || src_[f] == '-')) ++f;
      if (f < src_.size() && std::isdigit(static_cast<unsigned char>(src_[f]))) {
        is_float = true;
        e = f;
        digits();
      }
    }
    std::string text;
    for (size_t i = pos_; i < e; ++i)
      if (src_[i] != '_') text.push_back(src_[i]);
    if (is_float) {
      tok.type = TokenType::Float;
      tok.float_value = std::stod(text);
    } else {
      tok.type = TokenType::Integer;
      try {
        tok.int_value = std::stoll(text);
      } catch (const std::exception&) {
        syntax_error(line_, "integer literal too large");
      }
    }
    tok.value = text;
    advance_to(e);
  }

  std::string src_;
  LexerOptions opt_;
  size_t pos_ = 0;
  int line_ = 1;
  bool line_starting_ = true;
  std::vector<Token> tokens_;
};

std::string normalize_newlines(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out.push_back(source[i]);
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();  // keep_trailing_newline=False
  return out;
}

}  // namespace

std::vector<Token> tokenize_template(std::string_view source, const LexerOptions& options) {
  return Lexer(normalize_newlines(source), options).run();
}

}  // namespace glm::jinja
