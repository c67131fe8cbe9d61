// Schema-aware JSON recognition (json_schema_recognizer.h): types, properties / required /
// additionalProperties, items, enum / const, prefixes accepted and refused; and constrained sampling
// on a small byte vocabulary whose outputs validate against the schema (checked by a separate,
// recursive validator of the same subset).
#include <cmath>
#include <random>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sampling/json_constraint.h"
#include "sampling/json_schema_recognizer.h"
#include "sampling/sampler.h"

namespace glm::sampling {
namespace {

using Json = nlohmann::json;

const Json kPerson = Json::parse(R"({
  "type": "object",
  "properties": {
    "name": {"type": "string"}, "age": {"type": "integer"}, "score": {"type": "number"},
    "tags": {"type": "array", "items": {"type": "string"}},
    "color": {"enum": ["red", "green"]}, "ok": {"type": "boolean"}, "none": {"type": "null"},
    "pet": {"type": "object", "properties": {"kind": {"const": "cat"}}, "required": ["kind"]}
  },
  "required": ["name", "age"]
})");

struct Checker {
  explicit Checker(const Json& schema) : compiled(CompiledSchema::compile(schema)) {}
  bool prefix(std::string_view s) const {
    SchemaJsonRecognizer r(&compiled);
    return r.feed(s);
  }
  bool whole(std::string_view s) const {
    SchemaJsonRecognizer r(&compiled);
    return r.feed(s) && r.complete();
  }
  CompiledSchema compiled;
};

TEST(JsonSchema, ObjectsWithPropertiesAndRequired) {
  Checker c(kPerson);
  for (const char* s : {R"({"name": "x", "age": 3})", R"( {"age": -1, "name": "", "tags": ["a", "b"], "color": "red", "ok": true, "none": null, "score": 1.5e3, "pet": {"kind": "cat"}} )",
                        R"({"tags": [], "name": "\u00e9\"", "age": 0})"})
    EXPECT_TRUE(c.whole(s)) << s;
  for (const char* s : {R"({"name": "x")", R"({"na)", R"({"age": 12, "name": "y", "tags": [)"})
    EXPECT_TRUE(c.prefix(s)) << s;
  for (const char* s : {R"({"nam3)", R"({"e)", R"({"name": 1)", R"({"age": 1.)", R"({"age": 1e)", R"({"age": "1)",
                        R"({"name": "x", "age": 1, "name")", R"({"tags": [1)", R"({"color": "blue)", R"({"color": "re")",
                        R"({"ok": nul)", R"({"none": f)", R"({"pet": {})", R"({"pet": {"kind": "dog)", R"([)", R"("x")",
                        R"({"name": "x", "age": 1, "extra")"})
    EXPECT_FALSE(c.prefix(s)) << s;
  // A key already given is no candidate any more (no dead-end prefix).
  EXPECT_FALSE(c.prefix(R"({"name": "x", "nam)"));
  Checker one(Json::parse(R"({"type": "object", "properties": {"a": {"type": "integer"}}})"));
  EXPECT_TRUE(one.whole(R"({"a": 1})"));
  EXPECT_FALSE(one.prefix(R"({"a": 1,)"));  // no key left to write
  EXPECT_TRUE(c.prefix(R"({"name": "x", "no)"));
  // '}' only once the required keys are there.
  EXPECT_FALSE(c.prefix(R"({"name": "x"})"));
  EXPECT_FALSE(c.prefix(R"({})"));
}

TEST(JsonSchema, AdditionalPropertiesAndFreeParts) {
  Json s = kPerson;
  s["additionalProperties"] = true;
  Checker c(s);
  EXPECT_TRUE(c.whole(R"({"extra": [1, {"a": {"b": []}}], "name": "x", "nam": 2, "age": 1})"));
  EXPECT_FALSE(c.prefix(R"({"name": 1)"));  // declared keys keep their type
  Checker any_object(Json::parse(R"({"type": "object"})"));
  EXPECT_TRUE(any_object.whole(R"({"a": 1, "b": {"c": [true]}})"));
  EXPECT_FALSE(any_object.prefix("["));
  Json big_enum = {{"enum", Json::array()}};
  for (int i = 0; i < 5000; ++i) big_enum["enum"].push_back(i);
  EXPECT_TRUE(Checker(big_enum).whole("[\"free\"]"));  // too many values to enforce: free
  Json many_props = {{"type", "object"}, {"properties", Json::object()}};
  for (int i = 0; i < 65; ++i) many_props["properties"]["p" + std::to_string(i)] = {{"type", "string"}};
  EXPECT_TRUE(Checker(many_props).whole("[1]"));
  Checker unsupported(Json::parse(R"({"allOf": [{"type": "string"}, {"type": "integer"}]})"));
  EXPECT_TRUE(unsupported.whole("[1, \"x\"]"));  // not enforced: free JSON
}

// minLength / maxLength count characters (a UTF-8 sequence or an escape is one); minItems / maxItems.
TEST(JsonSchema, StringLengthsAndArraySizes) {
  Checker s(Json::parse(R"({"type": "string", "minLength": 2, "maxLength": 3})"));
  for (const char* ok : {"\"ab\"", "\"abc\"", "\"é日\"", "\"\\n\\u00e9x\"", "\"a\\\"\""}) EXPECT_TRUE(s.whole(ok)) << ok;
  for (const char* bad : {"\"a\"", "\"\"", "\"abcd", "\"é日本", "\"\\n\\t\\r\\"}) EXPECT_FALSE(s.prefix(bad) && s.whole(bad)) << bad;
  EXPECT_FALSE(s.prefix("\"abcd"));
  EXPECT_FALSE(s.prefix("\"a\""));
  // Well-formed UTF-8 only (else the count would not be the decoded length): stray continuation bytes,
  // a truncated sequence, overlong and surrogate forms are refused.
  for (const char* bad : {"\"a\x80", "\"\xc3\"", "\"\xc0\xaf", "\"\xed\xa0\x80", "\"\xf5"}) EXPECT_FALSE(s.prefix(bad)) << bad;
  EXPECT_TRUE(s.prefix("\"\xe6\x97"));  // half a character so far: fine
  Checker a(Json::parse(R"({"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 2})"));
  for (const char* ok : {"[1]", "[1, 2]", " [ 3 ,4 ] "}) EXPECT_TRUE(a.whole(ok)) << ok;
  for (const char* bad : {"[]", "[1, 2,", "[1,2,3"}) EXPECT_FALSE(a.prefix(bad)) << bad;
  Checker none(Json::parse(R"({"type": "array", "maxItems": 0})"));
  EXPECT_TRUE(none.whole("[]"));
  EXPECT_FALSE(none.prefix("[1"));
  Checker nested(Json::parse(R"({"type": "array", "items": {"type": "array", "maxItems": 1}, "maxItems": 2})"));
  EXPECT_TRUE(nested.whole("[[1], [[2, 3]]]"));  // the inner arrays' own items are free
  EXPECT_FALSE(nested.prefix("[[1, "));
  EXPECT_FALSE(nested.prefix("[[1], [2], "));
}

// Integer bounds, against the definition: a prefix is allowed when some integer in range is written with
// it, a whole number when it is in range. Every digit string up to 4 characters, for several ranges.
TEST(JsonSchema, IntegerBoundsAgainstEveryShortNumber) {
  struct Range { const char* schema; int64_t lo, hi; };
  const Range ranges[] = {
      {R"({"type": "integer", "minimum": 0, "maximum": 100})", 0, 100},
      {R"({"type": "integer", "minimum": -50, "maximum": -3})", -50, -3},
      {R"({"type": "integer", "minimum": 5, "maximum": 5})", 5, 5},
      {R"({"type": "integer", "exclusiveMinimum": -8, "exclusiveMaximum": 13})", -7, 12},
      {R"({"type": "integer", "minimum": 10.5, "maximum": 19.9})", 11, 19},
      {R"({"type": "integer", "minimum": 250})", 250, INT64_MAX},
  };
  std::vector<std::string> texts = {"", "-"};
  for (size_t i = 0; i < texts.size() && texts.size() < 20000; ++i)
    if (texts[i].size() < 4)
      for (char d = '0'; d <= '9'; ++d) texts.push_back(texts[i] + d);
  for (const Range& r : ranges) {
    Checker c(Json::parse(r.schema));
    std::set<std::string> prefixes;  // of every integer in range (within the test's window)
    for (int64_t v = std::max<int64_t>(r.lo, -100000); v <= std::min<int64_t>(r.hi, 100000); ++v) {
      const std::string s = std::to_string(v);
      for (size_t k = 1; k <= s.size(); ++k) prefixes.insert(s.substr(0, k));
    }
    for (const std::string& t : texts) {
      const bool negative = !t.empty() && t[0] == '-';
      const std::string digits = negative ? t.substr(1) : t;
      if (digits.empty() || (digits[0] == '0' && digits.size() > 1) || t.rfind("-0", 0) == 0) continue;  // not JSON / "-0"
      bool viable = prefixes.count(t) > 0;
      if (r.hi == INT64_MAX && !negative && digits[0] != '0') viable = true;  // large enough numbers exist
      const int64_t value = std::stoll(t);
      EXPECT_EQ(c.prefix(t), viable) << r.schema << " prefix " << t;
      EXPECT_EQ(c.whole(t), value >= r.lo && value <= r.hi) << r.schema << " whole " << t;
      EXPECT_EQ(c.whole("[" + t + "]"), false);
    }
  }
  Checker in_object(Json::parse(R"({"type": "object", "properties": {"n": {"type": "integer", "maximum": 9}}})"));
  EXPECT_TRUE(in_object.whole(R"({"n": 9})"));
  EXPECT_FALSE(in_object.prefix(R"({"n": 10)"));
  EXPECT_TRUE(in_object.whole(R"({"n": -4})"));
}

// pattern: searched in the decoded string (escapes resolved), anchored only by ^ / $; unsupported syntax
// (a lookahead) leaves the string free.
TEST(JsonSchema, StringPatterns) {
  Checker anchored(Json::parse(R"({"type": "string", "pattern": "^[A-Z]{2}-[0-9]+$"})"));
  for (const char* ok : {"\"AB-1\"", "\"ZZ-0042\""}) EXPECT_TRUE(anchored.whole(ok)) << ok;
  EXPECT_FALSE(anchored.prefix("\"\\u0041"));  // \u escapes: refused under a pattern
  EXPECT_FALSE(anchored.prefix("\"\\"));       // no one-letter escape can start it
  for (const char* bad : {"\"a", "\"AB-\"", "\"AB-1x", "\"ABC"}) EXPECT_FALSE(anchored.prefix(bad) && anchored.whole(bad)) << bad;
  EXPECT_FALSE(anchored.prefix("\"AB-1x"));
  EXPECT_FALSE(anchored.prefix("\"a"));
  Checker search(Json::parse(R"({"type": "string", "pattern": "[0-9]{3}"})"));
  for (const char* ok : {"\"abc123def\"", "\"123\"", "\"x\\n456\""}) EXPECT_TRUE(search.whole(ok)) << ok;
  EXPECT_FALSE(search.whole("\"12x34\""));
  EXPECT_TRUE(search.prefix("\"12x34"));  // a match may still come
  Checker escaped(Json::parse(R"({"type": "string", "pattern": "^a\nb$"})"));
  EXPECT_TRUE(escaped.whole("\"a\\nb\""));
  EXPECT_FALSE(escaped.prefix("\"a\\t"));
  Checker unicode(Json::parse(R"({"type": "string", "pattern": "^é+$"})"));
  EXPECT_TRUE(unicode.whole("\"éé\""));
  Checker slash(Json::parse(R"({"type": "string", "pattern": "^a/b$"})"));
  EXPECT_TRUE(slash.whole("\"a\\/b\""));  // an escaped slash is a slash
  Checker unsupported(Json::parse(R"j({"type": "string", "pattern": "a(?=b)"})j"));
  EXPECT_TRUE(unsupported.whole("\"anything\""));
  // Many large patterns: the first ones are enforced, those past the shared state budget are free.
  Json big = {{"type", "object"}, {"properties", Json::object()}};
  for (int i = 0; i < 6; ++i) big["properties"]["p" + std::to_string(i)] = {{"type", "string"}, {"pattern", "^(a{1000}){30}$"}};
  Checker budget(big);
  EXPECT_FALSE(budget.prefix(R"({"p0": "b)"));  // within the budget: enforced
  EXPECT_TRUE(budget.prefix(R"({"p5": "b)"));   // past it: free
  Checker with_length(Json::parse(R"({"type": "string", "pattern": "^[a-c]*$", "maxLength": 2})"));
  EXPECT_TRUE(with_length.whole("\"ab\""));
  EXPECT_FALSE(with_length.prefix("\"abc"));
  EXPECT_FALSE(with_length.prefix("\"ad"));
}

// anyOf / oneOf / type lists: the alternative is the one the first byte allows; Optional[X] as Pydantic
// writes it (anyOf [X, null] with a default beside).
TEST(JsonSchema, UnionsChosenByTheFirstByte) {
  Checker optional(Json::parse(R"({"anyOf": [{"type": "string"}, {"type": "null"}], "default": null})"));
  for (const char* s : {"\"a\"", "null"}) EXPECT_TRUE(optional.whole(s)) << s;
  for (const char* s : {"1", "tr", "[", "{"}) EXPECT_FALSE(optional.prefix(s)) << s;
  Checker listed(Json::parse(R"({"type": ["integer", "boolean"]})"));
  for (const char* s : {"-3", "true", "false"}) EXPECT_TRUE(listed.whole(s)) << s;
  for (const char* s : {"1.5", "\"", "n"}) EXPECT_FALSE(listed.prefix(s)) << s;
  Checker in_object(Json::parse(R"({"type": "object", "properties": {"n": {"oneOf": [{"type": "array",
      "items": {"type": "integer"}}, {"enum": ["x", "y"]}]}}, "required": ["n"]})"));
  for (const char* s : {R"({"n": [1, 2]})", R"({"n": "y"})"}) EXPECT_TRUE(in_object.whole(s)) << s;
  for (const char* s : {R"({"n": ["a)", R"({"n": "z)", R"({"n": 1)"}) EXPECT_FALSE(in_object.prefix(s)) << s;
  // Two objects (or integer and number) cannot be told apart by one byte: that value is free.
  Checker two_objects(Json::parse(R"({"anyOf": [{"type": "object", "properties": {"a": {"type": "integer"}}},
                                                {"type": "object", "properties": {"b": {"type": "string"}}}]})"));
  EXPECT_TRUE(two_objects.whole(R"({"zzz": [true]})"));
  EXPECT_FALSE(two_objects.prefix("\""));  // but it is still one of the alternatives' types
  Checker with_any(Json::parse(R"({"anyOf": [{"type": "string"}, {}]})"));
  EXPECT_TRUE(with_any.whole("[1]"));
}

// $ref to the document ("#") and under it ($defs, definitions), as Pydantic writes nested and
// recursive models: the referenced schemas are enforced, recursion included.
TEST(JsonSchema, LocalReferencesAndRecursion) {
  Checker pydantic(Json::parse(R"({
    "$defs": {
      "Pet": {"type": "object", "properties": {"kind": {"enum": ["cat", "dog"]}}, "required": ["kind"]},
      "Person": {"type": "object", "properties": {"name": {"type": "string"},
                 "pet": {"anyOf": [{"$ref": "#/$defs/Pet"}, {"type": "null"}], "default": null}}, "required": ["name"]}
    },
    "type": "object",
    "properties": {"owner": {"$ref": "#/$defs/Person"}, "pets": {"type": "array", "items": {"$ref": "#/$defs/Pet"}}},
    "required": ["owner"]})"));
  for (const char* s : {R"({"owner": {"name": "a", "pet": {"kind": "cat"}}, "pets": [{"kind": "dog"}]})",
                        R"({"owner": {"name": "b", "pet": null}})"})
    EXPECT_TRUE(pydantic.whole(s)) << s;
  for (const char* s : {R"({"owner": {"name": 1)", R"({"owner": {"name": "a", "pet": {"kind": "cow)",
                        R"({"owner": {"name": "a", "pet": 3)", R"({"pets": [{"kind": "x)", R"({"owner": {}})"})
    EXPECT_FALSE(pydantic.prefix(s)) << s;
  Checker tree(Json::parse(R"({"type": "object", "properties": {"v": {"type": "integer"},
      "kids": {"type": "array", "items": {"$ref": "#"}}}, "required": ["v"]})"));
  EXPECT_TRUE(tree.whole(R"({"v": 1, "kids": [{"v": 2, "kids": [{"v": 3}]}, {"v": 4}]})"));
  EXPECT_FALSE(tree.prefix(R"({"v": 1, "kids": [{"v": 2, "kids": [{"v": "x)"));
  EXPECT_FALSE(tree.prefix(R"({"v": 1, "kids": [{"kids": []})"));  // a nested node without its required v
  Checker wrapped(Json::parse(R"({"$defs": {"N": {"type": "integer"}}, "type": "object", "properties": {"n":
      {"allOf": [{"$ref": "#/$defs/N"}], "description": "a number"}}})"));
  EXPECT_TRUE(wrapped.whole(R"({"n": 3})"));
  EXPECT_FALSE(wrapped.prefix(R"({"n": "x)"));
  Checker legacy(Json::parse(R"({"definitions": {"N": {"type": "integer"}}, "type": "array", "items": {"$ref": "#/definitions/N"}})"));
  EXPECT_TRUE(legacy.whole("[1, 2]"));
  EXPECT_FALSE(legacy.prefix("[\""));
  Checker dangling(Json::parse(R"({"type": "array", "items": {"$ref": "#/$defs/Missing"}})"));
  EXPECT_TRUE(dangling.whole("[\"free\", 1]"));
  Checker remote(Json::parse(R"({"$ref": "https://example.com/schema.json"})"));
  EXPECT_TRUE(remote.whole("{\"a\": 1}"));
}

TEST(JsonSchema, EnumsAndConsts) {
  Checker c(Json::parse(R"({"enum": [1, 12, "a", null, {"k": [1, 2]}, -0.5]})"));
  for (const char* s : {"1", "12", "\"a\"", "null", "{\"k\":[1,2]}", "-0.5", " 12 "}) EXPECT_TRUE(c.whole(s)) << s;
  for (const char* s : {"123", "2", "\"b", "{\"k\": [", "-0.6", "nu l"}) EXPECT_FALSE(c.prefix(s)) << s;
  EXPECT_FALSE(c.whole("-0."));
  Checker in_array(Json::parse(R"({"type": "array", "items": {"enum": [10, 20]}})"));
  EXPECT_TRUE(in_array.whole("[10, 20,10]"));
  EXPECT_FALSE(in_array.prefix("[10, 2]"));
  EXPECT_FALSE(in_array.prefix("[100"));
}

TEST(JsonSchema, NestedArraysOfObjects) {
  Checker c(Json::parse(R"({"type": "array", "items": {"type": "object", "properties": {"id": {"type": "integer"},
                             "sub": {"type": "array", "items": {"type": "boolean"}}}, "required": ["id"]}})"));
  EXPECT_TRUE(c.whole(R"([{"id": 1}, {"id": 2, "sub": [true, false]}, {"sub": [], "id": -3}])"));
  EXPECT_FALSE(c.prefix("[{}"));
  EXPECT_FALSE(c.prefix(R"([{"id": 1, "sub": [1)"));
  EXPECT_FALSE(c.prefix(R"([{"id": 1}, 2)"));
}

// Independent validator of the enforced subset (recursive, on parsed values).
bool validates(const Json& v, const Json& s) {
  if (!s.is_object()) return true;
  if (s.contains("const")) return v == s["const"];
  if (s.contains("enum")) return std::find(s["enum"].begin(), s["enum"].end(), v) != s["enum"].end();
  std::string type = s.value("type", std::string());
  if (type == "object") {
    if (!v.is_object()) return false;
    const Json props = s.value("properties", Json::object());
    for (const auto& r : s.value("required", Json::array()))
      if (!v.contains(r.get<std::string>())) return false;
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (props.contains(it.key())) {
        if (!validates(it.value(), props[it.key()])) return false;
      } else if (!props.empty() && !s.value("additionalProperties", false)) {
        return false;
      }
    }
    return true;
  }
  if (type == "array") {
    if (!v.is_array()) return false;
    for (const auto& e : v)
      if (s.contains("items") && !validates(e, s["items"])) return false;
    return true;
  }
  if (type == "string") return v.is_string();
  if (type == "integer") return v.is_number_integer();
  if (type == "number") return v.is_number();
  if (type == "boolean") return v.is_boolean();
  if (type == "null") return v.is_null();
  return true;
}

// The trie walk and its fast paths give exactly the tokens a byte-by-byte check allows, in every
// state a random walk reaches (keys being matched, enums, free keys under additionalProperties).
TEST(JsonSchema, MaskEqualsBruteForce) {
  std::vector<std::optional<std::string>> bytes;
  for (int b = 0; b < 256; ++b) bytes.push_back(std::string(1, char(b)));
  for (const char* t : {"{\"", "\":", "\": \"", "\"}", "\",", "\", \"", "true", "null", "12", "0.5", "name", "\"name\"",
                        "age", "ags", "color", "red\"", "\"red\"", "gre", "pet", "\"kind\": \"cat\"}", "[\"", "}}", "extra",
                        "owner", "pets", "dog", "null}", "kids", "\"v\": "})
    bytes.push_back(std::string(t));
  const int32_t eos = int32_t(bytes.size());
  bytes.push_back(std::string("<eos>"));
  auto trie = std::make_shared<TokenTrie>(bytes, std::vector<int32_t>{eos});
  // kPerson without and with additional properties; unions and references (a recursive tree of owners).
  const Json refs = Json::parse(R"({"$defs": {"Pet": {"type": "object", "properties": {"kind": {"enum": ["cat", "dog"]}},
      "required": ["kind"]}}, "type": "object", "properties": {"name": {"type": ["string", "null"], "maxLength": 3, "minLength": 1},
      "pet": {"anyOf": [{"$ref": "#/$defs/Pet"}, {"type": "null"}]},
      "pets": {"type": "array", "items": {"$ref": "#/$defs/Pet"}, "minItems": 1, "maxItems": 2},
      "tag": {"type": "string", "pattern": "^(na|ag)+e?$"},
      "kids": {"type": "array", "items": {"$ref": "#"}}, "v": {"oneOf": [{"type": "integer", "minimum": -3, "maximum": 12}, {"type": "boolean"}]}},
      "required": ["name"]})");
  for (int variant = 0; variant < 3; ++variant) {
    Json schema = variant == 2 ? refs : kPerson;
    if (variant < 2) schema["additionalProperties"] = variant == 1;
    auto compiled = std::make_shared<const CompiledSchema>(CompiledSchema::compile(schema));
    std::mt19937 rng(uint32_t(5 + variant));
    for (int run = 0; run < 20; ++run) {
      JsonConstraint c(trie, {JsonRoot::Object, compiled, {eos}, -1});
      std::vector<int32_t> out;
      std::string text;
      for (int step = 0; step < 40; ++step) {
        std::vector<float> row(bytes.size(), 1.0f);
        c.apply(row, out);
        std::vector<int32_t> ids, expect;
        for (size_t i = 0; i < bytes.size(); ++i)
          if (std::isfinite(row[i])) ids.push_back(int32_t(i));
        for (size_t i = 0; i + 1 < bytes.size(); ++i) {
          SchemaJsonRecognizer r(compiled.get(), JsonRoot::Object);
          if (r.feed(text + *bytes[i])) expect.push_back(int32_t(i));
        }
        SchemaJsonRecognizer whole(compiled.get(), JsonRoot::Object);
        if (whole.feed(text) && whole.complete()) expect.push_back(eos);
        ASSERT_EQ(ids, expect) << text;
        ASSERT_FALSE(ids.empty()) << text;
        const int32_t pick = ids[rng() % ids.size()];
        if (pick == eos) break;
        out.push_back(pick);
        text += *bytes[size_t(pick)];
      }
    }
  }
}

TEST(JsonSchema, SampledOutputsValidate) {
  std::vector<std::optional<std::string>> bytes;
  for (int b = 0; b < 128; ++b) bytes.push_back(std::string(1, char(b)));  // ASCII only: nlohmann must parse it
  for (const char* t : {"{\"", "\":", "\": \"", "\"}", "\",", "\", \"", "true", "false", "null", "12", "0.5", "name",
                        "age", "tags", "color", "red", "green", "pet", "kind", "cat", "\"]", "[\"", "}}", "\n"})
    bytes.push_back(std::string(t));
  const int32_t eos = int32_t(bytes.size());
  bytes.push_back(std::string("<eos>"));
  auto trie = std::make_shared<TokenTrie>(bytes, std::vector<int32_t>{eos});
  auto schema = std::make_shared<const CompiledSchema>(CompiledSchema::compile(kPerson));
  int finished = 0;
  for (uint64_t seed = 0; seed < 60; ++seed) {
    SamplingConfig cfg;
    cfg.seed = seed;
    Sampler sampler(cfg, bytes.size());
    sampler.set_constraint(std::make_unique<JsonConstraint>(trie, JsonConstraintOptions{JsonRoot::Object, schema, {eos}, -1}));
    std::mt19937 rng{static_cast<uint32_t>(seed)};
    std::normal_distribution<float> logit(0.0f, 2.0f);
    std::vector<int32_t> out;
    std::string text;
    for (int step = 0; step < 300; ++step) {
      std::vector<float> row(bytes.size());
      for (auto& x : row) x = logit(rng);
      row[size_t(eos)] += 6.0f;
      for (int b = 'a'; b <= 'z'; ++b) row[size_t(b)] -= 2.0f;  // keep strings short
      row[size_t('"')] += 2.0f;
      const int32_t t = sampler.sample(row, {}, out).token_id;
      if (t == eos) {
        Json v;
        ASSERT_NO_THROW(v = Json::parse(text)) << text;
        EXPECT_TRUE(validates(v, kPerson)) << text;
        ++finished;
        break;
      }
      out.push_back(t);
      text += *bytes[size_t(t)];
    }
  }
  EXPECT_GT(finished, 20);
}

}  // namespace
}  // namespace glm::sampling
