#pragma once
// Recursive-descent parser from jinja tokens to the AST, following jinja2's grammar and operator
// precedence (or < and < not < comparisons/in < + - < ~ < * / // % < ** (left-assoc) < unary
// < postfix . [] () < filters | and tests `is`).
#include <string_view>

#include "chat/jinja_ast.h"
#include "chat/jinja_lexer.h"

namespace glm::jinja {

Body parse_template(std::string_view source);

}  // namespace glm::jinja
