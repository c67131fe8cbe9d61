#include "chat/jinja_parser.h"

#include <algorithm>
#include <initializer_list>

#include "chat/jinja_error.h"

namespace glm::jinja {
namespace {

constexpr int kMaxNesting = 200;  // expression / block nesting; deeper input is rejected, not recursed into

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : toks_(std::move(tokens)) {}

  Body parse_all() {
    std::string end;
    Body body = parse_until({}, &end);
    return body;
  }

 private:
  // ---- token helpers -------------------------------------------------------------------------
  const Token& peek(size_t ahead = 0) const { return toks_[std::min(pos_ + ahead, toks_.size() - 1)]; }
  const Token& next() {
    const Token& t = toks_[pos_];
    if (pos_ + 1 < toks_.size()) ++pos_;
    return t;
  }
  bool is_op(std::string_view op, size_t ahead = 0) const {
    return peek(ahead).type == TokenType::Operator && peek(ahead).value == op;
  }
  bool is_name(std::string_view n, size_t ahead = 0) const {
    return peek(ahead).type == TokenType::Name && peek(ahead).value == n;
  }
  [[noreturn]] void error(const std::string& msg) const {
    throw TemplateError(fmt::format("syntax error at template line {}: {}", peek().line, msg), true);
  }
  static std::string describe(const Token& t) {
    switch (t.type) {
      case TokenType::VarEnd: return "end of print statement";
      case TokenType::BlockEnd: return "end of statement block";
      case TokenType::End: return "end of template";
      case TokenType::String: return "string";
      case TokenType::Integer: return "integer";
      case TokenType::Float: return "float";
      default: return "'" + t.value + "'";
    }
  }
  void expect_op(std::string_view op) {
    if (!is_op(op)) error(fmt::format("expected '{}', got {}", op, describe(peek())));
    next();
  }
  std::string expect_name() {
    if (peek().type != TokenType::Name) error(fmt::format("expected a name, got {}", describe(peek())));
    return next().value;
  }
  void expect_block_end() {
    if (peek().type != TokenType::BlockEnd) error(fmt::format("expected end of statement block, got {}", describe(peek())));
    next();
  }

  ExprPtr make(ExprKind kind, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    return e;
  }

  struct DepthGuard {
    Parser& p;
    explicit DepthGuard(Parser& parser) : p(parser) {
      if (++p.depth_ > kMaxNesting) p.error("template nesting too deep");
    }
    ~DepthGuard() { --p.depth_; }
  };

  // ---- statements ----------------------------------------------------------------------------
  // Parses until one of `ends` opens a block tag; consumes `{%` and the end tag's name.
  Body parse_until(std::initializer_list<std::string_view> ends, std::string* which) {
    DepthGuard guard(*this);
    Body body;
    while (true) {
      const Token& t = peek();
      if (t.type == TokenType::End) {
        if (ends.size() != 0) {
          std::string names;
          for (auto e : ends) names += (names.empty() ? "'" : " or '") + std::string(e) + "'";
          error(fmt::format("unexpected end of template; jinja was looking for {}", names));
        }
        return body;
      }
      if (t.type == TokenType::Text) {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::Text;
        s->line = t.line;
        s->text = t.value;
        next();
        body.push_back(std::move(s));
      } else if (t.type == TokenType::VarBegin) {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::Output;
        s->line = t.line;
        next();
        s->expr = parse_tuple(true);
        if (peek().type != TokenType::VarEnd) error(fmt::format("expected end of print statement, got {}", describe(peek())));
        next();
        body.push_back(std::move(s));
      } else if (t.type == TokenType::BlockBegin) {
        if (peek(1).type == TokenType::Name &&
            std::find(ends.begin(), ends.end(), std::string_view(peek(1).value)) != ends.end()) {
          next();
          *which = next().value;
          return body;
        }
        body.push_back(parse_statement());
      } else {
        error(fmt::format("unexpected {}", describe(t)));
      }
    }
  }

