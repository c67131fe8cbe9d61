#pragma once
// The parsed form of a template: expressions and statements, owned through unique_ptr, immutable
// after parsing so one parsed template can be rendered from many threads at once.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/jinja_value.h"

namespace glm::jinja {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

enum class ExprKind : uint8_t {
  Literal,    // literal
  Name,       // name
  List,       // args = elements
  Tuple,      // args = elements
  Dict,       // args = key0, value0, key1, value1, ...
  GetAttr,    // args[0] . name
  GetItem,    // args[0] [ args[1] ]
  Slice,      // args = start, stop, step (nullptr when omitted); only as GetItem's subscript
  Call,       // args[0] ( args[1..], kwargs )
  Filter,     // name: filter; args[0] = value (nullptr inside a filter block), args[1..] + kwargs
  Test,       // name: test; args[0] = value, args[1..] + kwargs; negated = `is not`
  Unary,      // name: "-", "+", "not"; args[0]
  Binary,     // name: + - * / // % ** ~ and or; args[0], args[1]
  Compare,    // args[0] then (ops[i], args[i+1]) chained: ==, !=, <, <=, >, >=, in, notin
  Conditional,  // args = then, cond, else (else may be nullptr -> Undefined)
};

// Operators, resolved at parse time so evaluation never compares operator strings.
enum class Op : uint8_t {
  None, And, Or, Add, Sub, Mul, Div, FloorDiv, Mod, Pow, Concat,  // Binary
  Eq, Ne, Lt, Le, Gt, Ge, In, NotIn,                               // Compare
  Not, Neg, Pos,                                                   // Unary
};

struct Expr {
  ExprKind kind;
  Op op = Op::None;  // Binary / Unary
  int line = 0;
  std::string name;
  Value literal;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<Op> compare_ops;
  bool negated = false;
};

enum class StmtKind : uint8_t {
  Text,       // text
  Output,     // expr
  If,         // branches: (cond, body)..., else_body
  For,        // targets in expr [if filter]: body, else_body
  Set,        // targets (or ns_target.attr) = expr
  SetBlock,   // targets[0] = rendered body, piped through filter (may be nullptr)
  Macro,      // name(params with defaults): body
  CallBlock,  // {% call name(args) %}body{% endcall %}: expr is the call, body becomes `caller`
  FilterBlock,  // body rendered, then piped through filter (Filter expr with args[0] == nullptr)
  Break,
  Continue,
  Scope,      // with-block / generation-block: body in an inner scope
};

struct MacroParam {
  std::string name;
  ExprPtr default_value;  // nullptr: required
};

struct Stmt {
  StmtKind kind;
  int line = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr filter;  // For: loop filter; SetBlock / FilterBlock: the filter chain
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body;
  Body else_body;
  std::vector<std::string> targets;  // For / Set names; Set on a namespace: {ns, attr} with ns_attr
  bool ns_attr = false;
  std::string name;                        // Macro name
  std::vector<MacroParam> params;          // Macro parameters
  std::vector<std::pair<std::string, ExprPtr>> with_assignments;  // with-block
};

}  // namespace glm::jinja
