// Streaming vs non-streaming tool parsing on every input of the SGLang oracle corpus and of
// parser-cases.json, under many chunkings (1-character chunks included); then a fuzzer that mutates
// those inputs and checks that nothing throws and every streamed argument string is valid JSON.
#include <fstream>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "parsers/glm_tool_markup.h"
#include "parsers/tool_call_parser.h"
#include "parsers/tool_content_stream.h"

namespace glm::parsers {
namespace {

struct Streamed {
  std::string normal_text;
  std::vector<std::string> names;
  std::vector<std::string> arguments;  // per tool index
};

std::vector<std::string> chunk(const std::string& text, std::mt19937& rng, int mode) {
  std::vector<std::string> out;
  if (mode == 0) return {text};
  std::uniform_int_distribution<size_t> size(1, mode == 1 ? 1 : 9);
  for (size_t i = 0; i < text.size();) {
    size_t n = std::min(size(rng), text.size() - i);
    out.push_back(text.substr(i, n));
    i += n;
  }
  return out;
}

Streamed stream(ToolCallParser& parser, const std::vector<std::string>& chunks) {
  Streamed s;
  auto take = [&](const ToolStreamDelta& d) {
    s.normal_text += d.normal_text;
    for (const auto& c : d.calls) {
      if (static_cast<size_t>(c.index) >= s.arguments.size()) s.arguments.resize(static_cast<size_t>(c.index) + 1);
      if (c.name) s.names.push_back(*c.name);
      s.arguments[static_cast<size_t>(c.index)] += c.arguments;
    }
  };
  for (const auto& c : chunks) take(parser.push(c));
  take(parser.finish());
  return s;
}

struct Corpus {
  ToolSet tools;
  std::vector<std::pair<std::string, std::string>> inputs;  // (parser, text)
};

Corpus load_corpus() {
  Corpus corpus;
  std::ifstream in(std::string(GLM_SOURCE_DIR) + "/tests/unit/parsers/data/sglang_oracle.json");
  if (!in) return corpus;
  auto oracle = nlohmann::json::parse(in);
  corpus.tools = ToolSet::from_openai_tools(oracle["tools"]);
  for (const auto& c : oracle["tool_cases"]) corpus.inputs.emplace_back(c["parser"], c["input"]);
  std::ifstream cases_in(std::string(GLM_SHARED_DIR) + "/spec/parser-cases.json");
  if (cases_in) {
    for (const auto& c : nlohmann::json::parse(cases_in)) {
      std::string p = c["parser"];
      if ((p == "glm45" || p == "glm47") && c["input"].is_string()) {
        corpus.inputs.emplace_back(p, c["input"]);
        ToolSet case_tools = ToolSet::from_openai_tools(c["tools"]);
        for (const auto& t : case_tools.tools())
          if (!corpus.tools.find(t.name)) corpus.tools.add(t);
      }
    }
  }
  return corpus;
}

// Inputs whose markup is broken in a way that streaming cannot know about in time: a </tool_call>
// inside an unterminated value (the key and part of the value were already sent).
bool value_cut_by_end_tag(const std::string& text) {
  size_t open = text.rfind("<arg_value>");
  size_t close = text.rfind("</arg_value>");
  size_t end = text.rfind("</tool_call>");
  return open != std::string::npos && end != std::string::npos && open < end &&
         (close == std::string::npos || close < open);
}

// A key given twice in one call: parse() keeps one (a Python dict), streaming already sent both.
bool has_duplicate_key(const std::string& text) {
  for (const auto& block : markup::find_tool_call_blocks(text)) {
    std::vector<std::string> keys;
    for (const auto& [k, v] : markup::find_argument_pairs(block.inner)) {
      std::string key(python_strip(k));
      if (std::find(keys.begin(), keys.end(), key) != keys.end()) return true;
      keys.push_back(key);
    }
  }
  return false;
}

std::string without_end_tags(std::string text) {
  for (size_t p; (p = text.find("</tool_call>")) != std::string::npos;) text.erase(p, 12);
  return text;
}

TEST(StreamingEquivalence, ConcatenatedFragmentsEqualNonStreamingArguments) {
  Corpus corpus = load_corpus();
  ASSERT_GT(corpus.inputs.size(), 250u);
  ToolParserOptions forward;
  forward.forward_unknown_tools = true;  // streaming never filters names, so compare like with like
  std::mt19937 rng(7);
  size_t compared = 0;
  for (const auto& [parser_name, text] : corpus.inputs) {
    if (value_cut_by_end_tag(text) || has_duplicate_key(text)) continue;
    auto reference = make_tool_call_parser(parser_name, corpus.tools, forward)->parse(text);
    for (int mode : {0, 1, 2, 2, 2}) {
      auto chunks = chunk(text, rng, mode);
      auto parser = make_tool_call_parser(parser_name, corpus.tools, forward);
      Streamed s = stream(*parser, chunks);
      SCOPED_TRACE(parser_name + " mode " + std::to_string(mode) + ": " + nlohmann::json(text).dump());
      ASSERT_EQ(s.names.size(), reference.calls.size());
      ASSERT_EQ(s.arguments.size(), reference.calls.size());
      for (size_t i = 0; i < reference.calls.size(); ++i) {
        EXPECT_EQ(s.names[i], std::string(python_strip(reference.calls[i].name)));  // streaming strips names
        EXPECT_EQ(s.arguments[i], reference.calls[i].arguments);
      }
      // Streaming drops stray "</tool_call>" from normal text (as SGLang's streaming does).
      if (parser_name == "glm47") {
        EXPECT_EQ(std::string(python_strip(s.normal_text)), std::string(python_strip(without_end_tags(reference.normal_text))));
      } else {
        // glm45's parse() keeps only the text before the first call; streaming also sends the rest.
        EXPECT_NE(s.normal_text.find(without_end_tags(reference.normal_text)), std::string::npos);
      }
      ++compared;
    }
  }
  EXPECT_GT(compared, 1000u);
}

// The content a client assembles from the deltas (parser normal text through ToolContentStream, as
// the chat server sends it) equals the non-streamed message.content byte for byte: the text
// unchanged without a call, parse().normal_text with one.
std::string streamed_content(ToolCallParser& parser, bool glm47, const std::vector<std::string>& chunks,
                             bool& saw_call) {
  ToolContentStream content(glm47);
  std::string out;
  saw_call = false;
  auto take = [&](const ToolStreamDelta& d) {
    out += content.on_delta(d);
    saw_call = saw_call || !d.calls.empty();
  };
  for (const auto& c : chunks) take(parser.push(c));
  take(parser.finish());
  return out + content.finish();
}

TEST(StreamingEquivalence, ContentEqualsNonStreamedContentByteForByte) {
  Corpus corpus = load_corpus();
  // Whitespace around the text before, between and after calls, and answers without calls.
  for (const char* p : {"glm45", "glm47"}) {
    const bool glm47 = std::string(p) == "glm47";
    const std::string call = glm47 ? "<tool_call>get_weather<arg_key>city</arg_key><arg_value>Paris</arg_value></tool_call>"
                                   : "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Paris</arg_value>\n</tool_call>";
    for (const std::string& text :
         {std::string("\nLet me check.\n") + call, "  Let me  check. \n\n" + call + "\n", "Sure.\n" + call + "\nDone. ",
          "\n" + call + "\n" + call, std::string("\n\nJust text, no call.\n"), std::string("Plain answer \n"), std::string(" \n "), std::string(""),
          "\u3000wide space\u3000" + call, "a\n" + call + " b " + call + "\n c\n"})
      corpus.inputs.emplace_back(p, text);
  }
  std::mt19937 rng(99);
  size_t compared = 0;
  for (const auto& [parser_name, text] : corpus.inputs) {
    auto reference_parser = make_tool_call_parser(parser_name, corpus.tools);
    ToolParseResult reference = reference_parser->parse(text);
    const bool has_call = reference_parser->has_tool_call(text);
    for (int mode : {0, 1, 2, 2}) {
      auto parser = make_tool_call_parser(parser_name, corpus.tools);
      bool saw_call = false;
      std::string got = streamed_content(*parser, parser_name == "glm47", chunk(text, rng, mode), saw_call);
      // Malformed markup where the two paths cannot agree: a <tool_call> that never becomes a call
      // (parse() strips around it, streaming never learns a call came), names parse() drops, stray
      // </tool_call> tags (streaming removes them from the text).
      if (has_call != saw_call || reference.calls.empty() != !saw_call ||
          without_end_tags(reference.normal_text) != reference.normal_text)
        continue;
      SCOPED_TRACE(parser_name + " mode " + std::to_string(mode) + ": " + nlohmann::json(text).dump());
      const std::string& expected = has_call ? reference.normal_text : text;
      ASSERT_EQ(got, expected);
      ++compared;
    }
  }
  EXPECT_GT(compared, 200u);
}

TEST(StreamingEquivalence, StreamedStringValuesArriveIncrementally) {
  ToolSet tools = ToolSet::from_openai_tools(nlohmann::json::parse(
      R"([{"type":"function","function":{"name":"write","parameters":{"type":"object","properties":{"content":{"type":"string"}}}}}])"));
  for (const char* dialect : {"glm45", "glm47"}) {
    auto parser = make_tool_call_parser(dialect, tools);
    std::string head = std::string(dialect) == "glm45" ? "<tool_call>write\n<arg_key>content</arg_key>\n<arg_value>"
                                                        : "<tool_call>write<arg_key>content</arg_key><arg_value>";
    auto d = parser->push(head + "Hello ");
    ASSERT_EQ(d.calls.size(), 2u);
    EXPECT_EQ(*d.calls[0].name, "write");
    EXPECT_EQ(d.calls[1].arguments, "{\"content\": \"Hello ");
    d = parser->push("wörld \"quoted\"</arg_");
    ASSERT_EQ(d.calls.size(), 1u);
    EXPECT_EQ(d.calls[0].arguments, "wörld \\\"quoted\\\"");  // the partial closing tag is held back
    d = parser->push("value></tool_call>");
    ASSERT_EQ(d.calls.size(), 1u);
    EXPECT_EQ(d.calls[0].arguments, "\"}");
  }
}

TEST(StreamingEquivalence, FuzzedInputsNeverThrowAndStreamValidJson) {
  Corpus corpus = load_corpus();
  ASSERT_FALSE(corpus.inputs.empty());
  const std::vector<std::string> fragments = {"<tool_call>", "</tool_call>", "<arg_key>", "</arg_key>",
                                              "<arg_value>", "</arg_value>", "<", ">", "\n", "\\n", "\\",
                                              "\"", "'", "{", "}", "[", "]", "é", "\xff", "get_weather", " "};
  std::mt19937 rng(12345);
  int iterations = 0;
  for (int round = 0; round < 4000; ++round) {
    const auto& [parser_name, base] = corpus.inputs[rng() % corpus.inputs.size()];
    std::string text = base;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t pos = text.empty() ? 0 : rng() % (text.size() + 1);
      switch (rng() % 4) {
        case 0: text.insert(pos, fragments[rng() % fragments.size()]); break;
        case 1: if (pos < text.size()) text.erase(pos, 1 + rng() % 12); break;
        case 2: text = text.substr(0, pos); break;
        default: if (pos < text.size()) text[pos] = static_cast<char>(rng() % 256); break;
      }
    }
    SCOPED_TRACE(nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    auto parser = make_tool_call_parser(parser_name, corpus.tools);
    ToolParseResult r;
    ASSERT_NO_THROW(r = parser->parse(text));
    for (const auto& c : r.calls) EXPECT_TRUE(python_json_loads(c.arguments).has_value()) << c.arguments;
    Streamed s;
    ASSERT_NO_THROW(s = stream(*parser, chunk(text, rng, 2)));
    for (const auto& a : s.arguments) EXPECT_TRUE(python_json_loads(a).has_value()) << a;
    ++iterations;
  }
  EXPECT_EQ(iterations, 4000);
}

}  // namespace
}  // namespace glm::parsers
