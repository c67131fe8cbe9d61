#include "tokenizer/decoder.h"

#include "core/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace glm {
namespace {

// "<0xAB>" -> 0xAB
std::optional<uint8_t> byte_token(const std::string& t) {
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return std::nullopt;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  int hi = hex(t[3]), lo = hex(t[4]);
  if (hi < 0 || lo < 0) return std::nullopt;
  return uint8_t(hi * 16 + lo);
}

std::string replace_all(const std::string& s, const Regex& pattern, const std::string& content) {
  std::string out;
  size_t pos = 0, b, e;
  while (pos < s.size() && pattern.find(s, pos, b, e)) {
    out.append(s, pos, b - pos);
    out += content;
    pos = e > b ? e : b + 1;
    if (e == b) out.append(s, b, 1);
  }
  if (pos < s.size()) out.append(s, pos);
  return out;
}

}  // namespace

TokenDecoder TokenDecoder::from_json(const nlohmann::json& json) {
  TokenDecoder d;
  if (!json.is_null()) add_steps(json, d.steps_);
  return d;
}

void TokenDecoder::add_steps(const nlohmann::json& json, std::vector<Step>& steps) {
  std::string type = json.value("type", "");
  if (type == "Sequence") {
    for (const auto& sub : json.at("decoders")) add_steps(sub, steps);
  } else if (type == "ByteLevel") {
    steps.emplace_back(Step::Kind::ByteLevel);
  } else if (type == "ByteFallback") {
    steps.emplace_back(Step::Kind::ByteFallback);
  } else if (type == "Fuse") {
    steps.emplace_back(Step::Kind::Fuse);
  } else if (type == "Strip") {
    Step s{Step::Kind::Strip, json.at("content").get<std::string>()};
    s.start = json.value("start", size_t{0});
    s.stop = json.value("stop", size_t{0});
    steps.push_back(std::move(s));
  } else if (type == "Replace") {
    const auto& pattern = json.at("pattern");
    bool literal = pattern.contains("String");
    std::string text = literal ? pattern.at("String").get<std::string>() : pattern.at("Regex").get<std::string>();
    Step s{Step::Kind::Replace, json.at("content").get<std::string>()};
    s.pattern = std::make_shared<Regex>(text, literal, "tokenizer.json decoder Replace");
    steps.push_back(std::move(s));
  } else if (type == "Metaspace") {
    Step s{Step::Kind::Metaspace, json.value("replacement", std::string("\xE2\x96\x81"))};
    std::string scheme = json.value("prepend_scheme", std::string(json.value("add_prefix_space", true) ? "always" : "never"));
    s.prepend_first = scheme != "never";
    steps.push_back(std::move(s));
  } else {
    fail(ErrorKind::InvalidModel, "tokenizer.json: decoder type {:?} is not supported", type);
  }
}

std::string TokenDecoder::decode(std::vector<std::string> tokens) const {
  if (steps_.empty()) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  for (const Step& step : steps_) {
    switch (step.kind) {
      case Step::Kind::ByteLevel: {
        std::string bytes;
        for (const auto& t : tokens) byte_level::append_unmapped(t, bytes);
        tokens.assign(1, utf8::to_valid(bytes));
        break;
      }
      case Step::Kind::ByteFallback: {
        std::vector<std::string> out;
        std::string pending;  // bytes of consecutive <0xXX> tokens
        auto flush = [&] {
          if (pending.empty()) return;
          if (utf8::is_valid(pending)) {
            out.push_back(pending);
          } else {
            std::string r;
            for (size_t i = 0; i < pending.size(); ++i) r += utf8::kReplacement;
            out.push_back(r);
          }
          pending.clear();
        };
        for (auto& t : tokens) {
          if (auto b = byte_token(t)) {
            pending += char(*b);
          } else {
            flush();
            out.push_back(std::move(t));
          }
        }
        flush();
        tokens = std::move(out);
        break;
      }
      case Step::Kind::Fuse: {
        std::string all;
        for (const auto& t : tokens) all += t;
        tokens.assign(1, all);
        break;
      }
      case Step::Kind::Strip:
        for (auto& t : tokens) {
          size_t cut_start = 0, cut_end = t.size();
          for (size_t i = 0; i < step.start && t.compare(cut_start, step.content.size(), step.content) == 0 &&
                             cut_start + step.content.size() <= cut_end;
               ++i)
            cut_start += step.content.size();
          for (size_t i = 0; i < step.stop && cut_end >= cut_start + step.content.size() &&
                             t.compare(cut_end - step.content.size(), step.content.size(), step.content) == 0;
               ++i)
            cut_end -= step.content.size();
          t = t.substr(cut_start, cut_end - cut_start);
        }
        break;
      case Step::Kind::Replace:
        for (auto& t : tokens) t = replace_all(t, *step.pattern, step.content);
        break;
      case Step::Kind::Metaspace:
        for (size_t i = 0; i < tokens.size(); ++i) {
          std::string t;
          const std::string& s = tokens[i];
          for (size_t pos = 0; pos < s.size();) {
            if (s.compare(pos, step.content.size(), step.content) == 0) {
              t += ' ';
              pos += step.content.size();
            } else {
              t += s[pos++];
            }
          }
          if (i == 0 && step.prepend_first && !t.empty() && t[0] == ' ') t.erase(0, 1);
          tokens[i] = std::move(t);
        }
        break;
    }
  }
  std::string out;
  for (const auto& t : tokens) out += t;
  return out;
}

}  // namespace glm
