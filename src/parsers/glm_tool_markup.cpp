#include "parsers/glm_tool_markup.h"

#include "parsers/python_json.h"

namespace glm::parsers::markup {

std::vector<ToolCallBlock> find_tool_call_blocks(std::string_view text) {
  std::vector<ToolCallBlock> blocks;
  size_t pos = 0;
  while (true) {
    size_t start = text.find(kToolCallStart, pos);
    if (start == std::string_view::npos) break;
    size_t inner_begin = start + kToolCallStart.size();
    size_t stop = text.find(kToolCallEnd, inner_begin);
    if (stop == std::string_view::npos) break;  // no later start can match either
    blocks.push_back({start, stop + kToolCallEnd.size(), text.substr(inner_begin, stop - inner_begin)});
    pos = stop + kToolCallEnd.size();
  }
  return blocks;
}

std::vector<std::pair<std::string_view, std::string_view>> find_argument_pairs(std::string_view body) {
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  size_t pos = 0;
  while (true) {
    size_t start = body.find(kArgKeyStart, pos);
    if (start == std::string_view::npos) break;
    size_t key_begin = start + kArgKeyStart.size();
    bool matched = false;
    bool hopeless = false;
    // The key is non-greedy: try each later "</arg_key>" until the rest of the pattern matches.
    for (size_t key_end = body.find(kArgKeyEnd, key_begin); key_end != std::string_view::npos;
         key_end = body.find(kArgKeyEnd, key_end + 1)) {
      size_t p = key_end + kArgKeyEnd.size();
      while (p < body.size()) {
        if (body.substr(p, 2) == "\\n") { p += 2; continue; }
        size_t q = p;
        if (python_is_space(decode_utf8(body, q))) { p = q; continue; }
        break;
      }
      if (body.substr(p, kArgValueStart.size()) != kArgValueStart) continue;
      size_t value_begin = p + kArgValueStart.size();
      size_t value_end = body.find(kArgValueEnd, value_begin);
      if (value_end == std::string_view::npos) { hopeless = true; break; }
      pairs.emplace_back(body.substr(key_begin, key_end - key_begin),
                         body.substr(value_begin, value_end - value_begin));
      pos = value_end + kArgValueEnd.size();
      matched = true;
      break;
    }
    if (hopeless) break;
    if (!matched) pos = start + 1;
  }
  return pairs;
}

std::pair<size_t, size_t> find_glm45_name_end(std::string_view text) {
  size_t real = text.find('\n');
  size_t literal = text.find("\\n");
  if (literal != std::string_view::npos && (real == std::string_view::npos || literal < real)) return {literal, 2};
  if (real != std::string_view::npos) return {real, 1};
  return {std::string_view::npos, 0};
}

size_t partial_tag_suffix(std::string_view text, std::string_view tag) {
  size_t longest = std::min(text.size(), tag.size() - 1);
  for (size_t k = longest; k > 0; --k)
    if (text.substr(text.size() - k) == tag.substr(0, k)) return k;
  return 0;
}

}  // namespace glm::parsers::markup
