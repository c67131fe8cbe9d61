#!/usr/bin/env python3
"""Generate glmserve's committed test fixtures: a small GLM-style tokenizer, four tiny Glm4MoeForCausalLM
checkpoints in the published Hugging Face layout (bf16, block FP8, compressed-tensors channel FP8, odd shapes),
and float32 references computed by transformers' own Glm4MoeForCausalLM / MtpModel on those checkpoints.

Usage:  OMP_NUM_THREADS=2 python3 tools/make_fixtures.py tests/fixtures [--mtp-train-steps N] [--only NAME ...]
Needs torch, transformers (>= 5.x with glm4_moe and modeling_layers.MtpModel), tokenizers, safetensors.
Deterministic for a given Python (its stdlib is the tokenizer's training corpus), torch and transformers.
Tensor names, shapes and conventions of the references: tools/README.md.
"""
import argparse
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time

# MKL may pick kernels by memory alignment; STRICT keeps float results (and so the trained MTP weights)
# identical from run to run for a given thread count. Must be set before torch loads MKL.
os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

import transformers  # noqa: E402
from transformers import Glm4MoeConfig, Glm4MoeForCausalLM  # noqa: E402
from transformers.modeling_layers import MtpModel  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import quantize_fp8  # noqa: E402  (the same quantizer as tools/quantize_fp8.py)

SHARED = os.environ.get("GLM_SHARED_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "shared"))

# The 36 added tokens of the GLM-4.5 vocabulary, in id order (151329.. there, BPE_VOCAB.. here).
GLM_ADDED = [
    "<|endoftext|>", "[MASK]", "[gMASK]", "[sMASK]", "<sop>", "<eop>",
    "<|system|>", "<|user|>", "<|assistant|>", "<|observation|>",
    "<|begin_of_image|>", "<|end_of_image|>", "<|begin_of_video|>", "<|end_of_video|>",
    "<|begin_of_audio|>", "<|end_of_audio|>", "<|begin_of_transcription|>", "<|end_of_transcription|>",
    "<|code_prefix|>", "<|code_middle|>", "<|code_suffix|>",
    "<think>", "</think>", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>",
    "<arg_key>", "</arg_key>", "<arg_value>", "</arg_value>", "/nothink",
    "<|begin_of_box|>", "<|end_of_box|>", "<|image|>", "<|video|>",
]
# Added tokens with special=false: the tool/reasoning parsers read them from decoded text.
GLM_NOT_SPECIAL = {"<think>", "</think>", "<tool_call>", "</tool_call>", "<tool_response>",
                   "</tool_response>", "<arg_key>", "</arg_key>", "<arg_value>", "</arg_value>",
                   "/nothink", "<|begin_of_box|>", "<|end_of_box|>"}

GLM_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
             r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

BPE_VOCAB = 1500     # byte-level BPE ids 0..1499, added tokens 1500..1535
CONFIG_VOCAB = 1552  # embedding rows; 1536..1551 are padding rows, as 151365..151551 are in GLM-4.5

MULTILINGUAL = [
    "The quick brown fox jumps over the lazy dog. 1234567890 3.14159",
    "你好，世界！今天天气很好，我们去公园散步吧。",
    "机器学习是人工智能的一个分支，它使计算机能够从数据中学习。",
    "Привет, мир! Как дела?", "こんにちは世界、元気ですか？", "안녕하세요 세계",
    "Ünïcödé façade naïve café résumé coöperate", "emoji 😀🎉👍🏽 👨‍👩‍👧‍👦 ❤️",
    "def f(x):\n    return x ** 2  # square\n\n\tindent\r\nwindows line",
    "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Beijing\", \"days\": 3}}",
    "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>北京</arg_value>\n</tool_call>",
    "<think>Let me think step by step.</think>The answer is 42.",
]

REFERENCE_TEXT = ("[gMASK]<sop><|user|>\nWhat is the capital of France? Answer briefly, "
                  "then say 你好，世界！<|assistant|>\n<think></think>\nThe capital of France is Paris.")

# ----------------------------------------------------------------------------------------------- tokenizer


def corpus_texts(limit_chars=3_000_000):
    """Deterministic training text: the running Python's stdlib sources plus multilingual lines."""
    root = os.path.dirname(os.__file__)
    files = []
    for d, _, fs in os.walk(root):
        if "site-packages" in d or "test" in d:
            continue
        files += [os.path.join(d, f) for f in fs if f.endswith((".py", ".txt", ".rst"))]
    out, n = [], 0
    for f in sorted(files):
        try:
            t = open(f, encoding="utf-8").read()
        except (UnicodeDecodeError, OSError):
            continue
        out.append(t)
        n += len(t)
        if n > limit_chars:
            break
    return out + MULTILINGUAL * 200


def build_tokenizer(outdir):
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE(fuse_unk=False, byte_fallback=False, ignore_merges=True))
    tok.normalizer = None
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(GLM_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    trainer = trainers.BpeTrainer(vocab_size=BPE_VOCAB, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    tok.train_from_iterator(corpus_texts(), trainer)
    assert tok.get_vocab_size() == BPE_VOCAB, f"BPE trained {tok.get_vocab_size()} tokens, wanted {BPE_VOCAB}"
    tok.add_tokens([AddedToken(s, special=(s not in GLM_NOT_SPECIAL), normalized=False,
                               single_word=False, lstrip=False, rstrip=False) for s in GLM_ADDED])
    ids = {s: tok.token_to_id(s) for s in GLM_ADDED}
    assert [ids[s] for s in GLM_ADDED] == list(range(BPE_VOCAB, BPE_VOCAB + len(GLM_ADDED)))
    os.makedirs(outdir, exist_ok=True)
    tok.save(os.path.join(outdir, "tokenizer.json"))
    json.dump(tokenizer_config(ids, None), open(os.path.join(outdir, "tokenizer_config.json"), "w"),
              indent=2, ensure_ascii=False)
    json.dump(tokenizer_cases(tok, seed=1, n_fuzz=120),
              open(os.path.join(outdir, "tokenizer-cases.json"), "w"), indent=1, ensure_ascii=False)
    return tok, ids


def tokenizer_config(ids, chat_template):
    cfg = {
        "added_tokens_decoder": {str(ids[s]): {"content": s, "lstrip": False, "normalized": False,
                                                "rstrip": False, "single_word": False,
                                                "special": s not in GLM_NOT_SPECIAL} for s in GLM_ADDED},
        "clean_up_tokenization_spaces": False, "do_lower_case": False, "eos_token": "<|endoftext|>",
        "extra_special_tokens": {}, "model_max_length": 131072, "pad_token": "<|endoftext|>",
        "padding_side": "left", "remove_space": False, "tokenizer_class": "PreTrainedTokenizerFast",
    }
    if chat_template is not None:
        cfg["chat_template"] = chat_template
    return cfg


def fuzz_strings(rng, n):
    pools = [
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", " \t\n\r",
        ".,;:!?'\"()[]{}<>/\\|@#$%^&*-_=+~`", "你好世界学习数据模型计算机", "éèàçñüößøå",
        "😀🎉👍🏽❤️🚀", "\u0301\u0308\u200d\u00a0\u3000", "ПриветмирΑλφαβητο",
    ]
    words = ["'s", "'ll", "'RE", "<think>", "</think>", "<|user|>", "<tool_call>", "<arg_key>",
             "[gMASK]", "<sop>", "   ", "\n\n", "123456", "don't", "/nothink", "<|endoftext|>"]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 40)):
            if rng.random() < 0.15:
                parts.append(rng.choice(words))
            else:
                p = rng.choice(pools)
                parts.append("".join(rng.choice(p) for _ in range(rng.randint(1, 6))))
        out.append("".join(parts))
    return out


