#!/usr/bin/env bash
# The serving figures of docs/PERFORMANCE.md ("Serving (issue #6)") on a model directory (the ~2 GB
# synthetic glm-bench-s of ../shared/bench/make_synthetic_glm.py):
#   1. decode tokens/s at batch 1, 4, 16, 64 (offline bench, decode from an empty cache, median of 3);
#   2. TTFT of a 4096-token prompt, uncached vs served from the prefix cache (serving bench against a
#      real server, 3 prompts one at a time; the second pass re-sends the same prompts);
#   3. KV bytes per token: RssAnon of two servers whose pools differ by 32768 tokens, against
#      2 * layers * kv_heads * head_dim * bytes.
# Usage: scripts/serving_figures.sh MODEL_DIR [THREADS] > figures.log   (results under $OUT, default /tmp)
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:?model directory}
THREADS=${2:-2}
OUT=${OUT:-/tmp/glmserve-figures}
BIN=build/glmserve
PORT=${PORT:-31999}
mkdir -p "$OUT"

echo "== machine: $(nproc) CPUs, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== 1. decode throughput"
$BIN bench --model-path "$MODEL" --batch-size 1,4,16,64 --input-len 0 --output-len 16 --repeats 3 \
  --threads "$THREADS" --result-file "$OUT/decode.json" | grep '^threads'

start_server() {  # extra flags...
  $BIN serve --model-path "$MODEL" --port "$PORT" --threads "$THREADS" --enable-cache-report "$@" \
    > "$OUT/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 600); do
    curl -sf "http://127.0.0.1:$PORT/health" > /dev/null && return 0
    kill -0 $SERVER 2> /dev/null || { cat "$OUT/server.log"; exit 1; }
    sleep 0.5
  done
  echo "server not ready"; exit 1
}
stop_server() { kill $SERVER; wait $SERVER || true; }

echo "== 2. TTFT of a 4096-token prompt, uncached vs cached (serving mode, sglang backend) and 3. KV bytes/token"
# Three different random prompts (seeds 1-3), each sent alone, first uncached, then again (a cache hit).
# Between the uncached requests the server's RssAnon is read: each one inserts 256 new full pages
# (4096 tokens) into the prefix cache, pages never written before, so the RSS step per request over
# its 257 pages (4097 tokens rounded up to 16-token pages) is the resident KV bytes per token (the first request also touches the activation workspace,
# so only the steps 1->2 and 2->3 count).
start_server --max-total-tokens 20480 --context-length 8192
rss_anon() { awk '/RssAnon/ {print $2 * 1024}' /proc/$SERVER/status; }
one() {  # seed -> "ttft_ms cached_tokens"
  $BIN bench --mode serving --port "$PORT" --dataset-name random-ids --random-input-len 4096 \
    --random-output-len 1 --random-range-ratio 1 --num-prompts 1 --warmup-requests 0 --disable-tqdm \
    --seed "$1" --output-file "$OUT/ttft.jsonl" 2> /dev/null | tail -1 |
    python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); assert r["completed"] == 1, r; print(r["mean_ttft_ms"], r["total_cached_tokens"])'
}
UNCACHED=(); CACHED=(); RSS=()
for s in 1 2 3; do
  read -r t c < <(one $s); UNCACHED+=("$t"); RSS+=("$(rss_anon)")
  echo "uncached seed $s: TTFT $t ms, cached tokens $c, RssAnon ${RSS[-1]}"
done
for s in 1 2 3; do
  read -r t c < <(one $s); CACHED+=("$t")
  echo "cached   seed $s: TTFT $t ms, cached tokens $c"
done
grep -o 'KV Cache is allocated.*' "$OUT/server.log"
stop_server
python3 - "$MODEL" "${UNCACHED[*]}" "${CACHED[*]}" "${RSS[*]}" <<'PY'
import json, statistics, sys
c = json.load(open(sys.argv[1] + "/config.json"))
unc, cac, rss = ([float(x) for x in a.split()] for a in sys.argv[2:5])
print(f"TTFT 4096-token prompt: uncached median {statistics.median(unc):.0f} ms, "
      f"cached median {statistics.median(cac):.0f} ms, ratio {statistics.median(unc) / statistics.median(cac):.1f}x")
steps = [(rss[i + 1] - rss[i]) / 4096 for i in range(2)]
for name, nbytes in (("float32", 4), ("bf16", 2), ("fp8", 1)):
    print(f"theoretical KV {name}: {2 * c['num_hidden_layers'] * c['num_key_value_heads'] * c['head_dim'] * nbytes} B/token")
slots = -(-(4096 + 1) // 16) * 16  # prompt + 1 output token, in whole 16-token pages
print(f"measured KV: {steps[0]:.0f} and {steps[1]:.0f} B per prompt token (RssAnon steps / 4096); "
      f"{steps[0] * 4096 / slots:.0f} and {steps[1] * 4096 / slots:.0f} B per KV slot ({slots} slots per request)")
PY
