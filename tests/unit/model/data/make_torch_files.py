"""Writes the torch.save files behind tests/unit/model/torch_file_test.cpp, and what torch.load returns
for each (the oracle) as torch_files.json. Needs torch (dev only, like tools/make_fixtures.py):

    /opt/fixenv/bin/python tests/unit/model/data/make_torch_files.py

Each case is what an FR-Spec token map (SGLang --speculative-token-map) may be: integer tensors of every
width, a view with a storage offset, Python lists and tuples, and some that glmserve must refuse.
"""
import json
from pathlib import Path

import torch

OUT = Path(__file__).resolve().parent / "torch_files"


def nested(depth):
    v = [1]
    for _ in range(depth):
        v = [v]
    return v


def main():
    OUT.mkdir(exist_ok=True)
    g = torch.Generator().manual_seed(7)
    hot = torch.randperm(1552, generator=g)[:300]  # a token map for the 1552-token fixture vocabulary
    cases = {
        "int64_tensor": hot.clone(),
        "int32_tensor": hot.to(torch.int32),
        "int16_tensor": torch.tensor([-3, 0, 7, 32767], dtype=torch.int16),
        "uint8_tensor": torch.tensor([0, 1, 200, 255], dtype=torch.uint8),
        "int8_tensor": torch.tensor([-128, -1, 0, 127], dtype=torch.int8),
        "offset_view": torch.arange(1000, 1100)[10:30],  # saved with its whole storage and offset 10
        "big_ints": torch.tensor([2**40, -(2**40), 2**62], dtype=torch.int64),
        "empty_tensor": torch.zeros(0, dtype=torch.int64),
        "python_list": [5, 1, 300, 70000, -2],  # BININT1, BININT2, BININT, negative
        "python_tuple": (9, 8, 7),
        "long_list": list(range(0, 3000, 3)),  # APPENDS in batches of 1000
        "huge_int_list": [2**40, -(2**63)],  # LONG1
        # glmserve must refuse these (the test checks the message):
        "float_tensor": torch.tensor([1.5, 2.0]),
        "matrix": torch.arange(6).reshape(2, 3),
        "strided_view": torch.arange(20)[::2],
        "dict": {"ids": [1, 2]},
        "string_list": ["a", "b"],
        "deep_nesting": nested(150),  # refused before its copies and destructors could recurse that deep
    }
    refused = {"float_tensor", "matrix", "strided_view", "dict", "string_list", "deep_nesting"}
    expected = {}
    for name, value in cases.items():
        path = OUT / f"{name}.pt"
        torch.save(value, path)
        loaded = torch.load(path, weights_only=True)
        # The oracle is only as good as the round trip: what torch.load gives back is what was saved.
        if isinstance(value, torch.Tensor):
            assert isinstance(loaded, torch.Tensor) and torch.equal(loaded, value), name
        else:
            assert loaded == value, name
        if isinstance(loaded, torch.Tensor) and not loaded.is_floating_point() and loaded.dim() == 1 \
                and (loaded.numel() <= 1 or loaded.stride(0) == 1):
            expected[name] = loaded.tolist()
        elif isinstance(loaded, (list, tuple)) and all(isinstance(x, int) for x in loaded):
            expected[name] = list(loaded)
        else:
            expected[name] = None  # not a list of token ids
        assert (expected[name] is None) == (name in refused), name
    # The view keeps its storage offset through torch.save (what the C++ reader must honour).
    assert torch.load(OUT / "offset_view.pt", weights_only=True).storage_offset() == 10
    assert len(expected["int64_tensor"]) == 300 and len(set(expected["int64_tensor"])) == 300
    (OUT / "torch_files.json").write_text(json.dumps({"torch": torch.__version__, "cases": expected}, indent=1) + "\n")
    print(f"wrote {len(cases)} files to {OUT}")


if __name__ == "__main__":
    main()
