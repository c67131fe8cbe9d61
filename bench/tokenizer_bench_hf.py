"""Reference timing for bench/tokenizer_bench.cpp: Hugging Face tokenizers, one thread, same text.
Run: RAYON_NUM_THREADS=1 .venv/bin/python bench/tokenizer_bench_hf.py"""
import os
import time
from pathlib import Path

os.environ.setdefault("RAYON_NUM_THREADS", "1")
from tokenizers import Tokenizer  # noqa: E402

PARTS = [
    "The quick brown fox jumps over the lazy dog. It's 1234567 o'clock and they'll be late again!\n",
    "int main(int argc, char** argv) {\n    for (int i = 0; i < argc; ++i) printf(\"%s\\n\", argv[i]);\n}\n",
    "你好，世界！这是一个用于测试分词器速度的句子。日本語のテキストも少し。\n",
    "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)  # naive\n\n",
    "Emoji 😀👍🏽 and ZWJ 👨‍👩‍👧, accents café naïve, Привет мир.\r\n",
]


def bench_text():
    out, size, i = [], 0, 0
    while size < (2 << 20):
        piece = PARTS[i % 5] + str(i) + " "
        out.append(piece)
        size += len(piece.encode())
        i += 1
    return "".join(out)


tok = Tokenizer.from_file(str(Path(__file__).resolve().parents[1] / "tests/fixtures/tokenizer/tokenizer.json"))
text = bench_text()
tok.encode(text, add_special_tokens=False)  # warm the word cache, as the C++ benchmark's iterations do
best = float("inf")
for _ in range(5):
    t = time.perf_counter()
    ids = tok.encode(text, add_special_tokens=False).ids
    best = min(best, time.perf_counter() - t)
print(f"tokenizers encode: {best * 1e3:.1f} ms for {len(text.encode()) / 1e6:.2f} MB, {len(ids)} tokens, "
      f"{len(text.encode()) / best / 1e6:.1f} MB/s")
