#pragma once
// Locating GLM tool-call markup in text, with the match semantics of SGLang's Python regexes
// (non-greedy, DOTALL, findall scanning), so that malformed text splits the same way.
//
//   <tool_call>NAME\n<arg_key>K</arg_key>\n<arg_value>V</arg_value>\n</tool_call>    (GLM-4.5/4.6)
//   <tool_call>NAME<arg_key>K</arg_key><arg_value>V</arg_value></tool_call>          (GLM-4.7)
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace glm::parsers::markup {

inline constexpr std::string_view kToolCallStart = "<tool_call>";
inline constexpr std::string_view kToolCallEnd = "</tool_call>";
inline constexpr std::string_view kArgKeyStart = "<arg_key>";
inline constexpr std::string_view kArgKeyEnd = "</arg_key>";
inline constexpr std::string_view kArgValueStart = "<arg_value>";
inline constexpr std::string_view kArgValueEnd = "</arg_value>";

// One `<tool_call>.*?</tool_call>` match: [begin, end) is the whole block, inner excludes the tags.
struct ToolCallBlock {
  size_t begin = 0;
  size_t end = 0;
  std::string_view inner;
};

// re.findall(r"<tool_call>.*?</tool_call>", text, re.DOTALL)
std::vector<ToolCallBlock> find_tool_call_blocks(std::string_view text);

// re.findall(r"<arg_key>(.*?)</arg_key>(?:\\n|\s)*<arg_value>(.*?)</arg_value>", body, re.DOTALL):
// (raw key, raw value) pairs; keys are not stripped here.
std::vector<std::pair<std::string_view, std::string_view>> find_argument_pairs(std::string_view body);

// Position and length of the first name terminator of the glm45 format: a real "\n" or the two
// characters backslash-n; npos when there is none.
std::pair<size_t, size_t> find_glm45_name_end(std::string_view text);

// Length of the longest proper suffix of `text` that is a prefix of `tag` (text that must be held
// back because the tag may be completed by the next chunk).
size_t partial_tag_suffix(std::string_view text, std::string_view tag);

}  // namespace glm::parsers::markup