def tokenizer_cases(tok, seed, n_fuzz):
    """Strings with the ids and decodings the `tokenizers` library gives them (oracle for C++ tests)."""
    strings = list(MULTILINGUAL) + [
        "", " ", "  ", "\n", " \n ", "a", "Hello world", " Hello", "hello   world  ", "I'm you're WE'LL",
        "12345678901", "x=1+2*3", "tabs\tand\nnewlines\r\n", REFERENCE_TEXT,
        "[gMASK]<sop><|system|>\nYou are helpful.<|user|>\nhi<|assistant|>\n",
        "<|user|><|user|>", "a<think>b</think>c", "</think>\n\n", "\n\n", "x<|system|>y",
    ] + fuzz_strings(random.Random(seed), n_fuzz)
    cases = []
    for s in strings:
        enc = tok.encode(s, add_special_tokens=False)
        cases.append({"text": s, "ids": enc.ids,
                      "decoded": tok.decode(enc.ids, skip_special_tokens=False),
                      "decoded_skip_special": tok.decode(enc.ids, skip_special_tokens=True)})
    return cases

# ----------------------------------------------------------------------------------------------- models


def base_config(ids):
    """Fields shared by every fixture, with the real GLM-4.5 config.json names and conventions."""
    return {
        "architectures": ["Glm4MoeForCausalLM"], "model_type": "glm4_moe",
        "attention_bias": True, "attention_dropout": 0.0, "hidden_act": "silu", "initializer_range": 0.02,
        "max_position_embeddings": 131072, "n_shared_experts": 1, "norm_topk_prob": True,
        "num_nextn_predict_layers": 1, "pad_token_id": ids["<|endoftext|>"],
        "eos_token_id": [ids["<|endoftext|>"], ids["<|user|>"], ids["<|observation|>"]],
        "partial_rotary_factor": 0.5, "rms_norm_eps": 1e-05, "rope_scaling": None, "rope_theta": 1000000.0,
        "tie_word_embeddings": False, "torch_dtype": "bfloat16", "transformers_version": "4.54.0",
        "use_cache": True, "vocab_size": CONFIG_VOCAB,
    }


