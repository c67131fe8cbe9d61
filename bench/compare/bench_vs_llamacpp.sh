#!/usr/bin/env bash
# glmserve beside llama.cpp on the identical model, interleaved (A B A B) so both see the same machine state.
# llama.cpp is built by ../shared/bench/README.md (nothing of it lives in this repo).
#
# Usage: bench/compare/bench_vs_llamacpp.sh LLAMA_BUILD_DIR OUT_DIR PAIR [PAIR ...]
#   PAIR = label:GGUF_FILE:HF_DIR  e.g. bf16:/tmp/bench-models/glm-bench-s-BF16.gguf:/tmp/bench-models/glm-bench-s-hf
#   HF_DIR may be a different checkpoint of the same weights (an FP8 quantization compared with Q8_0).
# Env: THREADS="1 2"  ROUNDS=3  REPS=3  PP=512  TG=128  TESTS="pp tg"  GLMSERVE=build/glmserve  RECACHE=1|cat|0
#   TESTS="tg" runs the decode test only.
# Each round, for each pair and thread count: re-read both models' files into the page cache (drop, then a
# read through a huge-page mapping, which leaves them in 2 MiB folios; see recache()), then llama-bench pp and tg,
# then glmserve bench pp (--input-len PP --output-len 0) and tg (--input-len 0 --output-len TG, from an empty
# cache like llama-bench). Raw JSON goes to OUT_DIR; summary.md / summary.json hold medians and ratios.
set -euo pipefail
LLAMA=$(realpath "$1"); OUT=$2; shift 2
THREADS=${THREADS:-"1 2"}; TESTS=${TESTS:-"pp tg"}; ROUNDS=${ROUNDS:-3}; REPS=${REPS:-3}; PP=${PP:-512}; TG=${TG:-128}
GLMSERVE=${GLMSERVE:-$(dirname "$0")/../../build/glmserve}
mkdir -p "$OUT"
# Drop each file from the page cache, then read it back through a mapping advised MADV_HUGEPAGE: page
# faults there read 2 MiB folios (a plain `cat` left 10-20 % of a file in smaller folios here, which cost
# glmserve's file-mapped weights ~10 % of decode speed). Both engines' files get the same treatment.
# RECACHE=cat: the previous sequential read instead; RECACHE=0: leave the page cache alone.
recache() {  # $@: files
  [ "${RECACHE:-1}" != 0 ] || return 0
  for f in "$@"; do
    /usr/bin/python3 - "$f" "${RECACHE:-1}" <<'PY'
import mmap, os, sys
path, mode = sys.argv[1], sys.argv[2]
fd = os.open(path, os.O_RDONLY)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
size = os.fstat(fd).st_size
if mode == "cat":
    while os.read(fd, 1 << 24):
        pass
elif size:
    m = mmap.mmap(fd, size, prot=mmap.PROT_READ)
    m.madvise(mmap.MADV_HUGEPAGE)
    for off in range(0, size, 4096):
        m[off]
    m.close()
os.close(fd)
PY
  done
}
{
  echo "date_utc: $(date -u +%FT%TZ)"; echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-) x $(nproc)"
  echo "llama.cpp: $(git -C "$LLAMA/.." rev-parse HEAD 2>/dev/null || cat "$LLAMA/../.commit" 2>/dev/null || echo unknown)"
  echo "glmserve: $(git -C "$(dirname "$0")" rev-parse --short HEAD)"; echo "load: $(cat /proc/loadavg)"
  echo "settings: THREADS='$THREADS' TESTS='$TESTS' ROUNDS=$ROUNDS REPS=$REPS PP=$PP TG=$TG"
} > "$OUT/env.txt"
for r in $(seq 1 "$ROUNDS"); do
  for pair in "$@"; do
    IFS=: read -r label gguf hf <<< "$pair"
    for t in $THREADS; do
      echo "[round $r] $label threads $t" >&2
      recache "$gguf" "$hf"/*.safetensors
      if [[ " $TESTS " == *" pp "* ]]; then
        "$LLAMA/bin/llama-bench" -m "$gguf" -t "$t" -p "$PP" -n 0 -r "$REPS" -o json > "$OUT/llama-$label-t$t-pp-r$r.json" 2>/dev/null
      fi
      if [[ " $TESTS " == *" tg "* ]]; then
        "$LLAMA/bin/llama-bench" -m "$gguf" -t "$t" -p 0 -n "$TG" -r "$REPS" -o json > "$OUT/llama-$label-t$t-tg-r$r.json" 2>/dev/null
      fi
      if [[ " $TESTS " == *" pp "* ]]; then
        "$GLMSERVE" bench --model-path "$hf" --threads "$t" --input-len "$PP" --output-len 0 -r "$REPS" 2>/dev/null \
          | tail -1 > "$OUT/glm-$label-t$t-pp-r$r.json"
      fi
      if [[ " $TESTS " == *" tg "* ]]; then
        "$GLMSERVE" bench --model-path "$hf" --threads "$t" --input-len 0 --output-len "$TG" -r "$REPS" 2>/dev/null \
          | tail -1 > "$OUT/glm-$label-t$t-tg-r$r.json"
      fi
    done
  done
done
/usr/bin/python3 "$(dirname "$0")/summarize_compare.py" "$OUT" | tee "$OUT/summary.md"
