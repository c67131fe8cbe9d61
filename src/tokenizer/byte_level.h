#pragma once
// GPT-2's byte <-> printable-character map used by byte-level BPE (ByteLevel pre-tokenizer and
// decoder): bytes 0x21-0x7E, 0xA1-0xAC and 0xAE-0xFF stand for themselves; the other 68 bytes map
// to U+0100.. in byte order (so ' ' = 'Ġ' U+0120, '\n' = 'Ċ' U+010A).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace glm::byte_level {

// The UTF-8 encoding of the character standing for each byte.
const std::array<std::string, 256>& byte_to_chars();

// Appends the mapped form of `bytes` to `out`.
void append_mapped(std::string_view bytes, std::string& out);

// The byte a mapped character stands for, or nullopt for characters outside the map.
std::optional<uint8_t> char_to_byte(uint32_t code_point);

// Unmaps `token` (valid UTF-8) to `out` if every character is in the map; otherwise appends the
// token's own bytes (what tokenizers' ByteLevel decoder does) and returns false.
bool append_unmapped(std::string_view token, std::string& out);

}  // namespace glm::byte_level
