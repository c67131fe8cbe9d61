"""The FP8 quantizer of quantize_fp8.py without torch: numpy + ml_dtypes, for converting large checkpoints
(e.g. the synthetic benchmark models) on machines where torch is not installed.

Same arithmetic as the torch path (float32 block/row amax / 448, clamp to +-448, cast rounding to nearest
even), so both produce the same bytes; tests/python/test_fp8_numpy.py checks it against the torch-made
FP8 fixtures. Safetensors files are read through np.memmap and written tensor by tensor, so memory stays
at about one tensor.
"""
import json
import math
import os
import struct

import ml_dtypes
import numpy as np

E4M3_MAX = 448.0
BLOCK = 128

_NP_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": ml_dtypes.bfloat16,
              "F8_E4M3": ml_dtypes.float8_e4m3fn, "I64": np.int64, "I32": np.int32, "U8": np.uint8}
_ST_NAMES = {np.dtype(v).name: k for k, v in _NP_DTYPES.items()}


def read_safetensors(path):
    """{name: read-only numpy view into the file} (memory-mapped)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    raw = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dt = np.dtype(_NP_DTYPES[info["dtype"]])
        out[name] = raw[begin:end].view(dt).reshape(info["shape"])
    return out


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: numpy array} in safetensors layout (names sorted, 8-byte aligned header)."""
    header, offset = {}, 0
    names = sorted(tensors)
    for name in names:
        t = tensors[name]
        header[name] = {"dtype": _ST_NAMES[t.dtype.name], "shape": list(t.shape),
                        "data_offsets": [offset, offset + t.nbytes]}
        offset += t.nbytes
    if metadata:
        header["__metadata__"] = metadata
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * ((8 - len(blob) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for name in names:
            f.write(np.ascontiguousarray(tensors[name]).tobytes())


def _to_e4m3(x):
    return np.clip(x, -E4M3_MAX, E4M3_MAX).astype(ml_dtypes.float8_e4m3fn)


def quantize_block(w):
    """w [out, in] -> (q e4m3 [out, in], scale_inv float32 [ceil(out/128), ceil(in/128)])."""
    out_f, in_f = w.shape
    bo, bi = math.ceil(out_f / BLOCK), math.ceil(in_f / BLOCK)
    padded = np.zeros((bo * BLOCK, bi * BLOCK), dtype=np.float32)
    padded[:out_f, :in_f] = w.astype(np.float32)
    blocks = padded.reshape(bo, BLOCK, bi, BLOCK)
    scale_inv = np.maximum(np.abs(blocks).max(axis=(1, 3)) / np.float32(E4M3_MAX), np.float32(1e-12))
    q = _to_e4m3(blocks / scale_inv[:, None, :, None]).reshape(bo * BLOCK, bi * BLOCK)
    return np.ascontiguousarray(q[:out_f, :in_f]), scale_inv.astype(np.float32)


def quantize_channel(w):
    """w [out, in] -> (q e4m3 [out, in], scale bfloat16 [out, 1]); the scale is rounded to bf16 first."""
    wf = w.astype(np.float32)
    scale = np.maximum(np.abs(wf).max(axis=1, keepdims=True) / np.float32(E4M3_MAX),
                       np.float32(1e-12)).astype(ml_dtypes.bfloat16)
    return _to_e4m3(wf / scale.astype(np.float32)), scale


def quantize_shard(in_path, out_path, fmt, wants_quant):
    """Quantizes one shard; wants_quant(name, array) -> bool picks the projection weights. Returns
    {written name: nbytes}."""
    src = read_safetensors(in_path)
    out = {}
    for name, w in src.items():
        if not wants_quant(name, w):
            out[name] = w
        elif fmt == "block":
            out[name], out[name + "_scale_inv"] = quantize_block(w)
        else:
            out[name], out[name + "_scale"] = quantize_channel(w)
    write_safetensors(out_path, out, {"format": "pt"})
    return {k: v.nbytes for k, v in out.items()}
