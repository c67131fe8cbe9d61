// parsers/tool_call_grammar.h compiled by the `regex` constraint's own engine (sampling/regex_nfa.h,
// regex_dfa.h): which forced tool-call texts are whole matches. The texts are what the GLM templates write
// (chat_template-glm-4.5.jinja / 4.7), and the typed ones mirror what jsonschema accepts.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "parsers/tool_call_grammar.h"
#include "sampling/regex_dfa.h"
#include "sampling/regex_nfa.h"

namespace glm {
namespace {

const parsers::Json kTools = parsers::Json::parse(R"json([
  {"type": "function", "function": {"name": "set_alarm", "parameters": {"type": "object",
    "properties": {"day": {"enum": ["monday", "dark (navy)"]}, "loud": {"type": "boolean"},
                   "minutes": {"type": "integer"}, "ratio": {"type": ["number", "null"]}, "note": {"type": "string"}},
    "required": ["day", "loud"]}}},
  {"type": "function", "function": {"name": "ping", "parameters": {"type": "object", "properties": {}}}}
])json");

struct Grammar {
  std::unique_ptr<sampling::RegexDfa> dfa;
  explicit Grammar(const parsers::ToolCallGrammarOptions& o) {
    const std::string rx = parsers::tool_call_output_regex(parsers::ToolSet::from_openai_tools(kTools), o);
    dfa = std::make_unique<sampling::RegexDfa>(std::make_shared<const sampling::RegexNfa>(sampling::RegexNfa::compile(rx)));
  }
  bool matches(const std::string& text) {
    const int32_t s = dfa->feed(dfa->start(), text);
    return s != sampling::RegexDfa::kDead && dfa->accepting(s);
  }
};

std::string pair45(const std::string& k, const std::string& v) {
  return "<arg_key>" + k + "</arg_key>\n<arg_value>" + v + "</arg_value>\n";
}

TEST(ToolCallGrammar, Glm45AnyToolTypedArgumentsInDeclaredOrder) {
  Grammar g({"glm45", "", "", false});
  const std::string head = "set_alarm\n" + pair45("day", "monday") + pair45("loud", "true");
  EXPECT_TRUE(g.matches(head + "</tool_call>"));
  EXPECT_TRUE(g.matches("set_alarm\n" + pair45("day", "dark (navy)") + pair45("loud", "false") + pair45("minutes", "-12") +
                        pair45("ratio", "null") + pair45("note", "a <b>bold</b> note, x < y") + "</tool_call>"));
  EXPECT_TRUE(g.matches(head + pair45("ratio", "2.5e-3") + "</tool_call>"));
  EXPECT_TRUE(g.matches(head + pair45("note", "ends with </arg_valu") + "</tool_call>"));
  EXPECT_TRUE(g.matches(head + pair45("note", "<<</arg_") + "</tool_call>"));
  EXPECT_TRUE(g.matches("ping\n</tool_call>"));
  EXPECT_TRUE(g.matches("ping\n" + pair45("anything", "{\"a\": [1, 2]}") + "</tool_call>"));

  EXPECT_FALSE(g.matches("set_alarm\n" + pair45("day", "monday") + "</tool_call>"));  // required "loud" missing
  EXPECT_FALSE(g.matches("set_alarm\n" + pair45("loud", "true") + pair45("day", "monday") + "</tool_call>"));  // order
  EXPECT_FALSE(g.matches("set_alarm\n" + pair45("day", "dark navy") + pair45("loud", "true") + "</tool_call>"));
  EXPECT_FALSE(g.matches(head + pair45("minutes", "1.5") + "</tool_call>"));
  EXPECT_FALSE(g.matches(head + pair45("minutes", "007") + "</tool_call>"));
  EXPECT_FALSE(g.matches(head + pair45("loud", "true") + "</tool_call>"));  // a key twice
  EXPECT_FALSE(g.matches(head + pair45("unknown", "1") + "</tool_call>"));
  EXPECT_FALSE(g.matches(head + pair45("note", "a</arg_value>b") + "</tool_call>"));  // its own closing tag
  EXPECT_FALSE(g.matches("set_alarmX\n" + pair45("day", "monday") + pair45("loud", "true") + "</tool_call>"));
  EXPECT_FALSE(g.matches(head + "</tool_call>\n<tool_call>ping\n</tool_call>"));  // parallel_tool_calls false
}

TEST(ToolCallGrammar, PrefilledNameNamedToolAndParallelCalls) {
  // tool_choice naming ping: the prefix holds "<tool_call>ping\n"; more calls may only be ping.
  Grammar named({"glm45", "ping", "ping", true});
  EXPECT_TRUE(named.matches("</tool_call>"));
  EXPECT_TRUE(named.matches("</tool_call>\n<tool_call>ping\n</tool_call>"));
  EXPECT_FALSE(named.matches("</tool_call>\n<tool_call>set_alarm\n" + pair45("day", "monday") + pair45("loud", "true") +
                             "</tool_call>"));
  Grammar any({"glm45", "", "", true});
  EXPECT_TRUE(any.matches("ping\n</tool_call>\n<tool_call>set_alarm\n" + pair45("day", "monday") + pair45("loud", "true") +
                          "</tool_call>"));
}

TEST(ToolCallGrammar, Glm47HasNoNewlines) {
  Grammar g({"glm47", "", "", true});
  EXPECT_TRUE(g.matches("set_alarm<arg_key>day</arg_key><arg_value>monday</arg_value><arg_key>loud</arg_key>"
                        "<arg_value>true</arg_value></tool_call><tool_call>ping</tool_call>"));
  EXPECT_FALSE(g.matches("set_alarm\n" + pair45("day", "monday") + pair45("loud", "true") + "</tool_call>"));
}

}  // namespace
}  // namespace glm
