// SseParser: events split at every possible byte boundary give the same payloads as one feed;
// \r\n, \r and \n line ends; "data:" without a space; multi-line data; comments and other fields.
#include <gtest/gtest.h>

#include "loadgen/sse_parser.h"

using glm::loadgen::SseParser;

namespace {

std::vector<std::string> parse_in_pieces(const std::string& stream, size_t piece) {
  SseParser p;
  std::vector<std::string> got;
  for (size_t i = 0; i < stream.size(); i += piece)
    p.feed(std::string_view(stream).substr(i, piece), [&](const std::string& d) { got.push_back(d); });
  return got;
}

}  // namespace

TEST(SseParser, SplitsEventsAtAnyBoundary) {
  const std::string stream =
      "data: {\"a\":1}\n\n"
      ": keep-alive comment\n\n"
      "event: x\r\ndata:{\"b\":2}\r\n\r\n"
      "data: line1\rdata: line2\r\r"
      "id: 7\ndata: [DONE]\n\n"
      "data: unterminated";
  const std::vector<std::string> want = {"{\"a\":1}", "{\"b\":2}", "line1\nline2", "[DONE]"};
  for (size_t piece = 1; piece <= stream.size(); ++piece) EXPECT_EQ(parse_in_pieces(stream, piece), want) << piece;
}

TEST(SseParser, EmptyDataIsAnEventButNoDataIsNot) {
  auto got = parse_in_pieces("data:\n\nretry: 10\n\n\n\ndata: x\n\n", 3);
  EXPECT_EQ(got, (std::vector<std::string>{"", "x"}));
}

TEST(SseParser, KeepsUtf8AndColonsInData) {
  auto got = parse_in_pieces("data: {\"t\":\"a:b 你好\"}\n\n", 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], "{\"t\":\"a:b 你好\"}");
}
