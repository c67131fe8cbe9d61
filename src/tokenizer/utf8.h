#pragma once
// UTF-8 helpers with the exact semantics of the Rust code in Hugging Face `tokenizers`:
// lossy decoding replaces each maximal invalid subpart with U+FFFD (String::from_utf8_lossy,
// the same rule as Python's bytes.decode("utf-8", "replace")), and the character classes are
// Rust's char::is_whitespace / char::is_alphanumeric.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace glm::utf8 {

inline constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

bool is_valid(std::string_view bytes);

// Appends the lossy decoding of `bytes` to `out` and returns how many bytes were consumed. With
// `final == false` a trailing sequence that is incomplete but could still become valid is left
// unconsumed (the caller keeps it for the next call); with `final == true` everything is consumed.
size_t append_lossy(std::string_view bytes, std::string& out, bool final);

inline std::string to_valid(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  append_lossy(bytes, out, true);
  return out;
}

// Length of the (valid) UTF-8 sequence starting with lead byte `b`; 1 for stray bytes.
inline size_t sequence_length(unsigned char b) {
  return b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : b < 0xF8 ? 4 : 1;
}

// Decodes the code point at text[pos] of valid UTF-8; advances pos.
uint32_t next_code_point(std::string_view text, size_t& pos);
// The code point ending just before text[end] of valid UTF-8; returns its start offset in `start`.
uint32_t prev_code_point(std::string_view text, size_t end, size_t& start);

void append_code_point(uint32_t cp, std::string& out);

bool is_whitespace(uint32_t cp);    // Rust char::is_whitespace (White_Space property)
bool is_alphanumeric(uint32_t cp);  // Rust char::is_alphanumeric (Alphabetic or Nd/Nl/No)

}  // namespace glm::utf8