  StmtPtr parse_statement() {
    next();  // {%
    if (peek().type != TokenType::Name) error("tag name expected");
    const Token& tag = next();
    auto s = std::make_unique<Stmt>();
    s->line = tag.line;
    const std::string& n = tag.value;
    std::string end;
    if (n == "if") {
      s->kind = StmtKind::If;
      ExprPtr cond = parse_tuple(false);
      expect_block_end();
      while (true) {
        Body b = parse_until({"elif", "else", "endif"}, &end);
        s->branches.emplace_back(std::move(cond), std::move(b));
        if (end == "elif") {
          cond = parse_tuple(false);
          expect_block_end();
          continue;
        }
        if (end == "else") {
          expect_block_end();
          s->else_body = parse_until({"endif"}, &end);
        }
        expect_block_end();
        break;
      }
    } else if (n == "for") {
      s->kind = StmtKind::For;
      s->targets = parse_target_names();
      if (!is_name("in")) error(fmt::format("expected 'in', got {}", describe(peek())));
      next();
      s->expr = parse_tuple(false, "recursive");
      if (is_name("if")) {
        next();
        s->filter = parse_expression(true);
      }
      if (is_name("recursive")) error("recursive loops are not supported");
      expect_block_end();
      ++loop_depth_;
      s->body = parse_until({"endfor", "else"}, &end);
      --loop_depth_;
      if (end == "else") {
        expect_block_end();
        s->else_body = parse_until({"endfor"}, &end);
      }
      expect_block_end();
    } else if (n == "set") {
      if (peek().type == TokenType::Name && is_op(".", 1)) {
        s->ns_attr = true;
        s->targets.push_back(next().value);
        next();
        s->targets.push_back(expect_name());
      } else {
        s->targets = parse_target_names();
      }
      if (is_op("=")) {
        next();
        s->kind = StmtKind::Set;
        s->expr = parse_tuple(true);
        expect_block_end();
      } else {
        if (s->ns_attr || s->targets.size() != 1) error("expected '='");
        s->kind = StmtKind::SetBlock;
        if (is_op("|")) s->filter = parse_filter_chain();
        expect_block_end();
        s->body = parse_until({"endset"}, &end);
        expect_block_end();
      }
    } else if (n == "macro") {
      s->kind = StmtKind::Macro;
      s->name = expect_name();
      parse_params(s->params);
      expect_block_end();
      int saved = loop_depth_;
      loop_depth_ = 0;
      s->body = parse_until({"endmacro"}, &end);
      loop_depth_ = saved;
      if (peek().type == TokenType::Name) next();  // {% endmacro name %}
      expect_block_end();
    } else if (n == "call") {
      s->kind = StmtKind::CallBlock;
      if (is_op("(")) parse_params(s->params);
      s->expr = parse_expression(true);
      if (s->expr->kind != ExprKind::Call) error("expected a call after {% call %}");
      expect_block_end();
      s->body = parse_until({"endcall"}, &end);
      expect_block_end();
    } else if (n == "filter") {
      s->kind = StmtKind::FilterBlock;
      s->filter = parse_filter_chain(false);
      expect_block_end();
      s->body = parse_until({"endfilter"}, &end);
      expect_block_end();
    } else if (n == "with") {
      s->kind = StmtKind::Scope;
      while (peek().type != TokenType::BlockEnd) {
        if (!s->with_assignments.empty()) expect_op(",");
        std::string target = expect_name();
        expect_op("=");
        s->with_assignments.emplace_back(target, parse_expression(true));
      }
      expect_block_end();
      s->body = parse_until({"endwith"}, &end);
      expect_block_end();
    } else if (n == "generation") {  // transformers' AssistantTracker tag: renders its body
      s->kind = StmtKind::Scope;
      expect_block_end();
      s->body = parse_until({"endgeneration"}, &end);
      expect_block_end();
    } else if (n == "break" || n == "continue") {
      if (loop_depth_ == 0) error(fmt::format("'{}' outside of a loop", n));
      s->kind = n == "break" ? StmtKind::Break : StmtKind::Continue;
      expect_block_end();
    } else {
      error(fmt::format("encountered unknown or unsupported tag '{}'", n));
    }
    return s;
  }