def fixture_specs(ids):
    """name -> (config.json, chat template, quantization format, single-file?, seed, generation extras)."""
    b = base_config(ids)
    glm45 = {**b, "hidden_size": 128, "num_hidden_layers": 3, "first_k_dense_replace": 1,
             "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 64, "intermediate_size": 192,
             "moe_intermediate_size": 32, "n_routed_experts": 16, "num_experts_per_tok": 4, "n_group": 4,
             "topk_group": 2, "routed_scaling_factor": 2.5, "use_qk_norm": True}
    air = {**b, "hidden_size": 128, "num_hidden_layers": 3, "first_k_dense_replace": 1,
           "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 64, "intermediate_size": 320,
           "moe_intermediate_size": 96, "n_routed_experts": 8, "num_experts_per_tok": 4, "n_group": 1,
           "topk_group": 1, "routed_scaling_factor": 1.0, "use_qk_norm": False}
    glm47 = {**b, "hidden_size": 128, "num_hidden_layers": 3, "first_k_dense_replace": 1,
             "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 64, "intermediate_size": 192,
             "moe_intermediate_size": 32, "n_routed_experts": 16, "num_experts_per_tok": 4, "n_group": 1,
             "topk_group": 1, "routed_scaling_factor": 2.5, "use_qk_norm": True,
             "max_position_embeddings": 202752, "transformers_version": "4.57.1"}
    glm47.pop("torch_dtype")
    glm47["dtype"] = "bfloat16"  # newer transformers write "dtype"; loaders must accept both names
    odd = {**b, "hidden_size": 152, "num_hidden_layers": 3, "first_k_dense_replace": 2,
           "num_attention_heads": 3, "num_key_value_heads": 1, "head_dim": 96, "partial_rotary_factor": 0.5,
           "intermediate_size": 136, "moe_intermediate_size": 24, "n_routed_experts": 8,
           "num_experts_per_tok": 3, "n_group": 1, "topk_group": 1, "n_shared_experts": 2,
           "routed_scaling_factor": 1.0, "norm_topk_prob": False, "use_qk_norm": True, "attention_bias": False,
           "eos_token_id": ids["<|endoftext|>"], "rope_theta": 10000.0}
    sampling = {"temperature": 1.0, "top_p": 0.95}  # Z.ai API defaults for GLM-4.6/4.7
    return {
        "glm45-tiny": (glm45, "4.5", None, False, 1234, {}),
        "glm45air-tiny-fp8": (air, "4.6", "block", False, 5678, sampling),
        "glm-tiny-fp8-channel": (glm47, "4.7", "channel", False, 4242, sampling),
        "glm-odd-tiny": (odd, "4.5", None, True, 9090, {}),
    }


# o_proj of layer 0 stays bf16 in the channel fixture so that honouring `ignore` is tested.
CHANNEL_FIXTURE_IGNORE = quantize_fp8.CHANNEL_DEFAULT_IGNORE + ["model.layers.0.self_attn.o_proj"]


