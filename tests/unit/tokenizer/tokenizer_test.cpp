// Unit tests for the tokenizer pieces, with tiny tokenizer.json files written here. Behaviour is
// checked against the rules of Hugging Face tokenizers (the full oracle comparison is
// tests/python/test_tokenizer.py).
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/incremental_decoder.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace {

// Vocab: the 256 byte-level characters (ids 0..255 in byte order) plus merges "a b" -> "ab"
// (rank 0), "ab c" -> "abc" (rank 1), "b c" -> "bc" (rank 2); added tokens <think> (not special)
// and <|endoftext|> (special).
std::string tiny_tokenizer_json(bool ignore_merges = false) {
  nlohmann::json vocab = nlohmann::json::object();
  const auto& chars = glm::byte_level::byte_to_chars();
  for (int b = 0; b < 256; ++b) vocab[chars[size_t(b)]] = b;
  vocab["ab"] = 256;
  vocab["abc"] = 257;
  vocab["bc"] = 258;
  vocab["abcd"] = 259;  // whole-word entry without a merge path
  nlohmann::json j = {
      {"version", "1.0"},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"post_processor", nullptr},
      {"added_tokens",
       {{{"id", 260}, {"content", "<think>"}, {"special", false}, {"normalized", false}},
        {{"id", 261}, {"content", "<|endoftext|>"}, {"special", true}, {"normalized", false}}}},
      {"model",
       {{"type", "BPE"}, {"ignore_merges", ignore_merges}, {"vocab", vocab},
        {"merges", {"a b", nlohmann::json::array({"ab", "c"}), "b c"}}}}};
  return j.dump();
}

TEST(ByteLevel, MapRoundTripsEveryByte) {
  const auto& chars = glm::byte_level::byte_to_chars();
  EXPECT_EQ(chars[' '], "\xC4\xA0");   // 'Ġ'
  EXPECT_EQ(chars['\n'], "\xC4\x8A");  // 'Ċ'
  std::string all;
  for (int b = 0; b < 256; ++b) all += char(b);
  std::string mapped, back;
  glm::byte_level::append_mapped(all, mapped);
  EXPECT_TRUE(glm::byte_level::append_unmapped(mapped, back));
  EXPECT_EQ(back, all);
}