  std::vector<std::string> parse_target_names() {
    std::vector<std::string> names;
    bool paren = is_op("(");
    if (paren) next();
    names.push_back(expect_name());
    while (is_op(",")) {
      next();
      if (peek().type != TokenType::Name) break;
      names.push_back(expect_name());
    }
    if (paren) expect_op(")");
    return names;
  }

  void parse_params(std::vector<MacroParam>& params) {
    expect_op("(");
    while (!is_op(")")) {
      if (!params.empty()) expect_op(",");
      if (is_op(")")) break;
      MacroParam p;
      p.name = expect_name();
      if (is_op("=")) {
        next();
        p.default_value = parse_expression(true);
      }
      params.push_back(std::move(p));
    }
    next();
  }

  // `| f | g(x)` with the value slot (args[0]) left empty: applied to a rendered body.
  ExprPtr parse_filter_chain(bool leading_pipe = true) {
    if (leading_pipe) expect_op("|");
    ExprPtr chain;
    while (true) {
      ExprPtr f = make(ExprKind::Filter, peek().line);
      f->name = parse_dotted_name();
      f->args.push_back(std::move(chain));
      if (is_op("(")) parse_call_args(*f);
      chain = std::move(f);
      if (!is_op("|")) return chain;
      next();
    }
  }

  // ---- expressions ---------------------------------------------------------------------------
  ExprPtr parse_tuple(bool with_condexpr, std::string_view extra_end = {}, bool explicit_parens = false) {
    int line = peek().line;
    std::vector<ExprPtr> items;
    bool saw_comma = false;
    while (true) {
      if (!items.empty()) {
        if (!is_op(",")) break;
        next();
        saw_comma = true;
      }
      const Token& t = peek();
      if (t.type == TokenType::VarEnd || t.type == TokenType::BlockEnd || is_op(")") ||
          (!extra_end.empty() && is_name(extra_end)) || (!items.empty() && is_name("if")))
        break;
      items.push_back(parse_expression(with_condexpr));
    }
    if (items.empty() && !explicit_parens) error(fmt::format("expected an expression, got {}", describe(peek())));
    if (items.size() == 1 && !saw_comma) return std::move(items[0]);
    auto e = make(ExprKind::Tuple, line);
    e->args = std::move(items);
    return e;
  }

  ExprPtr parse_expression(bool with_condexpr) {
    DepthGuard guard(*this);
    return with_condexpr ? parse_condexpr() : parse_or();
  }

  ExprPtr parse_condexpr() {
    ExprPtr e = parse_or();
    while (is_name("if")) {
      int line = next().line;
      auto c = make(ExprKind::Conditional, line);
      ExprPtr cond = parse_or();
      ExprPtr other;
      if (is_name("else")) {
        next();
        other = parse_condexpr();
      }
      c->args.push_back(std::move(e));
      c->args.push_back(std::move(cond));
      c->args.push_back(std::move(other));
      e = std::move(c);
    }
    return e;
  }

  static Op binary_op(const std::string& op) {
    if (op == "and") return Op::And;
    if (op == "or") return Op::Or;
    if (op == "+") return Op::Add;
    if (op == "-") return Op::Sub;
    if (op == "*") return Op::Mul;
    if (op == "/") return Op::Div;
    if (op == "//") return Op::FloorDiv;
    if (op == "%") return Op::Mod;
    if (op == "**") return Op::Pow;
    return Op::Concat;  // "~"
  }

  static Op compare_op(const std::string& op) {
    if (op == "==") return Op::Eq;
    if (op == "!=") return Op::Ne;
    if (op == "<") return Op::Lt;
    if (op == "<=") return Op::Le;
    if (op == ">") return Op::Gt;
    return Op::Ge;
  }

  ExprPtr binary(const std::string& op, ExprPtr l, ExprPtr r, int line) {
    auto e = make(ExprKind::Binary, line);
    e->name = op;
    e->op = binary_op(op);
    e->args.push_back(std::move(l));
    e->args.push_back(std::move(r));
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr e = parse_and();
    while (is_name("or")) {
      int line = next().line;
      e = binary("or", std::move(e), parse_and(), line);
    }
    return e;
  }