def randomize_(module, gen, lm_head_gain=4.0, output_gain=0.4):
    """Weights with real spread, so that logits have clear margins and routing is not flat.

    Linear weights ~ N(0, 1/fan_in); embeddings N(0, 1); norms 1 + N(0, 0.2^2); biases and the router's
    e_score_correction_bias N(0, 0.1^2). lm_head gets `lm_head_gain` more so that top-2 margins are
    usually well above float noise. Sub-layer output projections (o_proj, down_proj) get `output_gain`:
    each layer still moves the logits by several units, but the residual stream keeps enough of the
    current token that the next-next token is learnable by a one-layer MTP head (real draft acceptance)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.dim() >= 2:
                std = 1.0 if "embed_tokens" in name else 1.0 / math.sqrt(p.shape[-1])
                if name.endswith("lm_head.weight"):
                    std *= lm_head_gain
                elif name.endswith(("o_proj.weight", "down_proj.weight", "experts.down_proj")):
                    std *= output_gain
                p.copy_(torch.randn(p.shape, generator=gen) * std)
            elif "norm" in name:
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
        for name, buf in module.named_buffers():
            if name.endswith("e_score_correction_bias"):
                buf.copy_(0.1 * torch.randn(buf.shape, generator=gen))


def zero_padding_rows_(model, used_vocab):
    """Rows past the tokenizer are unused, as in GLM-4.5: zero embedding and lm_head rows (logit exactly 0)."""
    with torch.no_grad():
        model.model.embed_tokens.weight[used_vocab:] = 0
        model.lm_head.weight[used_vocab:] = 0


def round_to_bf16_(module):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(p.bfloat16().float())


def split_experts(prefix, gate_up, down):
    """transformers' fused expert tensors -> per-expert checkpoint tensors (gate rows first in gate_up).

    gate_up [E, 2I, H], down [E, H, I] -> {prefix.E.gate_proj.weight [I, H], up_proj [I, H], down_proj [H, I]}"""
    inter = down.shape[2]
    out = {}
    for e in range(gate_up.shape[0]):
        out[f"{prefix}.{e}.gate_proj.weight"] = gate_up[e, :inter].clone()
        out[f"{prefix}.{e}.up_proj.weight"] = gate_up[e, inter:].clone()
        out[f"{prefix}.{e}.down_proj.weight"] = down[e].clone()
    return out


def to_checkpoint_names(state):
    """In-memory names -> published checkpoint names (per-expert tensors instead of fused 3-D ones)."""
    out = {}
    for k, v in state.items():
        if k.endswith("mlp.experts.gate_up_proj"):
            prefix = k[: -len(".gate_up_proj")]
            out.update(split_experts(prefix, v, state[prefix + ".down_proj"]))
        elif k.endswith("mlp.experts.down_proj"):
            continue
        else:
            out[k] = v.detach().clone()
    return out


def mtp_checkpoint_tensors(mtp, main, layer):
    """MtpModel tensors under the checkpoint names of layer `layer` (= num_hidden_layers), incl. the
    copies of embed_tokens and lm_head that the published checkpoints carry."""
    state = {}
    for k, v in mtp.layers[0].state_dict().items():
        k = k.replace("mtp_block.", "").replace("post_norm.", "shared_head.norm.")
        state[f"model.layers.{layer}.{k}"] = v
    out = to_checkpoint_names(state)
    out[f"model.layers.{layer}.embed_tokens.weight"] = main.model.embed_tokens.weight.detach().clone()
    out[f"model.layers.{layer}.shared_head.head.weight"] = main.lm_head.weight.detach().clone()
    return out


def storage_dtypes(tensors):
    """Checkpoint dtypes: bf16 everywhere except the fp32 router correction bias (as in GLM-4.5)."""
    return {k: (v.float() if k.endswith("e_score_correction_bias") else v.to(torch.bfloat16))
            for k, v in tensors.items()}


def write_weights(outdir, tensors, single_file, shard_bytes=1 << 20):
    """Sharded model-0000i-of-0000n.safetensors + index, or one model.safetensors without index."""
    if single_file:
        save_file({k: tensors[k].contiguous() for k in sorted(tensors)},
                  os.path.join(outdir, "model.safetensors"), metadata={"format": "pt"})
        return
    shards, cur, size = [], [], 0
    for n in sorted(tensors, key=layer_sort_key):
        b = tensors[n].numel() * tensors[n].element_size()
        if cur and size + b > shard_bytes:
            shards.append(cur)
            cur, size = [], 0
        cur.append(n)
        size += b
    shards.append(cur)
    wmap, total = {}, 0
    for i, group in enumerate(shards):
        fn = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        save_file({n: tensors[n].contiguous() for n in group}, os.path.join(outdir, fn), metadata={"format": "pt"})
        for n in group:
            wmap[n] = fn
            total += tensors[n].numel() * tensors[n].element_size()
    json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(wmap.items()))},
              open(os.path.join(outdir, "model.safetensors.index.json"), "w"), indent=2)


def layer_sort_key(name):
    """Keep each layer's tensors together (shards split between layers, like the real checkpoints)."""
    parts = name.split(".")
    if len(parts) > 2 and parts[1] == "layers":
        return (1, int(parts[2]), name)
    return (0 if "embed" in name else 2, 0, name)


