#pragma once
// Reads the names a Python pickle refers to WITHOUT executing anything: walks the opcode stream
// (protocols 0-5) and collects every string argument (GLOBAL / INST module and name lines,
// (SHORT_)BINUNICODE, BINUNICODE8, UNICODE, (SHORT_)BINSTRING, STRING). Used to recognise which SGLang
// logit-processor class a `Processor.to_str()` payload (dill pickle of the class) names.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace glm::sampling {

struct PickleStrings {
  std::vector<std::string> strings;  // in stream order; GLOBAL contributes "module" and "name"
  int protocol = 0;                  // from PROTO, 0 if absent
};

// nullopt when the bytes are not a well-formed pickle (unknown opcode, truncated argument, no STOP).
std::optional<PickleStrings> scan_pickle_strings(std::string_view bytes);

// Hex text ("80049531...") -> bytes; nullopt on odd length or a non-hex character.
std::optional<std::string> decode_hex(std::string_view hex);

}  // namespace glm::sampling
