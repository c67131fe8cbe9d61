#pragma once
// Splits a template into text and tag tokens with jinja2's whitespace rules as transformers
// configures them: trim_blocks (drop the newline after %} and #}), lstrip_blocks (drop spaces and
// tabs before {% and {# on their own line), `-` strips all whitespace on that side, `+` disables
// both, `{% raw %}` passes text through, one trailing newline of the template is dropped.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace glm::jinja {

enum class TokenType : uint8_t {
  Text,        // literal output
  VarBegin,    // {{
  VarEnd,      // }}
  BlockBegin,  // {%
  BlockEnd,    // %}
  Name,
  String,
  Integer,
  Float,
  Operator,  // value holds the operator text: + - * / // % ** ~ == != < <= > >= = . , : | ( ) [ ] { }
  End,
};

struct Token {
  TokenType type;
  std::string value;  // text, name, unescaped string, operator
  int64_t int_value = 0;
  double float_value = 0.0;
  int line = 1;
};

struct LexerOptions {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
};

std::vector<Token> tokenize_template(std::string_view source, const LexerOptions& options = {});

}  // namespace glm::jinja
