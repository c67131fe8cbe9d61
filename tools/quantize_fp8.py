#!/usr/bin/env python3
"""FP8 (e4m3) weight quantization of a bf16 Hugging Face Glm4Moe checkpoint.

Two on-disk formats, both read by glmserve (see shared/spec/sglang-glm.md §2):

  block    DeepSeek-V3 style, `quantization_config.quant_method = "fp8"`:
           X.weight            float8_e4m3fn [out, in]
           X.weight_scale_inv  float32 [ceil(out/128), ceil(in/128)]   w ~= q * scale_inv (per 128x128 block;
                               the edge blocks of dims that are not multiples of 128 are partial)
  channel  compressed-tensors "float-quantized" (llm-compressor FP8_DYNAMIC layout):
           X.weight            float8_e4m3fn [out, in]
           X.weight_scale      bfloat16 [out, 1]                       w ~= q * scale (per output row)
           modules named in `ignore` (exact module name, or "re:<regex>" matched against it) stay bf16.

Quantized modules: the projections q/k/v/o_proj and gate/up/down_proj of dense MLPs, routed experts and
shared experts, including those of the MTP/NextN layer. Never quantized: embeddings, lm_head, norms, biases,
the router (mlp.gate), e_score_correction_bias, and the NextN eh_proj / shared_head.head (listed in the
channel format's `ignore` so that honouring `ignore` is enough to load it).

Usage (streams tensor by tensor, so it works on checkpoints larger than memory):
  python3 tools/quantize_fp8.py IN_DIR OUT_DIR --format block|channel [--ignore MODULE ...]
Uses torch when it is installed (make_fixtures.py imports these functions); without torch the command line
falls back to fp8_numpy.py (numpy + ml_dtypes), which produces the same bytes.
"""
import argparse
import json
import math
import os
import re
import shutil
import sys

try:
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file
except ImportError:  # the numpy path (fp8_numpy.py) serves the command line
    torch = None

E4M3_MAX = 448.0
BLOCK = 128
PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")

BLOCK_QUANT_CONFIG = {"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic",
                      "weight_block_size": [BLOCK, BLOCK]}

# Modules that compressed-tensors would otherwise target as "Linear" but that stay bf16.
CHANNEL_DEFAULT_IGNORE = ["lm_head", r"re:.*mlp\.gate$", r"re:.*eh_proj$", r"re:.*shared_head\.head$"]


def channel_quant_config(ignore):
    """quantization_config as llm-compressor writes it for FP8_DYNAMIC (channel weights, token activations)."""
    return {
        "quant_method": "compressed-tensors",
        "format": "float-quantized",
        "quantization_status": "compressed",
        "config_groups": {"group_0": {
            "targets": ["Linear"],
            "weights": {"num_bits": 8, "type": "float", "strategy": "channel", "symmetric": True,
                        "dynamic": False, "group_size": None, "block_structure": None, "actorder": None,
                        "observer": "minmax", "observer_kwargs": {}},
            "input_activations": {"num_bits": 8, "type": "float", "strategy": "token", "symmetric": True,
                                  "dynamic": True, "group_size": None, "block_structure": None,
                                  "actorder": None, "observer": None, "observer_kwargs": {}},
            "output_activations": None,
            "format": "float-quantized",
        }},
        "ignore": list(ignore),
        "kv_cache_scheme": None,
        "global_compression_ratio": None,
        "sparsity_config": {},
    }


def module_name(tensor_name):
    return tensor_name.rsplit(".", 1)[0]


def is_projection_weight(name, also=()):
    """True for the [out, in] weight of a projection that FP8 checkpoints store quantized, or of a module
    named in `also` (e.g. lm_head, which published FP8 checkpoints keep in bf16)."""
    return name.endswith(".weight") and (module_name(name).rsplit(".", 1)[-1] in PROJECTIONS
                                         or module_name(name) in also)


def is_ignored(module, ignore):
    """compressed-tensors semantics: plain entries match the module name exactly, 're:' entries are regexes."""
    for pattern in ignore:
        if pattern.startswith("re:"):
            if re.match(pattern[3:], module):
                return True
        elif pattern == module:
            return True
    return False


def _to_e4m3(x):
    # torch's cast rounds to nearest-even; clamp first because out-of-range values become NaN, not 448
    return x.clamp(-E4M3_MAX, E4M3_MAX).to(torch.float8_e4m3fn)


def quantize_block(w):
    """w [out, in] -> (q float8_e4m3fn [out, in], scale_inv float32 [ceil(out/128), ceil(in/128)])."""
    out_f, in_f = w.shape
    bo, bi = math.ceil(out_f / BLOCK), math.ceil(in_f / BLOCK)
    padded = torch.zeros(bo * BLOCK, bi * BLOCK, dtype=torch.float32)
    padded[:out_f, :in_f] = w.float()
    blocks = padded.view(bo, BLOCK, bi, BLOCK)
    scale_inv = (blocks.abs().amax(dim=(1, 3)) / E4M3_MAX).clamp(min=1e-12)
    q = _to_e4m3(blocks / scale_inv[:, None, :, None]).view(bo * BLOCK, bi * BLOCK)
    return q[:out_f, :in_f].contiguous(), scale_inv.contiguous()


def dequantize_block(q, scale_inv):
    out_f, in_f = q.shape
    s = scale_inv.float().repeat_interleave(BLOCK, 0).repeat_interleave(BLOCK, 1)[:out_f, :in_f]
    return q.float() * s