TEST(Utf8, LossyReplacesMaximalSubparts) {
  // Same rule as Python bytes.decode("utf-8", "replace").
  EXPECT_EQ(glm::utf8::to_valid("a\xE2\x82z"), "a\xEF\xBF\xBDz");               // truncated 3-byte: one U+FFFD
  EXPECT_EQ(glm::utf8::to_valid("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");       // overlong: two
  EXPECT_EQ(glm::utf8::to_valid("\xED\xA0\x80"), std::string(9, ' ').replace(0, 9, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"));
  std::string out;
  EXPECT_EQ(glm::utf8::append_lossy("x\xF0\x9F\x98", out, false), 1u);  // incomplete emoji held back
  EXPECT_EQ(out, "x");
}

TEST(Bpe, MergesByRankLeftmostFirst) {
  auto tok = glm::Tokenizer::from_json_text(tiny_tokenizer_json());
  EXPECT_EQ(tok.encode("abc", false), (std::vector<int32_t>{257}));          // a b -> ab, ab c -> abc
  EXPECT_EQ(tok.encode("bc", false), (std::vector<int32_t>{258}));
  EXPECT_EQ(tok.encode("abcd", false), (std::vector<int32_t>{257, 'd'}));    // no merge reaches "abcd"
  EXPECT_EQ(tok.encode("", false), (std::vector<int32_t>{}));
}

TEST(Bpe, IgnoreMergesTakesWholeWord) {
  auto tok = glm::Tokenizer::from_json_text(tiny_tokenizer_json(true));
  EXPECT_EQ(tok.encode("abcd", false), (std::vector<int32_t>{259}));
}

TEST(AddedTokens, MatchedBeforePreTokenization) {
  auto tok = glm::Tokenizer::from_json_text(tiny_tokenizer_json());
  EXPECT_EQ(tok.encode("a<think>b<|endoftext|>", false), (std::vector<int32_t>{'a', 260, 'b', 261}));
  EXPECT_EQ(tok.token_to_id("<think>"), 260);
  EXPECT_FALSE(tok.is_special(260));
  EXPECT_TRUE(tok.is_special(261));
}

TEST(Decode, SkipSpecialKeepsNonSpecialAddedTokens) {
  auto tok = glm::Tokenizer::from_json_text(tiny_tokenizer_json());
  std::vector<int32_t> ids{260, 'h', 'i', 261, 999999};  // unknown ids are dropped
  EXPECT_EQ(tok.decode(ids, false), "<think>hi<|endoftext|>");
  EXPECT_EQ(tok.decode(ids, true), "<think>hi");
}

TEST(IncrementalDecoder, PiecesAreValidAndConcatenateToFullDecode) {
  auto tok = glm::Tokenizer::from_json_text(tiny_tokenizer_json());
  std::string text = "h\xC3\xA9llo \xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9 \xE6\x97\xA5<think>";
  std::vector<int32_t> ids = tok.encode(text, false);
  ids.push_back(0xF0);  // a dangling lead byte: U+FFFD at finish()
  ids.push_back(0x80);
  glm::IncrementalDecoder dec(tok, false);
  std::string streamed;
  for (int32_t id : ids) {
    std::string piece = dec.push(id);
    EXPECT_TRUE(glm::utf8::is_valid(piece));
    streamed += piece;
  }
  std::string last = dec.finish();
  EXPECT_TRUE(glm::utf8::is_valid(last));
  EXPECT_EQ(streamed + last, tok.decode(ids, false));
}

TEST(PreTokenizer, SplitBehaviors) {
  using glm::ByteRange;
  using glm::SplitBehavior;
  // "a-b-" with matches "-": (a,F)(-,T)(b,F)(-,T)
  std::vector<std::pair<ByteRange, bool>> m{{{0, 1}, false}, {{1, 2}, true}, {{2, 3}, false}, {{3, 4}, true}};
  auto run = [&](SplitBehavior b) {
    std::vector<ByteRange> out;
    glm::apply_split_behavior(m, b, out);
    std::vector<std::pair<uint32_t, uint32_t>> r;
    for (auto x : out) r.push_back({x.begin, x.end});
    return r;
  };
  using V = std::vector<std::pair<uint32_t, uint32_t>>;
  EXPECT_EQ(run(SplitBehavior::Removed), (V{{0, 1}, {2, 3}}));
  EXPECT_EQ(run(SplitBehavior::Isolated), (V{{0, 1}, {1, 2}, {2, 3}, {3, 4}}));
  EXPECT_EQ(run(SplitBehavior::MergedWithPrevious), (V{{0, 2}, {2, 4}}));
  EXPECT_EQ(run(SplitBehavior::MergedWithNext), (V{{0, 1}, {1, 3}, {3, 4}}));
}

TEST(Loader, UnsupportedNormalizerIsAClearError) {
  auto j = nlohmann::json::parse(tiny_tokenizer_json());
  j["normalizer"] = {{"type", "Precompiled"}};
  EXPECT_THROW(glm::Tokenizer::from_json_text(j.dump()), glm::GlmError);
  EXPECT_THROW(glm::Tokenizer::from_json_text("{not json"), glm::GlmError);
}

TEST(Loader, FixtureDirectoryEosIds) {
  std::filesystem::path dir = std::filesystem::path(GLM_FIXTURES_DIR) / "glm45-tiny";
  if (!std::filesystem::exists(dir / "tokenizer.json")) GTEST_SKIP() << "fixture not generated";
  auto tok = glm::Tokenizer::from_dir(dir);
  std::ifstream gen(dir / "generation_config.json");
  auto g = nlohmann::json::parse(gen);
  ASSERT_FALSE(tok.eos_token_ids().empty());
  auto first = g["eos_token_id"].is_array() ? g["eos_token_id"][0].get<int32_t>() : g["eos_token_id"].get<int32_t>();
  EXPECT_EQ(tok.eos_token_ids()[0], first);
}

}  // namespace
