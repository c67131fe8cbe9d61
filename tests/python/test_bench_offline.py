"""`glmserve bench` offline mode: the llama-bench-style modes (pp only, tg from an empty cache, pp + tg),
the grid, repeats and the JSON contract (last stdout line, --result-file)."""
import json
import subprocess

import pytest

from conftest import FIXTURES, glmserve_binary


def run_bench(*args):
    binary = glmserve_binary()
    if binary is None:
        pytest.skip("glmserve is not built")
    out = subprocess.run([binary, "bench", "--model-path", str(FIXTURES / "glm45-tiny"), "--threads", "1", *args],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out


def test_grid_json_and_result_file(tmp_path):
    result_file = tmp_path / "r.json"
    out = run_bench("--input-len", "0,16", "--output-len", "0,4", "--batch-size", "1,3", "-r", "2",
                    "--result-file", str(result_file))
    last = json.loads(out.stdout.strip().splitlines()[-1])
    assert json.loads(result_file.read_text()) == last
    runs = last["runs"]
    assert len(runs) == 2 * 2 * 2
    for r in runs:
        assert len(r["prefill_tokens_per_s_samples"]) == 2 and len(r["decode_tokens_per_s_samples"]) == 2
        # a phase with no work reports 0; every other phase a positive rate (median of the samples)
        assert (r["prefill_tokens_per_s"] > 0) == (r["input_len"] > 0)
        assert (r["decode_tokens_per_s"] > 0) == (r["output_len"] > 0)
        assert sorted(r["decode_tokens_per_s_samples"])[0] <= r["decode_tokens_per_s"]
    assert last == {**runs[-1], "model_path": last["model_path"], "runs": runs}


def test_bad_values_are_refused():
    binary = glmserve_binary()
    if binary is None:
        pytest.skip("glmserve is not built")
    for bad in (["--input-len", "-1"], ["--batch-size", "0"], ["--output-len", "x"]):
        out = subprocess.run([binary, "bench", "--model-path", str(FIXTURES / "glm45-tiny"), *bad],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode != 0 and out.stderr.strip(), bad
