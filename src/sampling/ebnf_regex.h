#pragma once
// The `ebnf` sampling parameter (SGLang hands it to xgrammar): a grammar in xgrammar's / GBNF's EBNF whose
// `root` rule the whole output must match. glmserve enforces the grammars that are regular, which is what
// constrained outputs mostly need (choices, formats, lists, key-value lines): the rules are inlined into
// one regular expression run by the regex constraint (regex_nfa.h, regex_dfa.h). A rule that refers to
// itself, directly or through others (nested brackets, arithmetic), cannot be inlined and is refused with
// GlmError(InvalidArgument) naming the rule, like every other unsupported construct.
//
// Syntax: `name ::= alternatives` rules (names [A-Za-z0-9_.-]+; a rule ends where the next `name ::=`
// starts), `#` comments, "string" literals (escapes \n \r \t \\ \" \' \xHH \uHHHH \UHHHHHHHH), character
// classes [a-z0-9_] / [^...] (same escapes, \] \- \^ too), rule references, ( ... ) groups, | alternation,
// postfix * + ? {m} {m,} {m,n}. Refused: lookahead assertions `(= ...)`, xgrammar's builtin tags and
// macros, anything else. Characters are Unicode code points, as in xgrammar.
#include <string>
#include <string_view>

namespace glm::sampling {

// The regular expression (regex_nfa.h syntax, full match) of the grammar's root rule.
std::string ebnf_to_regex(std::string_view grammar);

}  // namespace glm::sampling