def quantize_channel(w):
    """w [out, in] -> (q float8_e4m3fn [out, in], scale bfloat16 [out, 1]).

    The scale is rounded to bf16 BEFORE dividing, so q * scale is exactly what a loader reconstructs."""
    scale = (w.float().abs().amax(dim=1, keepdim=True) / E4M3_MAX).clamp(min=1e-12).to(torch.bfloat16)
    q = _to_e4m3(w.float() / scale.float())
    return q.contiguous(), scale.contiguous()


def dequantize_channel(q, scale):
    return q.float() * scale.float()


def quantize_tensor(name, w, fmt, ignore, also=()):
    """One checkpoint tensor -> {name: tensor} to write; unquantized tensors pass through unchanged."""
    if not is_projection_weight(name, also) or w.dim() != 2:
        return {name: w}
    if fmt == "block":
        q, s = quantize_block(w)
        return {name: q, name + "_scale_inv": s}
    if is_ignored(module_name(name), ignore):
        return {name: w}
    q, s = quantize_channel(w)
    return {name: q, name + "_scale": s}


def dequantize_checkpoint(tensors):
    """Checkpoint dict with FP8 weights -> float32 weights as a loader reconstructs them (scales dropped)."""
    out = {}
    for name, t in tensors.items():
        if name.endswith("_scale_inv") or name.endswith(".weight_scale"):
            continue
        if t.dtype == torch.float8_e4m3fn:
            if name + "_scale_inv" in tensors:
                out[name] = dequantize_block(t, tensors[name + "_scale_inv"])
            else:
                out[name] = dequantize_channel(t, tensors[name + "_scale"])
        else:
            out[name] = t.float()
    return out


def quant_config(fmt, ignore):
    return dict(BLOCK_QUANT_CONFIG) if fmt == "block" else channel_quant_config(ignore)


def _shard_files(in_dir):
    index_path = os.path.join(in_dir, "model.safetensors.index.json")
    if os.path.exists(index_path):
        weight_map = json.load(open(index_path))["weight_map"]
        return sorted(set(weight_map.values())), True
    if os.path.exists(os.path.join(in_dir, "model.safetensors")):
        return ["model.safetensors"], False
    sys.exit(f"{in_dir}: neither model.safetensors.index.json nor model.safetensors")


def quantize_checkpoint(in_dir, out_dir, fmt, ignore, also=()):
    """Stream every shard of in_dir: one output shard per input shard, same file names."""
    os.makedirs(out_dir, exist_ok=True)
    files, sharded = _shard_files(in_dir)
    weight_map, total = {}, 0
    for fn in files:
        if torch is None:
            import fp8_numpy

            def wants_quant(name, w):
                return (is_projection_weight(name, also) and w.ndim == 2
                        and not (fmt == "channel" and is_ignored(module_name(name), ignore)))
            sizes = fp8_numpy.quantize_shard(os.path.join(in_dir, fn), os.path.join(out_dir, fn), fmt, wants_quant)
            for k, n in sizes.items():
                weight_map[k] = fn
                total += n
            print(f"  {fn}: {len(sizes)} tensors", flush=True)
            continue
        out = {}
        with safe_open(os.path.join(in_dir, fn), framework="pt") as f:
            for name in f.keys():
                for k, v in quantize_tensor(name, f.get_tensor(name), fmt, ignore, also).items():
                    out[k] = v.contiguous()
        save_file(out, os.path.join(out_dir, fn), metadata={"format": "pt"})
        for k, v in out.items():
            weight_map[k] = fn
            total += v.numel() * v.element_size()
        print(f"  {fn}: {len(out)} tensors", flush=True)
        del out
    if sharded:
        json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))},
                  open(os.path.join(out_dir, "model.safetensors.index.json"), "w"), indent=2)
    for entry in os.listdir(in_dir):
        src = os.path.join(in_dir, entry)
        if entry.endswith(".safetensors") or entry in ("model.safetensors.index.json", "config.json"):
            continue
        if os.path.isfile(src):
            shutil.copyfile(src, os.path.join(out_dir, entry))
    cfg = json.load(open(os.path.join(in_dir, "config.json")))
    cfg["quantization_config"] = quant_config(fmt, ignore)
    json.dump(cfg, open(os.path.join(out_dir, "config.json"), "w"), indent=2)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("in_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--format", choices=["block", "channel"], required=True)
    ap.add_argument("--ignore", nargs="*", default=[],
                    help="extra module names (or re:REGEX) kept in bf16, channel format only")
    ap.add_argument("--also", nargs="*", default=[],
                    help="more modules to quantize, e.g. lm_head (llama.cpp's Q8_0 quantizes its output matrix "
                         "too: use it for like-for-like benchmarks; published FP8 checkpoints keep it bf16)")
    a = ap.parse_args()
    if os.path.abspath(a.in_dir) == os.path.abspath(a.out_dir):
        sys.exit("OUT_DIR must differ from IN_DIR")
    ignore = CHANNEL_DEFAULT_IGNORE + a.ignore
    ignore = [p for p in ignore if not (p in a.also or any(re.fullmatch(p[3:], m) for m in a.also if p.startswith("re:")))]
    quantize_checkpoint(a.in_dir, a.out_dir, a.format, ignore, tuple(a.also))


if __name__ == "__main__":
    main()
