#!/usr/bin/env python3
"""Builds an FR-Spec token map (--speculative-token-map) for a GLM checkpoint: the N token ids that occur
most often when its tokenizer encodes a corpus (FR-Spec, arXiv 2502.14856, ranks tokens by frequency in
SlimPajama; any text like what the server will write does). Light: needs only `tokenizers`.

    .venv/bin/python tools/make_token_map.py --model-path DIR --top 32768 corpus/*.txt -o hot.json
    glmserve serve --model-path DIR --speculative-algorithm EAGLE --speculative-token-map hot.json

Output: a JSON list of ids (glmserve reads it), or with -o NAME.pt the torch.save file SGLang reads
(needs torch). Special tokens the chat template writes (e.g. <|user|>, </think>, <tool_call>) are always
kept: the draft must be able to propose the end of a turn or of a thinking block.
"""
import argparse
import collections
import json
import sys
from pathlib import Path

from tokenizers import Tokenizer


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-path", required=True, help="checkpoint directory (its tokenizer.json)")
    ap.add_argument("--top", type=int, default=32768, help="how many ids to keep (default 32768, FR-Spec's)")
    ap.add_argument("-o", "--output", required=True, help="NAME.json, or NAME.pt for SGLang (needs torch)")
    ap.add_argument("corpus", nargs="+", help="text files")
    args = ap.parse_args()

    tok = Tokenizer.from_file(str(Path(args.model_path) / "tokenizer.json"))
    counts = collections.Counter()
    for path in args.corpus:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        # Paragraph by paragraph: one huge string would take the tokenizer a long time and much memory.
        for part in text.split("\n\n"):
            counts.update(tok.encode(part, add_special_tokens=False).ids)
    special = set(tok.get_added_tokens_decoder().keys())
    ranked = [t for t, _ in counts.most_common() if t not in special]
    keep = sorted(set(ranked[: max(0, args.top - len(special))]) | special)
    if len(ranked) + len(special) < args.top:
        print(f"note: the corpus holds only {len(ranked)} distinct tokens; the map has {len(keep)}", file=sys.stderr)
    out = Path(args.output)
    if out.suffix == ".pt":
        import torch  # only for SGLang's format

        torch.save(torch.tensor(keep, dtype=torch.int64), out)
    else:
        out.write_text(json.dumps(keep) + "\n")
    covered = sum(counts[t] for t in keep) / max(1, sum(counts.values()))
    print(f"{out}: {len(keep)} token ids ({len(special)} special), covering {covered:.1%} of the corpus' tokens")


if __name__ == "__main__":
    main()
