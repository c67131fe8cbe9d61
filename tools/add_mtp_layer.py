#!/usr/bin/env python3
"""Give a GLM-4.5-style checkpoint without one an untrained MTP (NextN) layer, for benchmarks only.

    tools/add_mtp_layer.py SRC_DIR DST_DIR

DST_DIR gets symlinks to SRC_DIR's files, a config with num_nextn_predict_layers = 1, and one more shard
holding model.layers.{L}: a copy of the last decoder layer's weights (so the draft costs what a real MTP
layer costs), enorm / hnorm / shared_head.norm = 1 and a random eh_proj (bf16, N(0, 1/(2H))). Its drafts are
essentially never accepted: this is the model on which speculation must fall back to plain decoding
(docs/PERFORMANCE.md, "Speculative decoding"). Needs only the standard library (safetensors parsed by hand).
"""
import json
import os
import random
import struct
import sys


def read_header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n)), 8 + n


def main(src, dst):
    os.makedirs(dst, exist_ok=True)
    cfg = json.load(open(os.path.join(src, "config.json")))
    L, H = cfg["num_hidden_layers"], cfg["hidden_size"]
    index = json.load(open(os.path.join(src, "model.safetensors.index.json")))
    for name in os.listdir(src):
        if name not in ("config.json", "model.safetensors.index.json") and not os.path.exists(os.path.join(dst, name)):
            os.symlink(os.path.abspath(os.path.join(src, name)), os.path.join(dst, name))
    src_prefix, dst_prefix = f"model.layers.{L - 1}.", f"model.layers.{L}."
    tensors = []  # (name, dtype, shape, bytes)
    for name, shard in sorted(index["weight_map"].items()):
        if not name.startswith(src_prefix):
            continue
        header, base = read_header(os.path.join(src, shard))
        meta = header[name]
        start, end = meta["data_offsets"]
        with open(os.path.join(src, shard), "rb") as f:
            f.seek(base + start)
            tensors.append((dst_prefix + name[len(src_prefix):], meta["dtype"], meta["shape"], f.read(end - start)))

    def bf16(values):
        return b"".join(struct.pack("<H", struct.unpack("<I", struct.pack("<f", v))[0] >> 16) for v in values)

    rng = random.Random(0)
    std = (1.0 / (2 * H)) ** 0.5
    for norm in ("enorm", "hnorm", "shared_head.norm"):
        tensors.append((f"{dst_prefix}{norm}.weight", "BF16", [H], bf16([1.0] * H)))
    tensors.append((f"{dst_prefix}eh_proj.weight", "BF16", [H, 2 * H], bf16([rng.gauss(0, std) for _ in range(2 * H * H)])))
    header, offset = {}, 0
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    blob = json.dumps(header).encode()
    blob += b" " * (-len(blob) % 8)
    shard = "model-mtp.safetensors"
    with open(os.path.join(dst, shard), "wb") as f:
        f.write(struct.pack("<Q", len(blob)) + blob)
        for _, _, _, data in tensors:
            f.write(data)
    for name, *_ in tensors:
        index["weight_map"][name] = shard
    json.dump(index, open(os.path.join(dst, "model.safetensors.index.json"), "w"), indent=1)
    cfg["num_nextn_predict_layers"] = 1
    json.dump(cfg, open(os.path.join(dst, "config.json"), "w"), indent=1)
    print(f"{dst}: MTP layer {L} from layer {L - 1} ({len(tensors)} tensors, {offset / 2**20:.0f} MiB)")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
