#include "tokenizer/utf8.h"

#include "tokenizer/regex.h"

namespace glm::utf8 {
namespace {

// Second-byte range of a multi-byte sequence by lead byte (Unicode Table 3-7); need = 0 marks an
// invalid lead byte.
struct LeadInfo {
  uint8_t need, lo, hi;
};

LeadInfo lead_info(unsigned char b) {
  if (b >= 0xC2 && b <= 0xDF) return {1, 0x80, 0xBF};
  if (b == 0xE0) return {2, 0xA0, 0xBF};
  if (b == 0xED) return {2, 0x80, 0x9F};
  if (b >= 0xE1 && b <= 0xEF) return {2, 0x80, 0xBF};
  if (b == 0xF0) return {3, 0x90, 0xBF};
  if (b >= 0xF1 && b <= 0xF3) return {3, 0x80, 0xBF};
  if (b == 0xF4) return {3, 0x80, 0x8F};
  return {0, 0, 0};
}

}  // namespace

size_t append_lossy(std::string_view bytes, std::string& out, bool final) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  size_t i = 0;
  while (i < n) {
    size_t run = i;  // copy ASCII runs in one go
    while (run < n && p[run] < 0x80) ++run;
    if (run > i) {
      out.append(bytes.data() + i, run - i);
      i = run;
      if (i == n) break;
    }
    LeadInfo info = lead_info(p[i]);
    if (info.need == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    size_t j = i + 1;
    size_t got = 0;
    bool bad = false;
    while (got < info.need) {
      if (j == n) break;
      unsigned char lo = got == 0 ? info.lo : 0x80, hi = got == 0 ? info.hi : 0xBF;
      if (p[j] < lo || p[j] > hi) {
        bad = true;
        break;
      }
      ++j;
      ++got;
    }
    if (got == info.need) {
      out.append(bytes.data() + i, j - i);
    } else if (!bad && !final) {
      return i;  // a valid prefix cut by the end of the input: keep it for later
    } else {
      out += kReplacement;  // the maximal subpart p[i..j) becomes one U+FFFD
    }
    i = j;
  }
  return n;
}

bool is_valid(std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  size_t i = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    LeadInfo info = lead_info(p[i]);
    if (info.need == 0 || n - i - 1 < info.need) return false;
    if (p[i + 1] < info.lo || p[i + 1] > info.hi) return false;
    for (size_t k = 2; k <= info.need; ++k)
      if ((p[i + k] & 0xC0) != 0x80) return false;
    i += info.need + 1;
  }
  return true;
}

uint32_t next_code_point(std::string_view text, size_t& pos) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  unsigned char b = p[pos];
  size_t len = sequence_length(b);
  if (pos + len > text.size()) len = 1;
  uint32_t cp;
  switch (len) {
    case 2: cp = ((b & 0x1Fu) << 6) | (p[pos + 1] & 0x3Fu); break;
    case 3: cp = ((b & 0x0Fu) << 12) | ((p[pos + 1] & 0x3Fu) << 6) | (p[pos + 2] & 0x3Fu); break;
    case 4:
      cp = ((b & 0x07u) << 18) | ((p[pos + 1] & 0x3Fu) << 12) | ((p[pos + 2] & 0x3Fu) << 6) | (p[pos + 3] & 0x3Fu);
      break;
    default: cp = b;
  }
  pos += len;
  return cp;
}

uint32_t prev_code_point(std::string_view text, size_t end, size_t& start) {
  start = end;
  do {
    --start;
  } while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80);
  size_t pos = start;
  return next_code_point(text, pos);
}

void append_code_point(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool is_whitespace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

bool is_alphanumeric(uint32_t cp) {
  if (cp < 0x80) return (cp >= '0' && cp <= '9') || ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z');
  static const Regex alnum(R"(^[\p{Alphabetic}\p{Nd}\p{Nl}\p{No}])", false, "char::is_alphanumeric");
  std::string one;
  append_code_point(cp, one);
  size_t b, e;
  return alnum.find(one, 0, b, e);
}

}  // namespace glm::utf8
