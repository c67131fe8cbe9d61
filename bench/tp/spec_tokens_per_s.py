"""Decode tokens/s of `glmserve serve` with and without speculative decoding at --tp N (docs/PERFORMANCE.md
"Tensor parallelism"). Both servers run at once and the rounds alternate (plain, spec, plain, spec, ...),
so load from other processes hits both alike; the figure is the median over rounds of completion tokens /
wall time of one /generate call (greedy, ignore_eos) carrying `batch` prompts.

  GLMSERVE_BIN=build/glmserve .venv/bin/python bench/tp/spec_tokens_per_s.py --model glm45-tiny --tp 2

Speculation runs at the explicit depth every round (GLMSERVE_SPECULATIVE_FIXED_DEPTH=1, default
--spec-flags); pass --guarded to leave the guard on (it decodes plainly where speculation is estimated slower).
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "python"))
from conftest import launch_glmserve  # noqa: E402

PROMPTS = ["Hello", "The quick brown fox", "1, 2, 3, 4,", "Once upon a time there was a little",
           "Write a haiku about message passing.", "List three colours:", "def fib(n):", "The capital of France"]


def run_round(srv, batch, tokens):
    body = {"text": PROMPTS[:batch], "sampling_params": {"max_new_tokens": tokens, "temperature": 0,
                                                          "ignore_eos": True}}
    t0 = time.perf_counter()
    r = httpx.post(srv.url + "/generate", json=body, timeout=600)
    dt = time.perf_counter() - t0
    r.raise_for_status()
    out = r.json()
    n = sum(x["meta_info"]["completion_tokens"] for x in out)
    acc = [x["meta_info"].get("spec_accept_length", 0) for x in out]
    return n / dt, statistics.mean(acc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="glm45-tiny")
    ap.add_argument("--tp", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="per rank")
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--tokens", type=int, default=96)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--guarded", action="store_true")
    a = ap.parse_args()
    if not a.guarded:
        os.environ["GLMSERVE_SPECULATIVE_FIXED_DEPTH"] = "1"
    prefix = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(a.tp), "-x",
              "GLMSERVE_SPECULATIVE_FIXED_DEPTH"] if a.tp > 1 else []
    if a.guarded:
        prefix = prefix[:-2]
    common = ["--threads", str(a.threads), "--tp", str(a.tp), "--context-length", "1024"]
    with launch_glmserve(a.model, *common, prefix=prefix) as plain, \
            launch_glmserve(a.model, *common, "--speculative-algorithm", "EAGLE", prefix=prefix) as spec:
        for batch in a.batch:
            run_round(plain, batch, 8), run_round(spec, batch, 8)  # warm-up
            rates = {"plain": [], "spec": []}
            accept = []
            for _ in range(a.rounds):
                rates["plain"].append(run_round(plain, batch, a.tokens)[0])
                r, acc = run_round(spec, batch, a.tokens)
                rates["spec"].append(r)
                accept.append(acc)
            p, s = statistics.median(rates["plain"]), statistics.median(rates["spec"])
            print(f"{a.model} tp {a.tp} x {a.threads} thread(s), batch {batch}, {a.tokens} tokens each: plain "
                  f"{p:.1f} tok/s, EAGLE {s:.1f} tok/s ({s / p:.2f}x), accept length {statistics.mean(accept):.2f}",
                  flush=True)
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
