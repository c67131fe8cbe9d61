"""Regenerates regex_cases.json: the oracle for tests/unit/sampling/regex_test.cpp.

For each pattern, strings built character by character (mostly keeping a possible match, sometimes
not), each labelled by the third-party `regex` module (the one that has partial matching):
  viable = regex.fullmatch(p, s, partial=True) is not None   (s is a prefix of some full match)
  full   = regex.fullmatch(p, s) is not None
with regex.ASCII, because glmserve's \\d \\w \\s are ASCII classes (as xgrammar's are).
Not run in CI (it needs `pip install regex`); the JSON it writes is committed.
    python3 tests/unit/sampling/data/make_regex_cases.py
"""
import json
import random
from pathlib import Path

import regex

PATTERNS = [
    r"(yes|no)",
    r"[0-9]{3}-[0-9]{4}",
    r"-?\d+(\.\d+)?",
    r"\w+@\w+\.(com|org)",
    r"[A-Z][a-z]*( [A-Z][a-z]*)*",
    r"(ab|a)*b?",
    r"a{2,4}b{0,2}c{3}",
    r"x{,2}y{2,}",
    r"[^\"\\]*",
    r"\"([^\"\\]|\\.)*\"",
    r".{1,3}",
    r"(?:red|green|blue)(, (?:red|green|blue))*",
    r"(?P<word>[a-c]+)-(?<num>[0-9]+)",
    r"^(true|false)$",
    r"[αβγ]+ω?",
    r"[^a-z\s]{2}",
    r"é+|ü*",
    r"\x41\u00e9\U0001F600?",
    r"[\d\-+]*",
    r"[]a]+",
    r"[a-]x",
    r"(a|b|)c",
    r"\.\*\+\?\(\)\[\]\{\}\|\^\$",
    r"a{3}",
    r"(a*)*b",
    r"[\w.]+",
    r"\S+\s\S+",
    r"😀+[🙂-🙃]",
    r"(\d{1,2}:\d\d) ?(AM|PM)",
    r"[^\n]*\n",
    r"\{\"name\": \"[a-z]+\", \"age\": [1-9][0-9]?\}",
    r"a+?b*?",
    r"a{2}{3}" if False else r"(a{2}){3}",
    r"",
    r"\t\r\f\v\0?",
]

ALPHABET_EXTRA = list("abcxyz019 -.\"\\\n") + ["é", "ω", "😀", "🙂", "\u00a0", "中"]


def alphabet(pattern):
    chars = {c for c in pattern if c not in "()[]{}|*+?^$\\"}
    chars.update(ALPHABET_EXTRA)
    chars.update("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz@:, ")
    return sorted(chars)


def label(pattern, s):
    viable = regex.fullmatch(pattern, s, flags=regex.ASCII, partial=True) is not None
    full = regex.fullmatch(pattern, s, flags=regex.ASCII) is not None
    return viable, full


def main():
    rng = random.Random(7)
    cases = []
    for p in PATTERNS:
        abc = alphabet(p)
        strings = {""}
        for _ in range(16):
            s = ""
            for _ in range(rng.randint(1, 12)):
                options = [c for c in abc if label(p, s + c)[0]]
                if options and rng.random() < 0.85:
                    s += rng.choice(options)
                else:
                    s += rng.choice(abc)
                strings.add(s)
        for s in sorted(strings):
            v, f = label(p, s)
            cases.append({"pattern": p, "text": s, "viable": v, "full": f})
    # The labels must be consistent before they become an oracle: a full match is a viable prefix, and the
    # data must exercise both answers.
    assert all(c["viable"] for c in cases if c["full"]), "a full match that is not a viable prefix"
    assert sum(c["full"] for c in cases) > 300 and sum(not c["viable"] for c in cases) > 300, "one-sided data"
    errors = [r"(", r"a)", r"[a", r"a{3,1}", r"*a", r"a**", r"(?=a)", r"(?!a)", r"(?<=a)b", r"(a)\1", r"\bword",
              r"(?i)a", r"a++", r"a^", r"a$b", r"\q", r"[z-a]", r"\x4", "a{2000}"]
    out = {"generator": "tests/unit/sampling/data/make_regex_cases.py", "regex_module": regex.__version__,
           "cases": cases, "errors": errors}
    path = Path(__file__).with_name("regex_cases.json")
    path.write_text(json.dumps(out, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"{len(cases)} cases, {sum(c['full'] for c in cases)} full matches, "
          f"{sum(c['viable'] for c in cases)} viable -> {path}")


if __name__ == "__main__":
    main()
