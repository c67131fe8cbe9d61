#pragma once
// The `ebnf` sampling parameter (SGLang hands it to xgrammar): a grammar in xgrammar's / GBNF's EBNF whose
// `root` rule the whole output must match. Each rule compiles to an NFA (regex_nfa.h) in which a
// reference to another rule is a call that returns after it; regex_dfa.h runs that NFA with a call stack
// per item, so recursive grammars (nested brackets, JSON-like values, expressions) are enforced, up to
// RegexDfa::kMaxStackDepth nested calls, through the regex constraint (regex_constraint.h).
//
// Syntax: `name ::= alternatives` rules (names [A-Za-z0-9_.-]+; a rule ends where the next `name ::=`
// starts), `#` comments, "string" literals (escapes \n \r \t \\ \" \' \xHH \uHHHH \UHHHHHHHH), character
// classes [a-z0-9_] / [^...] (same escapes, \] \- \^ too), rule references, ( ... ) groups, | alternation,
// postfix * + ? {m} {m,} {m,n}, and llama.cpp's `.` (any character; llama.cpp users send their GBNF as
// `grammar`, an alias). Characters are Unicode code points, as in xgrammar.
// Refused with GlmError(InvalidArgument) naming the problem: left recursion (a rule that can call itself
// before reading text: write it as a repetition), lookahead assertions `(= ...)`, xgrammar's builtin tags
// and macros, plane-15 private-use characters, syntax errors, more than 1000 rules or 100000 NFA states.
#include <string_view>

#include "sampling/regex_nfa.h"

namespace glm::sampling {

RegexNfa compile_ebnf(std::string_view grammar);

}  // namespace glm::sampling