def write_model_dir(outdir, cfg, template, gen_extra, tok_dir, ids, tensors, single_file):
    os.makedirs(outdir, exist_ok=True)
    json.dump(cfg, open(os.path.join(outdir, "config.json"), "w"), indent=2, sort_keys=True)
    gen = {"_from_model_config": True, "eos_token_id": cfg["eos_token_id"], "pad_token_id": cfg["pad_token_id"],
           **({"do_sample": True, **gen_extra} if gen_extra else {}),
           "transformers_version": cfg["transformers_version"]}
    json.dump(gen, open(os.path.join(outdir, "generation_config.json"), "w"), indent=2)
    shutil.copyfile(os.path.join(tok_dir, "tokenizer.json"), os.path.join(outdir, "tokenizer.json"))
    chat_template = open(os.path.join(SHARED, "glm", f"chat_template-glm-{template}.jinja"), encoding="utf-8").read()
    json.dump(tokenizer_config(ids, chat_template), open(os.path.join(outdir, "tokenizer_config.json"), "w"),
              indent=2, ensure_ascii=False)
    write_weights(outdir, tensors, single_file)

# ----------------------------------------------------------------------------------------------- MTP training


@torch.no_grad()
def greedy_pool(model, gen, n_seq, prefix_len, total_len, vocab_hi):
    """Random prefixes extended greedily by the main model (full recompute, no cache): the text that
    speculative decoding will see under greedy sampling."""
    x = torch.randint(0, vocab_hi, (n_seq, prefix_len), generator=gen)
    while x.shape[1] < total_len:
        nxt = model(x, use_cache=False).logits[:, -1].argmax(-1, keepdim=True)
        x = torch.cat([x, nxt], dim=1)
    out = model.model(input_ids=x, use_cache=False)
    hidden = out.last_hidden_state
    return x, hidden, model.lm_head(hidden).argmax(-1)


def mtp_logits(mtp, hidden, next_ids, positions):
    """transformers' MtpModel step: hidden[i] (after the final norm) with the embedding of token i+1."""
    h = mtp.forward_layer(0, hidden, positions, None, input_ids=next_ids)
    return mtp._project_to_logits(h)


def own_parameters(mtp, main):
    shared = {id(p) for p in main.parameters()}
    return [p for p in mtp.parameters() if id(p) not in shared]


def train_mtp(model, mtp, steps, gen, vocab_hi):
    """Teach the random NextN layer to guess the main model's token after next on greedy text, so that
    speculative decoding with it accepts a real fraction of drafts. Returns statistics for the JSON."""
    t0 = time.time()
    n_train, n_held, batch = 768, 32, 32
    x, hidden, target = greedy_pool(model, gen, n_seq=n_train + n_held, prefix_len=4, total_len=40,
                                    vocab_hi=vocab_hi)
    params = own_parameters(mtp, model)
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=3e-3, weight_decay=0.0)
    T = x.shape[1]
    pos = torch.arange(T - 1)[None]

    def batch_loss(rows):
        lg = mtp_logits(mtp, hidden[rows, :-1], x[rows, 1:], pos.expand(len(rows), -1))
        return F.cross_entropy(lg.reshape(-1, lg.shape[-1]), target[rows, 1:].reshape(-1)), lg

    per_epoch = n_train // batch
    order = torch.arange(n_train)
    loss = torch.tensor(float("nan"))
    for step in range(steps):
        if step % per_epoch == 0:
            order = torch.randperm(n_train, generator=gen)
        rows = order[(step % per_epoch) * batch:(step % per_epoch + 1) * batch]
        loss, _ = batch_loss(rows)
        opt.zero_grad()
        loss.backward()
        opt.step()
    for p in params:
        p.requires_grad_(False)
    with torch.no_grad():
        rows = torch.arange(n_train, n_train + n_held)
        _, lg = batch_loss(rows)
        acc = (lg.argmax(-1) == target[rows, 1:]).float().mean().item()
    stats = {"steps": steps, "final_train_loss": float(loss.detach()), "heldout_next_next_accuracy": acc,
             "heldout_sequences": n_held, "train_sequences": n_train, "seq_len": x.shape[1], "seconds": round(time.time() - t0, 1)}
    print(f"  mtp training: {stats}", flush=True)
    return stats

# ----------------------------------------------------------------------------------------------- references


def capture_layers(model):
    """Forward hooks recording each decoder layer's output and each router's (logits, weights, ids)."""
    layer_out, routers, hooks = {}, {}, []
    for li, layer in enumerate(model.model.layers):
        hooks.append(layer.register_forward_hook(lambda m, i, o, li=li: layer_out.__setitem__(li, o)))
        gate = getattr(layer.mlp, "gate", None)
        if gate is not None and not isinstance(gate, torch.nn.Linear):
            hooks.append(gate.register_forward_hook(lambda m, i, o, li=li: routers.__setitem__(li, o)))
    return layer_out, routers, hooks


