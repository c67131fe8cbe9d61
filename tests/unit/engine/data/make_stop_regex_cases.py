"""Oracle for tests/unit/engine/stop_regex_test.cpp: SGLang's stop_regex is Python's re.search over the
decoded output after each token. Each case is a pattern, a text arriving in chunks (tokens), and the index
of the first chunk after which re.search finds a match (-1: never). re.ASCII: glmserve's \\d \\w \\s are ASCII
classes (sampling/regex_nfa.h). Standard library only:

    python3 tests/unit/engine/data/make_stop_regex_cases.py
"""
import json
import random
import re
from pathlib import Path

PATTERNS = [
    "abc", "a+b", "[0-9]{3}", r"\d+\.\d+", "foo|bar", "^Hello", "end$", r"\n\n", "x.y", "(ab)+c",
    "[^a-z ]", r"\s{2,}", "colou?r", "a{2,3}b", r"\bword", "é+", "日本", "^$", "(?:no)?pe", "[A-Z][a-z]+!$",
    r"\w+@\w+\.com", "q(?=u)", "z*", "^[a-z]", r"\.$",
]
WORDS = ["abc", "ab", "c", "a", "b", "Hello", "hello", " ", "  ", "\n", "\n\n", "123", "4.5", "foo", "bar", "end",
         "x", "y", "xzy", "colour", "color", "aab", "aaab", "word", "é", "日本", "!", "Abc", "Abc!", "me@ex.com",
         "nope", "pe", ".", "q", "u"]


def chunks_of(rng):
    return [rng.choice(WORDS) for _ in range(rng.randint(1, 12))]


def first_match(pattern, chunks):
    text = ""
    for i, c in enumerate(chunks):
        text += c
        if re.search(pattern, text, re.ASCII):
            return i
    return -1


def main():
    rng = random.Random(5)
    cases, refused = [], []
    for p in PATTERNS:
        try:
            re.compile(p)
        except re.error:
            raise SystemExit(f"bad oracle pattern {p!r}")
        for _ in range(40):
            ch = chunks_of(rng)
            cases.append({"pattern": p, "chunks": ch, "first": first_match(p, ch)})
    hits = sum(c["first"] >= 0 for c in cases)
    assert 0.2 * len(cases) < hits < 0.9 * len(cases), hits  # both outcomes well represented
    out = Path(__file__).resolve().parent / "stop_regex_cases.json"
    out.write_text(json.dumps({"cases": cases}, ensure_ascii=False, indent=0) + "\n")
    print(f"{out}: {len(cases)} cases, {hits} with a match")


if __name__ == "__main__":
    main()
