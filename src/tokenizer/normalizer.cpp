#include "tokenizer/normalizer.h"

#include <unicode/normalizer2.h>
#include <unicode/unistr.h>
#include <unicode/locid.h>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace glm {
namespace {

const icu::Normalizer2* unicode_form(const std::string& type) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = nullptr;
  if (type == "NFC") n = icu::Normalizer2::getNFCInstance(status);
  else if (type == "NFD") n = icu::Normalizer2::getNFDInstance(status);
  else if (type == "NFKC") n = icu::Normalizer2::getNFKCInstance(status);
  else if (type == "NFKD") n = icu::Normalizer2::getNFKDInstance(status);
  else return nullptr;
  if (U_FAILURE(status)) fail(ErrorKind::Internal, "ICU: cannot load the {} normalizer: {}", type, u_errorName(status));
  return n;
}

}  // namespace

Normalizer Normalizer::from_json(const nlohmann::json& json) {
  Normalizer n;
  if (!json.is_null()) add_steps(json, n.steps_);
  return n;
}

void Normalizer::add_steps(const nlohmann::json& json, std::vector<Step>& steps) {
  std::string type = json.value("type", "");
  if (type == "Sequence") {
    for (const auto& sub : json.at("normalizers")) add_steps(sub, steps);
  } else if (type == "Replace") {
    const auto& pattern = json.at("pattern");
    bool literal = pattern.contains("String");
    std::string text = literal ? pattern.at("String").get<std::string>() : pattern.at("Regex").get<std::string>();
    steps.push_back({Step::Kind::Replace, std::make_shared<Regex>(text, literal, "tokenizer.json normalizer Replace"),
                     json.at("content").get<std::string>()});
  } else if (type == "Prepend") {
    steps.push_back({Step::Kind::Prepend, nullptr, json.at("prepend").get<std::string>()});
  } else if (type == "Strip") {
    if (json.value("strip_left", false)) steps.push_back({Step::Kind::StripLeft, nullptr, {}});
    if (json.value("strip_right", false)) steps.push_back({Step::Kind::StripRight, nullptr, {}});
  } else if (const icu::Normalizer2* form = unicode_form(type)) {
    steps.push_back({Step::Kind::Unicode, nullptr, {}, form});
  } else if (type == "Lowercase") {
    steps.push_back({Step::Kind::Lowercase, nullptr, {}});
  } else {
    // BertNormalizer, StripAccents, Precompiled (SentencePiece tables) are not used by byte-level BPE
    // models; GLM's tokenizer has no normalizer at all.
    fail(ErrorKind::InvalidModel, "tokenizer.json: normalizer type {:?} is not supported (supported: "
         "Sequence, Replace, Prepend, Strip, NFC, NFD, NFKC, NFKD, Lowercase)", type);
  }
}

std::string Normalizer::normalize(std::string_view text) const {
  std::string cur(text), next;
  for (const Step& step : steps_) {
    switch (step.kind) {
      case Step::Kind::Replace: {
        next.clear();
        size_t pos = 0, b, e;
        while (pos <= cur.size() && step.pattern->find(cur, pos, b, e)) {
          next.append(cur, pos, b - pos);
          next += step.content;
          if (e == b) {  // empty match: keep one character and move on
            if (b == cur.size()) {
              pos = b;
              break;
            }
            size_t len = utf8::sequence_length(static_cast<unsigned char>(cur[b]));
            next.append(cur, b, len);
            e = b + len;
          }
          pos = e;
        }
        if (pos < cur.size()) next.append(cur, pos);
        cur.swap(next);
        break;
      }
      case Step::Kind::Unicode: {
        // Invalid UTF-8 never reaches here: the tokenizer repairs input to U+FFFD first.
        UErrorCode status = U_ZERO_ERROR;
        icu::UnicodeString u = icu::UnicodeString::fromUTF8(cur);
        icu::UnicodeString out = static_cast<const icu::Normalizer2*>(step.unicode_form)->normalize(u, status);
        if (U_FAILURE(status)) fail(ErrorKind::InvalidArgument, "Unicode normalization failed: {}", u_errorName(status));
        cur.clear();
        out.toUTF8String(cur);
        break;
      }
      case Step::Kind::Lowercase: {
        // Full Unicode lowercase mapping without locale tailoring, as Rust's str::to_lowercase.
        icu::UnicodeString u = icu::UnicodeString::fromUTF8(cur);
        u.toLower(icu::Locale::getRoot());
        cur.clear();
        u.toUTF8String(cur);
        break;
      }
      case Step::Kind::Prepend:
        if (!cur.empty()) cur.insert(0, step.content);
        break;
      case Step::Kind::StripLeft: {
        size_t pos = 0, start = 0;
        while (pos < cur.size()) {
          if (!utf8::is_whitespace(utf8::next_code_point(cur, pos))) break;
          start = pos;
        }
        cur.erase(0, start);
        break;
      }
      case Step::Kind::StripRight: {
        size_t end = cur.size();
        while (end > 0) {
          size_t start;
          if (!utf8::is_whitespace(utf8::prev_code_point(cur, end, start))) break;
          end = start;
        }
        cur.resize(end);
        break;
      }
    }
  }
  return cur;
}

}  // namespace glm
