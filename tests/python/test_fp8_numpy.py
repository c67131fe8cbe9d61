"""tools/fp8_numpy.py (the torch-free FP8 quantizer) against the torch-made FP8 fixtures: dequantizing a
fixture and quantizing it again must give back the same FP8 bytes and scales, in both layouts."""
import glob
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
fp8_numpy = pytest.importorskip("fp8_numpy")
FIXTURES = os.path.join(ROOT, "tests", "fixtures")


def fp8_tensors(model):
    for fn in sorted(glob.glob(os.path.join(FIXTURES, model, "*.safetensors"))):
        tensors = fp8_numpy.read_safetensors(fn)
        for name, q in tensors.items():
            if q.dtype.name == "float8_e4m3fn":
                yield name, q, tensors


@pytest.mark.parametrize("model,fmt", [("glm45air-tiny-fp8", "block"), ("glm-tiny-fp8-channel", "channel")])
def test_requantize_round_trip_is_exact(model, fmt):
    n = 0
    for name, q, tensors in fp8_tensors(model):
        if fmt == "block":
            s = tensors[name + "_scale_inv"]
            full = np.repeat(np.repeat(s, 128, 0), 128, 1)[: q.shape[0], : q.shape[1]]
            q2, s2 = fp8_numpy.quantize_block(q.astype(np.float32) * full)
        else:
            s = tensors[name + "_scale"]
            q2, s2 = fp8_numpy.quantize_channel(q.astype(np.float32) * s.astype(np.float32))
        assert np.array_equal(q2.view(np.uint8), q.view(np.uint8)), name
        assert np.array_equal(s2.astype(np.float32), s.astype(np.float32)), name
        n += 1
    assert n > 10


def test_write_then_read(tmp_path):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((300, 200)).astype(np.float32)
    q, s = fp8_numpy.quantize_block(w)
    path = str(tmp_path / "x.safetensors")
    fp8_numpy.write_safetensors(path, {"a.weight": q, "a.weight_scale_inv": s, "b": w})
    back = fp8_numpy.read_safetensors(path)
    assert np.array_equal(back["a.weight"].view(np.uint8), q.view(np.uint8))
    assert np.array_equal(back["a.weight_scale_inv"], s) and np.array_equal(back["b"], w)
    # the dequantized block weights stay within e4m3 precision (3 mantissa bits) of the input
    full = np.repeat(np.repeat(s, 128, 0), 128, 1)[:300, :200]
    assert np.max(np.abs(q.astype(np.float32) * full - w) / np.maximum(np.abs(w), full * 8)) < 0.07