@torch.no_grad()
def reference_for_prompt(model, mtp, pi, ids, n_gen, detail):
    """All reference tensors of one prompt (names `p{pi}.*`, documented in tools/README.md)."""
    res = {}
    x = torch.tensor([ids])
    layer_out, routers, hooks = capture_layers(model)
    out = model.model(input_ids=x, use_cache=False)
    for h in hooks:
        h.remove()
    final_h = out.last_hidden_state
    logits = model.lm_head(final_h)[0]
    res[f"p{pi}.input_ids"] = torch.tensor(ids, dtype=torch.int32)
    res[f"p{pi}.final_hidden"] = final_h[0].clone()
    res[f"p{pi}.logits_last"] = logits[-1].clone()
    if detail:
        res[f"p{pi}.logits"] = logits.clone()
        emb = model.model.embed_tokens(x)[0]
        res[f"p{pi}.layer_hidden"] = torch.stack([emb] + [layer_out[i][0] for i in sorted(layer_out)])
        for li, (rlogits, weights, idx) in sorted(routers.items()):
            order = idx.argsort(dim=-1)
            res[f"p{pi}.router_logits.layer{li}"] = rlogits.float().clone()
            res[f"p{pi}.router_topk_ids.layer{li}"] = idx.gather(1, order).to(torch.int32)
            res[f"p{pi}.router_topk_weights.layer{li}"] = weights.gather(1, order).float().clone()
    seq, margins = list(ids), []
    for _ in range(n_gen):
        lg = model(torch.tensor([seq]), use_cache=False).logits[0, -1]
        top = torch.topk(lg, 2)
        margins.append(float(top.values[0] - top.values[1]))
        seq.append(int(top.indices[0]))
    greedy = seq[len(ids):]
    res[f"p{pi}.greedy"] = torch.tensor(greedy, dtype=torch.int32)
    res[f"p{pi}.greedy_margin"] = torch.tensor(margins)
    # MTP over the prompt: position i takes final_hidden[i] and token i+1 (greedy[0] after the last one)
    T = len(ids)
    nxt = torch.tensor([ids[1:] + greedy[:1]])
    mlog = mtp_logits(mtp, final_h, nxt, torch.arange(T)[None])[0]
    res[f"p{pi}.mtp_logits_last"] = mlog[-1].clone()
    res[f"p{pi}.mtp_argmax"] = mlog.argmax(-1).to(torch.int32)
    if detail:
        res[f"p{pi}.mtp_logits"] = mlog.clone()
    # acceptance of MTP drafts along prompt + greedy continuation: draft at i vs the real token i+2
    full = torch.tensor([seq])
    h_full = model.model(input_ids=full[:, :-1], use_cache=False).last_hidden_state
    draft = mtp_logits(mtp, h_full, full[:, 1:], torch.arange(full.shape[1] - 1)[None])[0].argmax(-1)
    lo = T - 1  # first position whose token after next is a greedy token
    hits = (draft[lo:len(seq) - 2] == full[0, lo + 2:]).float()
    meta = {"index": pi, "len": T, "n_gen": n_gen, "min_greedy_margin": min(margins),
            "mtp_greedy_acceptance": float(hits.mean()) if len(hits) else None}
    return res, meta


def compare_roundtrip(live, live_mtp, loaded, loaded_mtp, ids):
    """The checkpoint as written, loaded back by transformers, must reproduce the in-memory model."""
    x = torch.tensor([ids])
    with torch.no_grad():
        a = live.model(input_ids=x, use_cache=False).last_hidden_state
        b = loaded.model(input_ids=x, use_cache=False).last_hidden_state
        dl = (live.lm_head(a) - loaded.lm_head(b)).abs().max().item()
        pos = torch.arange(len(ids) - 1)[None]
        ma = mtp_logits(live_mtp, a[:, :-1], x[:, 1:], pos)
        mb = mtp_logits(loaded_mtp, b[:, :-1], x[:, 1:], pos)
        dm = (ma - mb).abs().max().item()
    return {"max_abs_logit_diff": dl, "max_abs_mtp_logit_diff": dm}


def load_with_transformers(ckpt_dir, num_hidden_layers):
    """Glm4MoeForCausalLM + MtpModel loaded from disk by transformers itself (float32, eager attention)."""
    model = Glm4MoeForCausalLM.from_pretrained(ckpt_dir, dtype=torch.float32, attn_implementation="eager").eval()
    # MtpModel finds MTP tensors through these patterns; the stock ones name layers 46/92 of the real models
    model._keys_to_ignore_on_load_unexpected = [rf"model\.layers\.{num_hidden_layers}\..*"]
    mtp = MtpModel.from_pretrained(model).float().eval()
    return model, mtp


