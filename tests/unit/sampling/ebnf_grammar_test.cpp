// The `ebnf` parameter against xgrammar (the library SGLang hands it to): for every grammar (regular and
// recursive) and string of data/ebnf_cases.json (data/make_ebnf_cases.py), whether the string can still
// become a sentence of the root rule and whether it is one, read off the lazy DFA over the compiled
// grammar (sampling/ebnf_grammar.h). Left-recursive grammars are refused by design.
#include "sampling/ebnf_grammar.h"

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

TEST(EbnfGrammar, AgreesWithXgrammarOnEveryString) {
  const nlohmann::json data = oracle();
  int strings = 0;
  for (const auto& c : data["cases"]) {
    const std::string name = c["name"], grammar = c["grammar"];
    std::shared_ptr<const RegexNfa> nfa;
    ASSERT_NO_THROW(nfa = std::make_shared<const RegexNfa>(compile_ebnf(grammar))) << name;
    RegexDfa dfa(nfa);
    for (const auto& row : c["strings"]) {
      const std::string s = row["s"];
      const int32_t state = dfa.feed(dfa.start(), s);
      EXPECT_EQ(state != RegexDfa::kDead, row["viable"].get<bool>()) << name << ": viable \"" << s << "\"";
      EXPECT_EQ(state != RegexDfa::kDead && dfa.accepting(state), row["complete"].get<bool>())
          << name << ": complete \"" << s << "\"";
      ++strings;
    }
  }
  EXPECT_GT(strings, 1500);
}

TEST(EbnfGrammar, RefusesLeftRecursionAndUnsupportedSyntaxNamingIt) {
  const nlohmann::json data = oracle();
  for (const auto& c : data["refused"]) {
    try {
      compile_ebnf(c["grammar"].get<std::string>());
      ADD_FAILURE() << c["name"] << ": accepted";
    } catch (const GlmError& e) {
      EXPECT_NE(std::string(e.what()).find("left-recursive"), std::string::npos) << e.what();
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
      {"root ::= \"\\U000F0001\"", "plane 15"},
  };
  for (const auto& [grammar, why] : bad) {
    try {
      compile_ebnf(grammar);
      ADD_FAILURE() << grammar << ": accepted";
    } catch (const GlmError& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << grammar << " -> " << e.what();
      EXPECT_EQ(std::string(e.what()).rfind("ebnf: ", 0), 0u) << e.what();
    }
  }
}

TEST(EbnfGrammar, DeepNestingIsRefusedBeforeItCouldExhaustTheStack) {
  EXPECT_THROW(compile_ebnf("root ::= " + std::string(100000, '(') + "\"a\"" + std::string(100000, ')')), GlmError);
  std::string chain = "root ::= r0\n";
  for (int i = 0; i < 100000; ++i) chain += "r" + std::to_string(i) + " ::= r" + std::to_string(i + 1) + "\n";
  chain += "r100000 ::= \"a\"\n";
  EXPECT_THROW(compile_ebnf(chain), GlmError);  // too many rules
}

// llama.cpp's GBNF `.`: any one character (a code point: newline and multi-byte ones included).
TEST(EbnfGrammar, DotIsAnyCharacterAsInLlamaCpp) {
  RegexDfa dfa(std::make_shared<const RegexNfa>(compile_ebnf("root ::= \"a\" . \"b\" | \"<\" .* \">\"")));
  for (const char* ok : {"axb", "a\nb", "a\xc3\xa9" "b", "a\xf0\x9f\x98\x80" "b", "<>", "<x>y>"})
    EXPECT_TRUE(dfa.accepting(dfa.feed(dfa.start(), ok))) << ok;
  for (const char* bad : {"ab", "axxb", "a\xc3" "b"}) EXPECT_FALSE(dfa.accepting(dfa.feed(dfa.start(), bad))) << bad;
}

// A rule used twice by each next one is compiled once (calls, not copies): 2^30 paths, 31 small NFAs.
TEST(EbnfGrammar, SharedRulesAreCompiledOnce) {
  std::string g = "r0 ::= \"ab\"\n";
  for (int i = 1; i <= 30; ++i) g += "r" + std::to_string(i) + " ::= r" + std::to_string(i - 1) + " r" + std::to_string(i - 1) + "\n";
  g += "root ::= \"<\" r3 \">\"\n";
  const RegexNfa nfa = compile_ebnf(g);
  EXPECT_LT(nfa.states.size(), 1000u);
  RegexDfa dfa(std::make_shared<const RegexNfa>(nfa));
  EXPECT_TRUE(dfa.accepting(dfa.feed(dfa.start(), "<abababababababab>")));  // r3 = 8 x "ab"
  EXPECT_FALSE(dfa.accepting(dfa.feed(dfa.start(), "<abababababababab")));
  EXPECT_EQ(dfa.feed(dfa.start(), "<ababababababababab"), RegexDfa::kDead);
}

// Nesting deeper than the call stack follows is simply not allowed (the output can still close).
TEST(EbnfGrammar, NestingBeyondTheStackLimitIsRefusedNotCrashed) {
  RegexDfa dfa(std::make_shared<const RegexNfa>(compile_ebnf("root ::= \"(\" root \")\" | \"x\"")));
  const std::string open(RegexDfa::kMaxStackDepth - 1, '(');
  EXPECT_NE(dfa.feed(dfa.start(), open + "x" + std::string(open.size(), ')')), RegexDfa::kDead);
  EXPECT_EQ(dfa.feed(dfa.start(), std::string(RegexDfa::kMaxStackDepth + 2, '(')), RegexDfa::kDead);
}

}  // namespace
}  // namespace glm::sampling
