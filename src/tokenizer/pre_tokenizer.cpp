#include "tokenizer/pre_tokenizer.h"

#include <algorithm>

#include "core/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace glm {
namespace {

// The GPT-2 pattern tokenizers' ByteLevel uses when use_regex is true.
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

SplitBehavior parse_behavior(const std::string& s) {
  if (s == "Removed") return SplitBehavior::Removed;
  if (s == "Isolated") return SplitBehavior::Isolated;
  if (s == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (s == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (s == "Contiguous") return SplitBehavior::Contiguous;
  fail(ErrorKind::InvalidModel, "tokenizer.json: unknown Split behavior {:?}", s);
}

// Matches of `regex` over arena[piece] as an alternating (range, is_match) list.
void find_matches(const Regex& regex, std::string_view arena, ByteRange piece, bool invert,
                  std::vector<std::pair<ByteRange, bool>>& matches) {
  matches.clear();
  std::string_view text = arena.substr(piece.begin, piece.end - piece.begin);
  if (text.empty()) {
    matches.push_back({{piece.begin, piece.begin}, false});
    return;
  }
  size_t prev = 0, pos = 0, b, e;
  while (pos <= text.size() && regex.find(text, pos, b, e)) {
    if (prev != b) matches.push_back({{uint32_t(piece.begin + prev), uint32_t(piece.begin + b)}, invert});
    matches.push_back({{uint32_t(piece.begin + b), uint32_t(piece.begin + e)}, !invert});
    prev = e;
    pos = e;
    if (e == b) {  // empty match: step over one character
      if (b == text.size()) break;
      pos += utf8::sequence_length(static_cast<unsigned char>(text[b]));
    }
  }
  if (prev != text.size()) matches.push_back({{uint32_t(piece.begin + prev), piece.end}, invert});
}

}  // namespace

void apply_split_behavior(const std::vector<std::pair<ByteRange, bool>>& matches, SplitBehavior behavior,
                          std::vector<ByteRange>& out) {
  auto push = [&out](ByteRange r) {
    if (r.end > r.begin) out.push_back(r);
  };
  // The merging behaviors fold into a local list first: pieces may grow before they are final.
  thread_local std::vector<ByteRange> acc;
  acc.clear();
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::Removed:
      for (const auto& [r, is_match] : matches)
        if (!is_match) push(r);
      return;
    case SplitBehavior::Isolated:
      for (const auto& [r, is_match] : matches) push(r);
      return;
    case SplitBehavior::MergedWithPrevious:
      for (const auto& [r, is_match] : matches) {
        if (is_match && !previous_match && !acc.empty())
          acc.back().end = r.end;
        else
          acc.push_back(r);
        previous_match = is_match;
      }
      break;
    case SplitBehavior::MergedWithNext:
      for (auto it = matches.rbegin(); it != matches.rend(); ++it) {
        const auto& [r, is_match] = *it;
        if (is_match && !previous_match && !acc.empty())
          acc.back().begin = r.begin;
        else
          acc.push_back(r);
        previous_match = is_match;
      }
      std::reverse(acc.begin(), acc.end());
      break;
    case SplitBehavior::Contiguous:
      for (const auto& [r, is_match] : matches) {
        if (is_match == previous_match && !acc.empty())
          acc.back().end = r.end;
        else
          acc.push_back(r);
        previous_match = is_match;
      }
      break;
  }
  for (ByteRange r : acc) push(r);
}

PreTokenizer PreTokenizer::from_json(const nlohmann::json& json) {
  PreTokenizer p;
  if (!json.is_null()) add_steps(json, p.steps_);
  for (const Step& s : p.steps_) p.byte_level_ |= s.kind == Step::Kind::ByteLevel;
  return p;
}

void PreTokenizer::add_steps(const nlohmann::json& json, std::vector<Step>& steps) {
  std::string type = json.value("type", "");
  if (type == "Sequence") {
    for (const auto& sub : json.at("pretokenizers")) add_steps(sub, steps);
  } else if (type == "Split") {
    const auto& pattern = json.at("pattern");
    bool literal = pattern.contains("String");
    std::string text = literal ? pattern.at("String").get<std::string>() : pattern.at("Regex").get<std::string>();
    steps.push_back({Step::Kind::Split, std::make_shared<Regex>(text, literal, "tokenizer.json pre_tokenizer Split"),
                     parse_behavior(json.at("behavior").get<std::string>()), json.value("invert", false), false});
  } else if (type == "ByteLevel") {
    Step s{Step::Kind::ByteLevel, nullptr, SplitBehavior::Isolated, false, json.value("add_prefix_space", true)};
    if (json.value("use_regex", true)) s.regex = std::make_shared<Regex>(kGpt2Pattern, false, "ByteLevel GPT-2 regex");
    steps.push_back(std::move(s));
  } else if (type == "Digits") {
    bool individual = json.value("individual_digits", false);
    steps.push_back({Step::Kind::Split, std::make_shared<Regex>(individual ? R"(\p{N})" : R"(\p{N}+)", false, "Digits"),
                     SplitBehavior::Isolated, false, false});
  } else if (type == "Whitespace") {
    steps.push_back({Step::Kind::Split, std::make_shared<Regex>(R"(\w+|[^\w\s]+)", false, "Whitespace"),
                     SplitBehavior::Removed, true, false});
  } else if (type == "WhitespaceSplit") {
    steps.push_back({Step::Kind::WhitespaceSplit, nullptr, SplitBehavior::Removed, false, false});
  } else {
    fail(ErrorKind::InvalidModel, "tokenizer.json: pre_tokenizer type {:?} is not supported (supported: Sequence, "
         "Split, ByteLevel, Digits, Whitespace, WhitespaceSplit)", type);
  }
}

void PreTokenizer::apply(const Step& step, std::string& arena, const std::vector<ByteRange>& in,
                         std::vector<ByteRange>& out) const {
  thread_local std::vector<std::pair<ByteRange, bool>> matches;
  thread_local std::vector<ByteRange> pieces;
  out.clear();
  switch (step.kind) {
    case Step::Kind::Split:
      for (ByteRange r : in) {
        find_matches(*step.regex, arena, r, step.invert, matches);
        apply_split_behavior(matches, step.behavior, out);
      }
      break;
    case Step::Kind::WhitespaceSplit:
      for (ByteRange r : in) {
        size_t pos = r.begin, word = r.begin;
        while (pos < r.end) {
          size_t at = pos;
          if (utf8::is_whitespace(utf8::next_code_point(arena, pos))) {
            if (at > word) out.push_back({uint32_t(word), uint32_t(at)});
            word = pos;
          }
        }
        if (r.end > word) out.push_back({uint32_t(word), r.end});
      }
      break;
    case Step::Kind::ByteLevel:
      for (ByteRange r : in) {
        if (step.add_prefix_space && arena[r.begin] != ' ') {
          size_t begin = arena.size();
          arena += ' ';
          arena.append(arena, r.begin, r.end - r.begin);
          r = {uint32_t(begin), uint32_t(arena.size())};
        }
        pieces.clear();
        if (step.regex) {
          find_matches(*step.regex, arena, r, false, matches);
          apply_split_behavior(matches, SplitBehavior::Isolated, pieces);
        } else {
          pieces.push_back(r);
        }
        for (ByteRange p : pieces) {
          size_t begin = arena.size(), len = p.end - p.begin;
          // Mapping reads from the arena while appending to it: make room first so that the
          // read view stays valid (each byte maps to at most 2 bytes).
          if (arena.capacity() < arena.size() + 2 * len) arena.reserve(2 * (arena.size() + 2 * len));
          byte_level::append_mapped(std::string_view(arena).substr(p.begin, len), arena);
          out.push_back({uint32_t(begin), uint32_t(arena.size())});
        }
      }
      break;
  }
}

void PreTokenizer::split(std::string_view text, std::string& arena, std::vector<ByteRange>& words) const {
  arena.clear();
  arena.reserve(text.size() * (byte_level_ ? 4 : 1) + 16);
  arena.append(text);
  words.clear();
  if (!text.empty()) words.push_back({0, uint32_t(text.size())});
  thread_local std::vector<ByteRange> next;
  for (const Step& step : steps_) {
    apply(step, arena, words, next);
    words.swap(next);
  }
}

}  // namespace glm
