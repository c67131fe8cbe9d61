// Tokenizer throughput, single thread: encoding ~2 MB of mixed prose, code and CJK text with the
// GLM-style fixture tokenizer (tests/fixtures/tokenizer). Compare with
// `RAYON_NUM_THREADS=1 python bench/tokenizer_bench_hf.py` on the same text.
#include <benchmark/benchmark.h>

#include <filesystem>

#include "tokenizer/incremental_decoder.h"
#include "tokenizer/tokenizer.h"

namespace {

// The same text bench/tokenizer_bench_hf.py builds.
std::string bench_text() {
  const char* parts[] = {
      "The quick brown fox jumps over the lazy dog. It's 1234567 o'clock and they'll be late again!\n",
      "int main(int argc, char** argv) {\n    for (int i = 0; i < argc; ++i) printf(\"%s\\n\", argv[i]);\n}\n",
      "你好，世界！这是一个用于测试分词器速度的句子。日本語のテキストも少し。\n",
      "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)  # naive\n\n",
      "Emoji 😀👍🏽 and ZWJ 👨‍👩‍👧, accents café naïve, Привет мир.\r\n",
  };
  std::string text;
  for (int i = 0; text.size() < (2u << 20); ++i) {
    text += parts[i % 5];
    text += std::to_string(i);
    text += ' ';
  }
  return text;
}

const glm::Tokenizer& fixture() {
  static const glm::Tokenizer tok =
      glm::Tokenizer::from_file(std::filesystem::path(__FILE__).parent_path().parent_path() / "tests/fixtures/tokenizer/tokenizer.json");
  return tok;
}

void BM_Encode(benchmark::State& state) {
  const std::string text = bench_text();
  const auto& tok = fixture();
  std::vector<int32_t> ids;
  for (auto _ : state) {
    ids.clear();
    tok.encode_into(text, false, ids);
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
  state.counters["tokens"] = double(ids.size());
}
BENCHMARK(BM_Encode)->Unit(benchmark::kMillisecond);

void BM_StreamDecode(benchmark::State& state) {
  const auto& tok = fixture();
  const std::vector<int32_t> ids = tok.encode(bench_text(), false);
  std::string out;
  for (auto _ : state) {
    glm::IncrementalDecoder dec(tok, true);
    out.clear();
    for (int32_t id : ids) dec.push(id, out);
    out += dec.finish();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(ids.size()));
}
BENCHMARK(BM_StreamDecode)->Unit(benchmark::kMillisecond);

}  // namespace
BENCHMARK_MAIN();
