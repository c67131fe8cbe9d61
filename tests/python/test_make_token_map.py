"""tools/make_token_map.py (FR-Spec token maps): the most frequent ids of a corpus under the checkpoint's
own tokenizer (the `tokenizers` oracle counts them again here), plus every special token, sorted."""
import collections
import json
import subprocess
import sys

from tokenizers import Tokenizer

from conftest import FIXTURES, REPO


def test_map_holds_the_most_frequent_tokens_and_the_special_ones(tmp_path):
    corpus = tmp_path / "corpus.txt"
    words = ["alpha", "beta", "gamma", "delta", "the", "a", "of", "fox", "jumps", "over"]
    corpus.write_text("\n\n".join(" ".join(words[(i * 7 + j) % len(words)] for j in range(i % 9 + 1))
                                  for i in range(300)))
    out = tmp_path / "hot.json"
    model = FIXTURES / "glm45-tiny"
    subprocess.run([sys.executable, str(REPO / "tools" / "make_token_map.py"), "--model-path", str(model),
                    "--top", "45", str(corpus), "-o", str(out)], check=True, capture_output=True, timeout=120)
    ids = json.loads(out.read_text())
    assert ids == sorted(set(ids)) and len(ids) <= 45
    tok = Tokenizer.from_file(str(model / "tokenizer.json"))
    special = set(tok.get_added_tokens_decoder())
    assert special <= set(ids)
    counts = collections.Counter()
    for part in corpus.read_text().split("\n\n"):
        counts.update(tok.encode(part, add_special_tokens=False).ids)
    kept = [t for t in ids if t not in special]
    assert kept, "no corpus token kept"
    # Every kept token is at least as frequent as every dropped one.
    dropped = [t for t in counts if t not in ids]
    if dropped:
        assert min(counts[t] for t in kept) >= max(counts[t] for t in dropped)
