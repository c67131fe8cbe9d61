#pragma once
// Stop conditions of one request on its decoded text: stop strings (trimmed unless no_stop_trim), and
// how much text must be held back because it could still be the start of a stop string.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace glm {

class StopStringMatcher {
 public:
  StopStringMatcher() = default;
  explicit StopStringMatcher(const std::vector<std::string>& stops);

  struct Match {
    size_t pos;          // byte offset of the stop string in the text
    std::string stop;
  };
  // First stop string occurring in text at or after byte `from` (the text already sent cannot hold a
  // stop string that ends later, since hold_back() bytes are never sent early).
  std::optional<Match> find(const std::string& text, size_t from) const;
  // How many trailing bytes of `text` may still start a stop string (the longest suffix of the text
  // that is a proper prefix of some stop string).
  size_t hold_back(const std::string& text) const;

 private:
  std::vector<std::string> stops_;
};

// Largest end <= `want` not splitting a UTF-8 sequence of text (events never cut a character).
size_t utf8_safe_end(const std::string& text, size_t start, size_t want);

}  // namespace glm
