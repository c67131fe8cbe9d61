#pragma once
// The subset of Python's ast.literal_eval that SGLang's tool-argument fallback can reach
// (glm4_moe_detector.parse_arguments strategy 3): str literals ('…', "…", triple-quoted, r-prefixed,
// implicit concatenation), int (incl. 0x/0o/0b and '_'), float, True/False/None, unary +/-, lists,
// tuples (→ JSON arrays) and dicts (non-string keys converted the way json.dumps converts them).
// Anything json.dumps could not serialise (sets, bytes, complex) counts as a failure, so the caller
// falls through to the next strategy. Nothing is ever executed.
#include <optional>
#include <string_view>

#include "parsers/python_json.h"

namespace glm::parsers {

std::optional<Json> python_literal_eval(std::string_view text);

}  // namespace glm::parsers