def dequantized_copy(model_dir, tensors, tmp):
    """bf16/float32 copy of a quantized checkpoint (weights exactly as a loader reconstructs them)."""
    os.makedirs(tmp, exist_ok=True)
    for f in ("config.json", "generation_config.json"):
        shutil.copyfile(os.path.join(model_dir, f), os.path.join(tmp, f))
    cfg = json.load(open(os.path.join(tmp, "config.json")))
    cfg.pop("quantization_config", None)
    json.dump(cfg, open(os.path.join(tmp, "config.json"), "w"))
    save_file(quantize_fp8.dequantize_checkpoint(tensors), os.path.join(tmp, "model.safetensors"))
    return tmp


def crosscheck_compressed_tensors(model_dir, tensors):
    """Independent oracle for the channel format: the `compressed-tensors` library (through transformers)
    must decompress every projection weight to q * scale and leave `ignore`d modules untouched.
    Returns None when the package is not installed (it is optional)."""
    try:
        import compressed_tensors  # noqa: F401
        from transformers import CompressedTensorsConfig
    except ImportError:
        return None
    m = Glm4MoeForCausalLM.from_pretrained(model_dir, dtype=torch.float32,
                                           quantization_config=CompressedTensorsConfig(run_compressed=False))
    live = dict(m.state_dict())
    for k in [k for k in live if k.endswith("mlp.experts.gate_up_proj")]:  # re-split transformers' fused experts
        prefix = k[: -len(".gate_up_proj")]
        live.update(split_experts(prefix, live.pop(k), live.pop(prefix + ".down_proj")))
    mine = quantize_fp8.dequantize_checkpoint(tensors)
    # transformers keeps fused experts in float32 but rounds plain Linear weights to bf16 on decompression:
    # each weight must equal q * scale exactly, either as float32 or rounded to bf16
    exact_f32, exact_bf16, bad = 0, 0, []
    for name, w in mine.items():
        if name not in live or name.rsplit(".", 2)[-2] not in quantize_fp8.PROJECTIONS:
            continue
        got = live[name].float()
        if torch.equal(got, w):
            exact_f32 += 1
        elif torch.equal(got, w.bfloat16().float()):
            exact_bf16 += 1
        else:
            bad.append(name)
    assert exact_f32 + exact_bf16 > 0 and not bad, f"compressed-tensors decompresses differently: {bad[:5]}"
    return {"library": f"compressed-tensors {compressed_tensors.__version__}",
            "weights_equal_to_q_times_scale_f32": exact_f32, "weights_equal_to_bf16_of_q_times_scale": exact_bf16,
            "mismatches": 0}


