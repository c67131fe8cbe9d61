#include "engine/stop_checker.h"

#include <algorithm>

namespace glm {

StopStringMatcher::StopStringMatcher(const std::vector<std::string>& stops) {
  for (const auto& s : stops)
    if (!s.empty()) stops_.push_back(s);
}

std::optional<StopStringMatcher::Match> StopStringMatcher::find(const std::string& text, size_t from) const {
  std::optional<Match> best;
  for (const auto& s : stops_) {
    size_t pos = text.find(s, from);
    if (pos != std::string::npos && (!best || pos < best->pos)) best = Match{pos, s};
  }
  return best;
}

size_t StopStringMatcher::hold_back(const std::string& text) const {
  size_t hold = 0;
  for (const auto& s : stops_) {
    for (size_t n = std::min(s.size() - 1, text.size()); n > hold; --n) {
      if (text.compare(text.size() - n, n, s, 0, n) == 0) {
        hold = n;
        break;
      }
    }
  }
  return hold;
}

size_t utf8_safe_end(const std::string& text, size_t start, size_t want) {
  size_t end = want;
  while (end > start && end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return end;
}

}  // namespace glm