  ExprPtr parse_and() {
    ExprPtr e = parse_not();
    while (is_name("and")) {
      int line = next().line;
      e = binary("and", std::move(e), parse_not(), line);
    }
    return e;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard guard(*this);
      auto e = make(ExprKind::Unary, next().line);
      e->name = "not";
      e->op = Op::Not;
      e->args.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    int line = peek().line;
    ExprPtr first = parse_math1();
    auto e = make(ExprKind::Compare, line);
    e->args.push_back(std::move(first));
    while (true) {
      const Token& t = peek();
      if (t.type == TokenType::Operator &&
          (t.value == "==" || t.value == "!=" || t.value == "<" || t.value == "<=" || t.value == ">" || t.value == ">=")) {
        e->compare_ops.push_back(compare_op(next().value));
      } else if (is_name("in")) {
        next();
        e->compare_ops.push_back(Op::In);
      } else if (is_name("not") && is_name("in", 1)) {
        next();
        next();
        e->compare_ops.push_back(Op::NotIn);
      } else {
        break;
      }
      e->args.push_back(parse_math1());
    }
    if (e->compare_ops.empty()) return std::move(e->args[0]);
    return e;
  }

  ExprPtr parse_math1() {
    ExprPtr e = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Token& t = next();
      e = binary(t.value, std::move(e), parse_concat(), t.line);
    }
    return e;
  }

  ExprPtr parse_concat() {
    ExprPtr e = parse_math2();
    while (is_op("~")) {
      int line = next().line;
      e = binary("~", std::move(e), parse_math2(), line);
    }
    return e;
  }

