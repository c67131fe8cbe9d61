"""--kv-cache-dtype end to end: the server sizes its KV pool in the chosen dtype (the start-up log's K/V
sizes equal tokens x layers x kv_dim x bytes per element, as SGLang prints them), answers greedily, and
`glmserve generate` accepts the flag; unknown dtypes are rejected at start."""
import json
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from conftest import FIXTURES, glmserve_binary

MODEL = "glm45-tiny"
TOKENS = 1 << 20  # --max-total-tokens: large enough that 2-decimal GB figures tell dtypes apart (pages stay untouched)


def kv_bytes_per_token_per_side(model, elem_bytes):
    c = json.loads((FIXTURES / model / "config.json").read_text())
    return c["num_hidden_layers"] * c["num_key_value_heads"] * c["head_dim"] * elem_bytes


@pytest.mark.parametrize("dtype,elem_bytes", [("auto", 2), ("bf16", 2), ("bfloat16", 2), ("fp8_e4m3", 1), ("fp8_e5m2", 1), ("float32", 4)])
def test_pool_size_and_greedy_answer(glmserve_launcher, dtype, elem_bytes):
    with glmserve_launcher(MODEL, "--kv-cache-dtype", dtype, "--max-total-tokens", str(TOKENS)) as srv:
        m = re.search(r"KV Cache is allocated\. #tokens: (\d+), K size: ([\d.]+) GB, V size: ([\d.]+) GB, dtype: (\w+)",
                      srv.log())
        assert m, srv.log()
        assert int(m.group(1)) == TOKENS
        want_gb = TOKENS * kv_bytes_per_token_per_side(MODEL, elem_bytes) / 2**30
        assert float(m.group(2)) == pytest.approx(want_gb, abs=0.006)
        assert m.group(4) == {"auto": "bf16", "bfloat16": "bf16"}.get(dtype, dtype)
        r = httpx.post(srv.url + "/generate", json={"input_ids": [5, 6, 7, 8, 9],
                                                    "sampling_params": {"temperature": 0, "max_new_tokens": 4}},
                       timeout=60)
        assert r.status_code == 200, r.text
        assert len(r.json()["output_ids"]) == 4


def test_unknown_dtype_is_rejected_at_start():
    binary = glmserve_binary()
    if binary is None:
        pytest.skip("glmserve is not built (set GLMSERVE_BIN)")
    p = subprocess.run([binary, "serve", "--model-path", str(FIXTURES / MODEL), "--kv-cache-dtype", "fp8"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    assert "--kv-cache-dtype" in p.stderr + p.stdout


def test_generate_accepts_the_flag():
    binary = glmserve_binary()
    if binary is None:
        pytest.skip("glmserve is not built (set GLMSERVE_BIN)")
    outs = {}
    for dtype in ("bf16", "fp8_e4m3", "fp8_e5m2"):
        p = subprocess.run([binary, "generate", "--model-path", str(FIXTURES / MODEL), "--prompt-ids", "5,6,7,8,9",
                            "--max-new-tokens", "4", "--ignore-eos", "--threads", "1", "--kv-cache-dtype", dtype],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        outs[dtype] = [int(x) for x in p.stdout.splitlines()[0].split(",")]
        assert len(outs[dtype]) == 4
    p = subprocess.run([binary, "generate", "--model-path", str(FIXTURES / MODEL), "--prompt-ids", "5",
                        "--kv-cache-dtype", "int4"], capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
