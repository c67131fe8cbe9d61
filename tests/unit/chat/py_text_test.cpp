// Python text semantics. Expected strings are CPython 3.11 outputs (repr(float), str methods).
#include <gtest/gtest.h>

#include "chat/jinja_value.h"
#include "chat/py_text.h"

namespace glm::jinja {
namespace {

TEST(PyText, FloatReprMatchesCPython) {
  const std::pair<double, const char*> cases[] = {
      {0.1, "0.1"}, {1e-05, "1e-05"}, {1e16, "1e+16"}, {1e15, "1000000000000000.0"},
      {123456789.125, "123456789.125"}, {5e-324, "5e-324"}, {1.7976931348623157e308, "1.7976931348623157e+308"},
      {0.30000000000000004, "0.30000000000000004"}, {-2.5e-7, "-2.5e-07"}, {100.0, "100.0"}};
  for (const auto& [v, want] : cases) EXPECT_EQ(py_float_repr(v), want);
}

TEST(PyText, StripSplitOnCodePoints) {
  std::string chars = "ab";
  EXPECT_EQ(py_strip("ab\xe5\x8c\x97\xe4\xba\xac" "ba", &chars, true, true), "\xe5\x8c\x97\xe4\xba\xac");  // 'ab北京ba'.strip('ab')
  EXPECT_EQ(py_strip("\xe3\x80\x80x\xc2\xa0", nullptr, true, true), "x");  // U+3000 and U+00A0 are whitespace
  auto parts = py_split("  a  b ", nullptr, -1);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[1], "b");
  std::string comma = ",";
  EXPECT_EQ(py_split("a,b,,c", &comma, 1).size(), 2u);
}

TEST(PyText, JsonDumpsDefaultsAndEnsureAscii) {
  Value v = Value::from_json(nlohmann::ordered_json::parse(R"({"b": [1, 2.0, null, true], "a": "\u00e9\ud83d\ude42\u0001"})"));
  JsonDumpOptions o;
  EXPECT_EQ(py_json_dumps(v, o), "{\"b\": [1, 2.0, null, true], \"a\": \"\xc3\xa9\xf0\x9f\x99\x82\\u0001\"}");
  o.ensure_ascii = true;
  o.sort_keys = true;
  EXPECT_EQ(py_json_dumps(v, o), "{\"a\": \"\\u00e9\\ud83d\\ude42\\u0001\", \"b\": [1, 2.0, null, true]}");
}

}  // namespace
}  // namespace glm::jinja
