#!/usr/bin/env bash
# The serving figures of docs/PERFORMANCE.md ("Serving (issue #6)") on a model directory (the ~2 GB
# synthetic glm-bench-s of ../shared/bench/make_synthetic_glm.py):
#   1. decode tokens/s at batch 1, 4, 16, 64 (offline bench, decode from an empty cache, median of 3);
#   2. TTFT of a 4096-token prompt, uncached vs served from the prefix cache (serving bench against a
#      real server, 3 prompts one at a time; the second pass re-sends the same prompts);
#   3. KV bytes per token: RssAnon growth per 1024 newly cached tokens, against
#      2 * layers * kv_heads * head_dim * bytes.
# On an idle 2-core machine this takes about 10 minutes; on a loaded one an uncached 4k prompt alone
# took 13 minutes (see docs/PERFORMANCE.md). SKIP_DECODE=1 skips part 1.
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
if [ -z "${SKIP_DECODE:-}" ]; then
echo "== 1. decode throughput"
$BIN bench --model-path "$MODEL" --batch-size 1,4,16,64 --input-len 0 --output-len 16 --repeats 3 \
  --threads "$THREADS" --result-file "$OUT/decode.json" | grep '^threads'
fi

# The synthetic model ships no chat template and the server wants one: lend it the tiny fixture's
# (the benchmark only uses /generate).
TEMPLATE=()
if ! grep -qs chat_template "$MODEL/tokenizer_config.json" && [ ! -f "$MODEL/chat_template.jinja" ]; then
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["chat_template"], end="")' \
    tests/fixtures/glm45-tiny/tokenizer_config.json > "$OUT/chat_template.jinja"
  TEMPLATE=(--chat-template "$OUT/chat_template.jinja")
fi

start_server() {  # extra flags...
  $BIN serve --model-path "$MODEL" --port "$PORT" --threads "$THREADS" --enable-cache-report "${TEMPLATE[@]}" "$@" \
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

rss_anon() { awk '/RssAnon/ {print $2 * 1024}' /proc/$SERVER/status; }
one() {  # input_len seed -> "ttft_ms cached_tokens" of one request sent alone (output 1 token)
  $BIN bench --mode serving --port "$PORT" --dataset-name random-ids --random-input-len "$1" \
    --random-output-len 1 --random-range-ratio 1 --num-prompts 1 --warmup-requests 0 --disable-tqdm \
    --seed "$2" --output-file "$OUT/requests.jsonl" 2> /dev/null | tail -1 |
    python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); assert r["completed"] == 1, r; print(r["mean_ttft_ms"], r["total_cached_tokens"])'
}

echo "== 2. TTFT of a 4096-token prompt, uncached vs cached (serving mode, sglang backend)"
# Three different random prompts (seeds 1-3) sent one at a time, then the same three again: the
# second time all but the last page-and-a-bit (4080 of 4096 tokens) come from the prefix cache.
start_server --max-total-tokens 20480 --context-length 8192
UNCACHED=(); CACHED=()
for s in 1 2 3; do read -r t c < <(one 4096 $s); UNCACHED+=("$t"); echo "uncached seed $s: TTFT $t ms, cached $c"; done
for s in 1 2 3; do read -r t c < <(one 4096 $s); CACHED+=("$t"); echo "cached   seed $s: TTFT $t ms, cached $c"; done
stop_server
python3 -c 'import statistics as st, sys; u, c = ([float(x) for x in a.split()] for a in sys.argv[1:3]); print(f"median TTFT uncached {st.median(u):.0f} ms, cached {st.median(c):.0f} ms ({st.median(u) / st.median(c):.1f}x)")' \
  "${UNCACHED[*]}" "${CACHED[*]}"

echo "== 3. KV bytes per token (RssAnon steps)"
# A fresh server gets four 1024-token prompts, one at a time. Finishing a request copies its 64 full
# pages into prefix-cache pages popped from the free stack, then pushes its own 65 pages back; the next
# request of the same size pops exactly those again, so from the second request on each one makes 64
# never-written pages (1024 tokens) resident, and RSS step / 1024 = resident KV bytes per token. The
# first request also touches the activation workspace, so only steps 1->2, 2->3, 3->4 count.
start_server --max-total-tokens 8192
RSS=()
for s in 21 22 23 24; do read -r t c < <(one 1024 $s); RSS+=("$(rss_anon)"); done
grep -o 'KV Cache is allocated.*' "$OUT/server.log"
stop_server
python3 - "$MODEL" "${RSS[*]}" <<'PY'
import json, sys
c = json.load(open(sys.argv[1] + "/config.json"))
rss = [int(x) for x in sys.argv[2].split()]
for name, nbytes in (("float32", 4), ("bf16", 2), ("fp8", 1)):
    print(f"theoretical KV {name}: {2 * c['num_hidden_layers'] * c['num_key_value_heads'] * c['head_dim'] * nbytes} B/token")
print("measured KV: " + ", ".join(f"{(b - a) / 1024:.0f}" for a, b in zip(rss, rss[1:])) + " B/token (RssAnon steps / 1024)")
PY
