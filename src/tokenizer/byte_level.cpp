#include "tokenizer/byte_level.h"

#include "tokenizer/utf8.h"

namespace glm::byte_level {
namespace {

struct Tables {
  std::array<std::string, 256> to_chars;
  std::array<int16_t, 324> from_code_point;  // code points 0..323 cover the whole map; -1 = not mapped
  Tables() {
    from_code_point.fill(-1);
    uint32_t next_extra = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      bool self = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      uint32_t cp = self ? b : next_extra++;
      utf8::append_code_point(cp, to_chars[b]);
      from_code_point[cp] = static_cast<int16_t>(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

const std::array<std::string, 256>& byte_to_chars() { return tables().to_chars; }

void append_mapped(std::string_view bytes, std::string& out) {
  const auto& map = tables().to_chars;
  for (char c : bytes) out += map[static_cast<uint8_t>(c)];
}

std::optional<uint8_t> char_to_byte(uint32_t code_point) {
  const auto& t = tables().from_code_point;
  if (code_point >= t.size() || t[code_point] < 0) return std::nullopt;
  return static_cast<uint8_t>(t[code_point]);
}

bool append_unmapped(std::string_view token, std::string& out) {
  size_t mark = out.size();
  size_t pos = 0;
  while (pos < token.size()) {
    auto b = char_to_byte(utf8::next_code_point(token, pos));
    if (!b) {
      out.resize(mark);
      out.append(token);
      return false;
    }
    out += static_cast<char>(*b);
  }
  return true;
}

}  // namespace glm::byte_level
