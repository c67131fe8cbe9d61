// The `ebnf` parameter against xgrammar (the library SGLang hands it to): for every grammar and string of
// data/ebnf_cases.json (data/make_ebnf_cases.py), whether the string can still become a sentence of the
// root rule and whether it is one, read off the regex DFA our translation builds. Recursive grammars,
// which xgrammar accepts, are refused here by design (sampling/ebnf_regex.h).
#include "sampling/ebnf_regex.h"

#include <gtest/gtest.h>

#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "sampling/regex_dfa.h"
#include "sampling/regex_nfa.h"

namespace glm::sampling {
namespace {

nlohmann::json oracle() {
  std::ifstream f(std::string(GLM_SOURCE_DIR) + "/tests/unit/sampling/data/ebnf_cases.json");
  return nlohmann::json::parse(f);
}

TEST(EbnfRegex, AgreesWithXgrammarOnEveryString) {
  const nlohmann::json data = oracle();
  int strings = 0;
  for (const auto& c : data["cases"]) {
    const std::string name = c["name"], grammar = c["grammar"];
    std::string pattern;
    ASSERT_NO_THROW(pattern = ebnf_to_regex(grammar)) << name;
    RegexDfa dfa(std::make_shared<const RegexNfa>(RegexNfa::compile(pattern)));
    for (const auto& row : c["strings"]) {
      const std::string s = row["s"];
      const int32_t state = dfa.feed(dfa.start(), s);
      EXPECT_EQ(state != RegexDfa::kDead, row["viable"].get<bool>()) << name << ": viable \"" << s << "\"";
      EXPECT_EQ(state != RegexDfa::kDead && dfa.accepting(state), row["complete"].get<bool>())
          << name << ": complete \"" << s << "\"";
      ++strings;
    }
  }
  EXPECT_GT(strings, 1000);
}

TEST(EbnfRegex, RefusesRecursionAndOtherUnsupportedSyntaxNamingIt) {
  const nlohmann::json data = oracle();
  for (const auto& c : data["refused"]) {
    try {
      ebnf_to_regex(c["grammar"].get<std::string>());
      ADD_FAILURE() << c["name"] << ": accepted";
    } catch (const GlmError& e) {
      EXPECT_NE(std::string(e.what()).find("refers to itself"), std::string::npos) << e.what();
    }
  }
  const std::pair<const char*, const char*> bad[] = {
      {"item ::= \"a\"", "no 'root' rule"},
      {"root ::= x", "'x' is used but not defined"},
      {"root ::= \"a\" (= \"b\")", "lookahead"},
      {"root ::= \"a", "unterminated string"},
      {"root ::= [z-a]", "bad range"},
      {"root ::= \"a\"{,3}", "lower bound"},
      {"root ::= \"a\" )", "unbalanced"},
      {"root ::= \"a\"\nroot ::= \"b\"", "defined twice"},
      {"root := \"a\"", "expected ::="},
  };
  for (const auto& [grammar, why] : bad) {
    try {
      ebnf_to_regex(grammar);
      ADD_FAILURE() << grammar << ": accepted";
    } catch (const GlmError& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << grammar << " -> " << e.what();
      EXPECT_EQ(std::string(e.what()).rfind("ebnf: ", 0), 0u) << e.what();
    }
  }
}

TEST(EbnfRegex, DeepNestingIsRefusedBeforeItCouldExhaustTheStack) {
  EXPECT_THROW(ebnf_to_regex("root ::= " + std::string(100000, '(') + "\"a\"" + std::string(100000, ')')), GlmError);
  std::string chain = "root ::= r0\n";
  for (int i = 0; i < 100000; ++i) chain += "r" + std::to_string(i) + " ::= r" + std::to_string(i + 1) + "\n";
  chain += "r100000 ::= \"a\"\n";
  EXPECT_THROW(ebnf_to_regex(chain), GlmError);
  EXPECT_NO_THROW(ebnf_to_regex("root ::= " + std::string(50, '(') + "\"a\"" + std::string(50, ')')));
}

TEST(EbnfRegex, ExponentialInliningIsRefusedNotBuilt) {
  // Each rule uses the previous one twice: 2^30 copies if inlined.
  std::string g = "r0 ::= \"ab\"\n";
  for (int i = 1; i <= 30; ++i) g += "r" + std::to_string(i) + " ::= r" + std::to_string(i - 1) + " r" + std::to_string(i - 1) + "\n";
  g += "root ::= r30\n";
  EXPECT_THROW(ebnf_to_regex(g), GlmError);
}

}  // namespace
}  // namespace glm::sampling
