#include "sampling/pickle_scan.h"

namespace glm::sampling {

namespace {

class PickleWalker {
 public:
  explicit PickleWalker(std::string_view b) : b_(b) {}

  std::optional<PickleStrings> run() {
    PickleStrings out;
    while (pos_ < b_.size()) {
      const auto op = static_cast<uint8_t>(b_[pos_++]);
      switch (op) {
        case 0x2e: return out;  // STOP
        // No argument.
        case 0x28: case 0x29: case 0x30: case 0x31: case 0x32: case 0x4e: case 0x51: case 0x52:
        case 0x5d: case 0x61: case 0x62: case 0x64: case 0x65: case 0x6c: case 0x6f: case 0x73:
        case 0x74: case 0x75: case 0x7d: case 0x81: case 0x85: case 0x86: case 0x87: case 0x88:
        case 0x89: case 0x8f: case 0x90: case 0x91: case 0x92: case 0x93: case 0x94: case 0x97:
        case 0x98:
          break;
        case 0x80:  // PROTO
          if (!need(1)) return std::nullopt;
          out.protocol = static_cast<uint8_t>(b_[pos_]);
          pos_ += 1;
          break;
        // Fixed-size arguments.
        case 0x4b: case 0x68: case 0x71: case 0x82: if (!skip(1)) return std::nullopt; break;
        case 0x4d: case 0x83: if (!skip(2)) return std::nullopt; break;
        case 0x4a: case 0x6a: case 0x72: case 0x84: if (!skip(4)) return std::nullopt; break;
        case 0x47: case 0x95: if (!skip(8)) return std::nullopt; break;
        // Length-prefixed data.
        case 0x8a: { auto n = length(1); if (!n || !skip(*n)) return std::nullopt; break; }  // LONG1
        case 0x8b: { auto n = length(4); if (!n || !skip(*n)) return std::nullopt; break; }  // LONG4
        case 0x43: { auto n = length(1); if (!n || !skip(*n)) return std::nullopt; break; }  // SHORT_BINBYTES
        case 0x42: { auto n = length(4); if (!n || !skip(*n)) return std::nullopt; break; }  // BINBYTES
        case 0x8e: case 0x96: { auto n = length(8); if (!n || !skip(*n)) return std::nullopt; break; }
        case 0x8c: case 0x55: { if (!string_arg(1, out)) return std::nullopt; break; }  // SHORT_BINUNICODE/STRING
        case 0x58: case 0x54: { if (!string_arg(4, out)) return std::nullopt; break; }  // BINUNICODE/BINSTRING
        case 0x8d: { if (!string_arg(8, out)) return std::nullopt; break; }             // BINUNICODE8
        // Newline-terminated text arguments.
        case 0x63: case 0x69: {  // GLOBAL, INST: "module\nname\n"
          auto module = line();
          auto name = line();
          if (!module || !name) return std::nullopt;
          out.strings.push_back(std::move(*module));
          out.strings.push_back(std::move(*name));
          break;
        }
        case 0x56: case 0x53: {  // UNICODE, STRING
          auto text = line();
          if (!text) return std::nullopt;
          out.strings.push_back(std::move(*text));
          break;
        }
        case 0x49: case 0x4c: case 0x46: case 0x50: case 0x67: case 0x70:
          if (!line()) return std::nullopt;
          break;
        default:
          return std::nullopt;
      }
    }
    return std::nullopt;  // no STOP
  }

 private:
  std::string_view b_;
  size_t pos_ = 0;

  bool need(size_t n) const { return b_.size() - pos_ >= n; }
  bool skip(uint64_t n) {
    if (n > b_.size() - pos_) return false;
    pos_ += static_cast<size_t>(n);
    return true;
  }
  std::optional<uint64_t> length(int width) {
    if (!need(static_cast<size_t>(width))) return std::nullopt;
    uint64_t v = 0;
    for (int i = width - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b_[pos_ + static_cast<size_t>(i)]);
    pos_ += static_cast<size_t>(width);
    return v;
  }
  bool string_arg(int width, PickleStrings& out) {
    auto n = length(width);
    if (!n || *n > b_.size() - pos_) return false;
    out.strings.emplace_back(b_.substr(pos_, static_cast<size_t>(*n)));
    pos_ += static_cast<size_t>(*n);
    return true;
  }
  std::optional<std::string> line() {
    size_t end = b_.find('\n', pos_);
    if (end == std::string_view::npos) return std::nullopt;
    std::string text(b_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return text;
  }
};

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<PickleStrings> scan_pickle_strings(std::string_view bytes) { return PickleWalker(bytes).run(); }

std::optional<std::string> decode_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

}  // namespace glm::sampling