  ExprPtr parse_math2() {
    ExprPtr e = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token& t = next();
      e = binary(t.value, std::move(e), parse_pow(), t.line);
    }
    return e;
  }

  ExprPtr parse_pow() {
    ExprPtr e = parse_unary(true);
    while (is_op("**")) {
      int line = next().line;
      e = binary("**", std::move(e), parse_unary(true), line);
    }
    return e;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(*this);
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      const Token& t = next();
      e = make(ExprKind::Unary, t.line);
      e->name = t.value;
      e->op = t.value == "-" ? Op::Neg : Op::Pos;
      e->args.push_back(parse_unary(false));
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    if (with_filter) e = parse_filter_expr(std::move(e));
    return e;
  }

  ExprPtr parse_primary() {
    const Token& t = peek();
    int line = t.line;
    if (t.type == TokenType::Name) {
      next();
      auto e = make(ExprKind::Literal, line);
      if (t.value == "true" || t.value == "True") e->literal = Value(true);
      else if (t.value == "false" || t.value == "False") e->literal = Value(false);
      else if (t.value == "none" || t.value == "None") e->literal = Value::none();
      else {
        e->kind = ExprKind::Name;
        e->name = t.value;
      }
      return e;
    }
    if (t.type == TokenType::String) {
      std::string s;
      while (peek().type == TokenType::String) s += next().value;  // adjacent literals concatenate
      auto e = make(ExprKind::Literal, line);
      e->literal = Value(std::move(s));
      return e;
    }
    if (t.type == TokenType::Integer || t.type == TokenType::Float) {
      next();
      auto e = make(ExprKind::Literal, line);
      e->literal = t.type == TokenType::Integer ? Value(t.int_value) : Value(t.float_value);
      return e;
    }
    if (is_op("(")) {
      next();
      ExprPtr e = parse_tuple(true, {}, true);
      expect_op(")");
      return e;
    }
    if (is_op("[")) {
      next();
      auto e = make(ExprKind::List, line);
      while (!is_op("]")) {
        if (!e->args.empty()) expect_op(",");
        if (is_op("]")) break;
        e->args.push_back(parse_expression(true));
      }
      next();
      return e;
    }
    if (is_op("{")) {
      next();
      auto e = make(ExprKind::Dict, line);
      while (!is_op("}")) {
        if (!e->args.empty()) expect_op(",");
        if (is_op("}")) break;
        e->args.push_back(parse_expression(true));
        expect_op(":");
        e->args.push_back(parse_expression(true));
      }
      next();
      return e;
    }
    error(fmt::format("unexpected {}", describe(t)));
  }

  ExprPtr parse_postfix(ExprPtr e) {
    while (true) {
      if (is_op(".")) {
        int line = next().line;
        if (peek().type == TokenType::Name) {
          auto a = make(ExprKind::GetAttr, line);
          a->name = next().value;
          a->args.push_back(std::move(e));
          e = std::move(a);
        } else if (peek().type == TokenType::Integer) {
          auto a = make(ExprKind::GetItem, line);
          auto idx = make(ExprKind::Literal, line);
          idx->literal = Value(next().int_value);
          a->args.push_back(std::move(e));
          a->args.push_back(std::move(idx));
          e = std::move(a);
        } else {
          error("expected name or number after '.'");
        }
      } else if (is_op("[")) {
        int line = next().line;
        auto a = make(ExprKind::GetItem, line);
        a->args.push_back(std::move(e));
        a->args.push_back(parse_subscript());
        expect_op("]");
        e = std::move(a);
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_subscript() {
    int line = peek().line;
    ExprPtr start;
    if (!is_op(":")) {
      start = parse_expression(true);
      if (!is_op(":")) return start;
    }
    auto s = make(ExprKind::Slice, line);
    next();  // ':'
    ExprPtr stop, step;
    if (!is_op("]") && !is_op(":")) stop = parse_expression(true);
    if (is_op(":")) {
      next();
      if (!is_op("]")) step = parse_expression(true);
    }
    s->args.push_back(std::move(start));
    s->args.push_back(std::move(stop));
    s->args.push_back(std::move(step));
    return s;
  }

  void parse_call_args(Expr& call) {
    expect_op("(");
    bool first = true;
    while (!is_op(")")) {
      if (!first) expect_op(",");
      first = false;
      if (is_op(")")) break;
      if (is_op("*") || is_op("**")) error("*args / **kwargs in calls are not supported");
      if (peek().type == TokenType::Name && is_op("=", 1)) {
        std::string key = next().value;
        next();
        call.kwargs.emplace_back(std::move(key), parse_expression(true));
      } else {
        if (!call.kwargs.empty()) error("positional argument after keyword argument");
        call.args.push_back(parse_expression(true));
      }
    }
    next();
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto c = make(ExprKind::Call, peek().line);
    c->args.push_back(std::move(callee));
    parse_call_args(*c);
    return c;
  }

  std::string parse_dotted_name() {
    std::string n = expect_name();
    while (is_op(".") && peek(1).type == TokenType::Name) {
      next();
      n += "." + next().value;
    }
    return n;
  }

  ExprPtr parse_filter_expr(ExprPtr e) {
    while (true) {
      if (is_op("|")) {
        int line = next().line;
        auto f = make(ExprKind::Filter, line);
        f->name = parse_dotted_name();
        f->args.push_back(std::move(e));
        if (is_op("(")) parse_call_args(*f);
        e = std::move(f);
      } else if (is_name("is")) {
        int line = next().line;
        auto t = make(ExprKind::Test, line);
        if (is_name("not")) {
          next();
          t->negated = true;
        }
        t->name = parse_dotted_name();
        t->args.push_back(std::move(e));
        const Token& a = peek();
        if (is_op("(")) {
          parse_call_args(*t);
        } else if ((a.type == TokenType::Name || a.type == TokenType::String || a.type == TokenType::Integer ||
                    a.type == TokenType::Float || is_op("[") || is_op("{")) &&
                   !is_name("else") && !is_name("or") && !is_name("and")) {
          if (is_name("is")) error("You cannot chain multiple tests with is");
          t->args.push_back(parse_postfix(parse_primary()));
        }
        e = std::move(t);
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  std::vector<Token> toks_;
  size_t pos_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

Body parse_template(std::string_view source) { return Parser(tokenize_template(source)).parse_all(); }

}  // namespace glm::jinja
