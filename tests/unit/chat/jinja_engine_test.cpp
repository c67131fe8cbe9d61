// Jinja engine unit tests. Expected strings are Python jinja2 3.1.6 outputs for the same templates
// (rendered with transformers' settings: trim_blocks, lstrip_blocks, loopcontrols); the exhaustive
// comparisons against live jinja2 are in tests/python/test_chat_template_*.py.
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "chat/jinja_error.h"
#include "chat/jinja_lexer.h"
#include "chat/jinja_template.h"

namespace glm::jinja {
namespace {

std::string render(const std::string& src, const nlohmann::ordered_json& ctx = nlohmann::ordered_json::object()) {
  return Template::parse(src).render_json(ctx);
}

TEST(JinjaLexer, SplitsTextAndTags) {
  auto toks = tokenize_template("a{{ x.y }}b{% if z %}c{% endif %}");
  ASSERT_GE(toks.size(), 10u);
  EXPECT_EQ(toks[0].type, TokenType::Text);
  EXPECT_EQ(toks[0].value, "a");
  EXPECT_EQ(toks[1].type, TokenType::VarBegin);
  EXPECT_EQ(toks[2].type, TokenType::Name);
  EXPECT_EQ(toks[3].type, TokenType::Operator);
  EXPECT_EQ(toks[3].value, ".");
  EXPECT_EQ(toks[5].type, TokenType::VarEnd);
  EXPECT_EQ(toks.back().type, TokenType::End);
}

TEST(JinjaLexer, TrimAndLstripBlocks) {
  EXPECT_EQ(render("  {% if true %}\n  x\n  {% endif %}\n"), "  x\n");
  EXPECT_EQ(render("a {{- \" b \" -}} c"), "a b c");
}

TEST(JinjaLexer, StringEscapesAndNumbers) {
  auto toks = tokenize_template("{{ 'a\\n\\'b' 1_000 2.5e-3 }}");
  EXPECT_EQ(toks[1].value, "a\n'b");
  EXPECT_EQ(toks[2].type, TokenType::Integer);
  EXPECT_EQ(toks[2].int_value, 1000);
  EXPECT_EQ(toks[3].type, TokenType::Float);
  EXPECT_DOUBLE_EQ(toks[3].float_value, 2.5e-3);
}

TEST(JinjaParser, OperatorPrecedenceLikeJinja2) {
  // ** is left-associative in jinja2 and unary minus binds tighter: -2 ** 2 == 4.
  EXPECT_EQ(render("{{ 1 + 2 * 3 ** 2 }}|{{ not 1 == 2 }}|{{ -2 ** 2 }}|{{ 2 - 1 - 1 }}|{{ 1 ~ 2 * 3 }}"),
            "19|True|4|0|16");
}

TEST(JinjaParser, SyntaxErrorsAreTemplateErrorsWithLine) {
  for (const char* bad : {"{% if %}", "{% for x in y %}", "{{ 1 + }}", "x\n{% bogus %}", "{{ 'open }}", "{# open"}) {
    try {
      Template::parse(bad);
      ADD_FAILURE() << "parsed: " << bad;
    } catch (const GlmError& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Template) << bad;
      EXPECT_NE(std::string(e.what()).find("line"), std::string::npos) << e.what();
    }
  }
}

TEST(JinjaInterpreter, SetInsideLoopDoesNotLeak) {
  EXPECT_EQ(render("{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{% endfor %}{{ x }}"), "1");
}

TEST(JinjaInterpreter, MacroDefaultsSeeEarlierParameters) {
  EXPECT_EQ(render("{% macro m(a, b=a ~ \"!\") %}{{ b }}{% endmacro %}{{ m(\"hi\") }}"), "hi!");
}

TEST(JinjaInterpreter, PythonReprOfFloats) {
  EXPECT_EQ(render("{{ [0.1, 1e-05, 1e+16, 1e16, 123.0, -0.0] }}"), "[0.1, 1e-05, 1e+16, 1e+16, 123.0, -0.0]");
}

TEST(JinjaInterpreter, TojsonIsTransformersJsonDumps) {
  EXPECT_EQ(render("{{ {\"a\": [1, {\"b\": none}], \"\xc3\xa9\": \"\xc3\xbc\\n\"} | tojson }}"),
            "{\"a\": [1, {\"b\": null}], \"\xc3\xa9\": \"\xc3\xbc\\n\"}");
}

TEST(JinjaInterpreter, UndefinedAttributeOfDefinedObjectIsFalsy) {
  EXPECT_EQ(render("{{ x.y is defined }}{{ x.y }}", {{"x", nlohmann::ordered_json::object()}}), "False");
}

TEST(JinjaInterpreter, RuntimeErrorsCarryTheLine) {
  try {
    render("line1\n{% if true %}\n{{ 1 + 'a' }}\n{% endif %}");
    FAIL();
  } catch (const GlmError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Template);
    EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
  }
}

TEST(JinjaInterpreter, RaiseExceptionMessageIsKept) {
  try {
    render("{{ raise_exception('Conversation roles must alternate') }}");
    FAIL();
  } catch (const GlmError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Template);
    EXPECT_STREQ(e.what(), "Conversation roles must alternate");
  }
}

TEST(JinjaInterpreter, GuardsAgainstRunawayTemplates) {
  EXPECT_THROW(render("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"), GlmError);  // recursion
  EXPECT_THROW(render("{{ range(1000000)|length }}"), GlmError);                       // sandbox MAX_RANGE
  RenderLimits small;
  small.max_output_bytes = 1000;
  auto t = Template::parse("{% for i in range(1000) %}xxxxxxxxxx{{ i }}{% endfor %}");
  EXPECT_THROW(t.render({}, small), GlmError);
  std::string deep(5000, '(');
  EXPECT_THROW(Template::parse("{{ " + deep + " }}"), GlmError);  // parser nesting
}

TEST(JinjaInterpreter, SandboxRefusesMutation) {
  EXPECT_THROW(render("{% set l = [1] %}{{ l.append(2) }}"), GlmError);
  EXPECT_THROW(render("{% set ns = namespace() %}{% set ns._x = 1 %}"), GlmError);
}

TEST(JinjaInterpreter, TemplateIsReusableAcrossRenders) {
  auto t = Template::parse("{% set ns = namespace(n=0) %}{% for m in xs %}{% set ns.n = ns.n + m %}{% endfor %}{{ ns.n }}");
  EXPECT_EQ(t.render_json({{"xs", {1, 2, 3}}}), "6");
  EXPECT_EQ(t.render_json({{"xs", {4}}}), "4");
}

TEST(JinjaInterpreter, ConcurrentRendersOfOneTemplate) {
  auto t = Template::parse(
      "{% macro f(x) %}{{ x|upper }}{% endmacro %}{% for m in xs %}{{ f(m) }}{{ loop.index }}{% endfor %}");
  nlohmann::ordered_json ctx = {{"xs", {"a", "b", "c"}}};
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i)
        if (t.render_json(ctx) != "A1B2C3") ++wrong;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace glm::jinja