def build_model(name, spec, args, tok_dir, ids, prompts):
    cfg, template, fmt, single_file, seed, gen_extra = spec
    t0 = time.time()
    print(f"== {name}", flush=True)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    conf = Glm4MoeConfig(**{k: v for k, v in cfg.items() if k not in ("architectures", "transformers_version")})
    conf._attn_implementation = "eager"
    L = cfg["num_hidden_layers"]
    model = Glm4MoeForCausalLM(conf).float().eval()
    mtp = MtpModel(model, 1).float().eval()  # built first: its post_init must not re-initialise shared tensors
    randomize_(model, gen)
    zero_padding_rows_(model, BPE_VOCAB + len(GLM_ADDED))
    round_to_bf16_(model)
    randomize_(mtp.layers, gen)
    round_to_bf16_(mtp.layers)
    mtp_stats = train_mtp(model, mtp, args.mtp_train_steps, gen, BPE_VOCAB)
    round_to_bf16_(mtp.layers)

    tensors = storage_dtypes({**to_checkpoint_names(model.state_dict()), **mtp_checkpoint_tensors(mtp, model, L)})
    if fmt is not None:
        ignore = CHANNEL_FIXTURE_IGNORE if fmt == "channel" else []
        quantized = {}
        for k, v in tensors.items():
            quantized.update(quantize_fp8.quantize_tensor(k, v, fmt, ignore))
        tensors = quantized
        cfg = {**cfg, "quantization_config": quantize_fp8.quant_config(fmt, ignore)}
    outdir = os.path.join(args.outdir, name)
    if os.path.isdir(outdir):
        shutil.rmtree(outdir)
    write_model_dir(outdir, cfg, template, gen_extra, tok_dir, ids, tensors, single_file)

    crosscheck = crosscheck_compressed_tensors(outdir, tensors) if fmt == "channel" else None
    if crosscheck:
        print(f"  compressed-tensors cross-check: {crosscheck}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = outdir if fmt is None else dequantized_copy(outdir, tensors, os.path.join(tmp, "dequant"))
        ref_model, ref_mtp = load_with_transformers(src, L)
        if fmt is None:
            roundtrip = compare_roundtrip(model, mtp, ref_model, ref_mtp, prompts[2])
            print(f"  round-trip through from_pretrained: {roundtrip}", flush=True)
            assert roundtrip["max_abs_logit_diff"] < 1e-4 and roundtrip["max_abs_mtp_logit_diff"] < 1e-4, roundtrip
        else:
            # the quantized model must still be close to the bf16 one it came from
            roundtrip = compare_roundtrip(model, mtp, ref_model, ref_mtp, prompts[2])
            roundtrip = {"fp8_vs_bf16_" + k: v for k, v in roundtrip.items()}
            print(f"  fp8 (dequantized) vs bf16 source: {roundtrip}", flush=True)
        res, metas = {}, []
        for pi, ids_p in enumerate(prompts):
            r, m = reference_for_prompt(ref_model, ref_mtp, pi, ids_p, args.n_gen, detail=(pi == 1))
            res.update(r)
            metas.append(m)
    refdir = os.path.join(args.outdir, "references")
    os.makedirs(refdir, exist_ok=True)
    save_file({k: v.contiguous() for k, v in res.items()}, os.path.join(refdir, f"{name}.reference.safetensors"))
    meta = {
        "model": name, "checkpoint": f"tests/fixtures/{name}", "quantization": fmt,
        "prompts": metas, "prompt_text": {str(len(prompts) - 1): REFERENCE_TEXT},
        "mtp_training": mtp_stats, "roundtrip": roundtrip, "format_crosscheck": crosscheck,
        "generator": {"transformers": transformers.__version__, "torch": torch.__version__,
                      "python": sys.version.split()[0], "seed": seed, "seconds": round(time.time() - t0, 1)},
        "conventions": {
            "dtype": "all float tensors float32, computed by transformers' Glm4MoeForCausalLM (eager attention) "
                     "and transformers.modeling_layers.MtpModel in float32 on the checkpoint weights"
                     + ("" if fmt is None else ", FP8 weights dequantized (q * scale); activations NOT quantized"),
            "final_hidden": "output of model.norm (the hidden state fed to lm_head and to the MTP layer)",
            "layer_hidden": "[num_hidden_layers+1, T, H]: [0] = embeddings, [l+1] = residual stream after "
                            "decoder layer l (before the final norm)",
            "mtp": "mtp_logits[i] = MTP(final_hidden[i], embed(token[i+1])) at position i, predicting token "
                   "i+2; token[T] is greedy[0]; MTP hidden input is final_hidden (after model.norm), output "
                   "goes through shared_head.norm then lm_head",
            "router": "per MoE layer of prompt 1: router_logits [T,E] (pre-sigmoid, fp32); topk ids [T,k] "
                      "sorted ascending with their weights (after norm_topk_prob and x routed_scaling_factor)",
            "greedy": "argmax continuation recomputing the whole prefix each step; greedy_margin = top1-top2 "
                      "logit at each step (skip steps with a tiny margin when comparing)",
        },
    }
    json.dump(meta, open(os.path.join(refdir, f"{name}.reference.json"), "w"), indent=2, ensure_ascii=False)
    print(f"  done in {time.time() - t0:.1f}s", flush=True)
    return meta


def make_prompts(tok):
    """Random-token prompts of several lengths plus one real tokenized chat text."""
    rng = random.Random(11)
    prompts = [[rng.randrange(0, BPE_VOCAB) for _ in range(n)] for n in (1, 7, 33, 200)]
    prompts.append(tok.encode(REFERENCE_TEXT, add_special_tokens=False).ids)
    return prompts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--mtp-train-steps", type=int, default=600)
    ap.add_argument("--n-gen", type=int, default=24)
    ap.add_argument("--only", nargs="*", help="fixture names to (re)build; the tokenizer is always rebuilt")
    args = ap.parse_args()
    t0 = time.time()
    transformers.logging.set_verbosity_error()  # the MTP layer is "unexpected" for the main model: expected
    transformers.utils.logging.disable_progress_bar()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    print("transformers", transformers.__version__, "torch", torch.__version__, flush=True)
    tok_dir = os.path.join(args.outdir, "tokenizer")
    tok, ids = build_tokenizer(tok_dir)
    prompts = make_prompts(tok)
    for name, spec in fixture_specs(ids).items():
        if args.only and name not in args.only:
            continue
        build_model(name, spec, args, tok_dir, ids, prompts)
    for d, _, fs in os.walk(args.outdir):  # safetensors writes 0600; fixtures are plain repository data
        for f in fs:
            os.chmod(os.path.join(d, f), 0o644)
    print(f"all done in {time.time() - t0:.1f}s", flush=True)


if __name__ == "__main__":
    main()
