#!/usr/bin/env python3
"""Medians and ratios of a bench_vs_llamacpp.sh run: one row per (model pair, threads, test)."""
import glob
import json
import os
import re
import statistics
import sys

out_dir = sys.argv[1]
samples = {}  # (label, threads, test, engine) -> [tok/s]
for path in glob.glob(os.path.join(out_dir, "*.json")):
    m = re.match(r"(llama|glm)-(.+)-t(\d+)-(pp|tg)-r\d+\.json$", os.path.basename(path))
    if not m:
        continue
    engine, label, threads, test = m.group(1), m.group(2), int(m.group(3)), m.group(4)
    text = open(path).read().strip()
    if not text:
        continue
    key = (label, threads, test, engine)
    if engine == "llama":
        for rec in json.loads(text):
            samples.setdefault(key, []).extend(rec.get("samples_ts", [rec["avg_ts"]]))
    else:
        run = json.loads(text)
        field = "prefill_tokens_per_s_samples" if test == "pp" else "decode_tokens_per_s_samples"
        samples.setdefault(key, []).extend(run[field])

rows, summary = [], []
for label, threads, test in sorted({k[:3] for k in samples}):
    llama = samples.get((label, threads, test, "llama"), [])
    glm = samples.get((label, threads, test, "glm"), [])
    if not llama or not glm:
        continue
    ml, mg = statistics.median(llama), statistics.median(glm)
    rows.append(f"| {label} | {threads} | {test} | {ml:.1f} ({min(llama):.1f}-{max(llama):.1f}) | "
                f"{mg:.1f} ({min(glm):.1f}-{max(glm):.1f}) | {mg / ml:.2f} |")
    summary.append({"pair": label, "threads": threads, "test": test, "llama_median": ml, "glmserve_median": mg,
                    "ratio": mg / ml, "llama_samples": llama, "glmserve_samples": glm})
print("| pair | threads | test | llama.cpp tok/s median (min-max) | glmserve tok/s median (min-max) | ratio |")
print("|---|---|---|---|---|---|")
print("\n".join(rows))
json.dump(summary, open(os.path.join(out_dir, "summary.json"), "w"), indent=1)
