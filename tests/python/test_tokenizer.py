"""glmserve tokenize/detokenize against the Hugging Face `tokenizers` oracle.

Strings are generated (all scripts, emoji with ZWJ, combining marks, digit and whitespace runs,
CRLF, code, GLM special tokens inside text); each tokenizer is run once per process in --jsonl
mode. Tokenizers: the GLM-style fixture, plus tokenizers built here with the `tokenizers` API for
features GLM does not use (ByteLevel add_prefix_space / use_regex, Qwen-like regex, byte_fallback,
ignore_merges, lstrip/rstrip/single_word/normalized added tokens)."""
import json
import os
import random
import subprocess
from pathlib import Path

import pytest

tokenizers = pytest.importorskip("tokenizers")
from tokenizers import (AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers,  # noqa: E402
                        processors, trainers)

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("GLMSERVE_BIN", str(ROOT / "build" / "glmserve"))
FIXTURE = ROOT / "tests" / "fixtures" / "tokenizer"

GLM_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
             r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
              r"|\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIALS = ["<|endoftext|>", "[gMASK]", "<sop>", "<|system|>", "<|user|>", "<|assistant|>", "<think>",
            "</think>", "<tool_call>", "</tool_call>", "<arg_key>", "</arg_key>", "/nothink"]
NOT_SPECIAL = {"<think>", "</think>", "<tool_call>", "</tool_call>", "<arg_key>", "</arg_key>", "/nothink"}

POOLS = ["abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", " \t\n\r", "  \r\n\n   ",
         ".,;:!?'\"()[]{}<>/\\|@#$%^&*-_=+~`", "你好世界学习数据模型计算机", "éèàçñüößøåÅÉ", "日本語のテキストです",
         "😀🎉👍🏽❤️🚀👨‍👩‍👧", "\u0301\u0308\u200d\u00a0\u3000", "ПриветмирΑλφαβητο", "مرحبا بالعالم", "नमस्ते दुनिया",
         "def f(x):\n    return x**2  # ok\n", "e\u0301a\u0308o\u0302"]
WORDS = ["'s", "'ll", "'RE", "don't", "I'M", "   ", "\n\n", "\r\n", "123456", "3.14159", "    indented",
         "café", "naïve"] + SPECIALS


def corpus():
    base = ["The quick brown fox jumps over the lazy dog. I'm sure they'll say it's 1234567 o'clock.",
            "int main() {\n  printf(\"%d\\n\", 42);\n  return 0;\n}\n", "  leading and trailing  ",
            "你好，世界！日本語のテキスト。한국어 텍스트.", "Emoji 😀👍🏽 and 👨‍👩‍👧 families", "tabs\tand\r\nCRLF\r\n"]
    return base * 50


def gen_strings(seed, n):
    rng = random.Random(seed)
    out = ["", " ", "  ", "\n", "\n\n", " \n ", "a", "Hello world", " Hello", "hello   world  ", "I'm you're WE'LL",
           "12345678901", "x=1+2*3", "tabs\tand\nnewlines\r\n", "[gMASK]<sop><|system|>\nYou are helpful.<|user|>\nhi",
           "<|user|><|user|>", "a<think>b</think>c", "</think>\n\n", "word<tool_call>x </tool_call> y", "  <think>  ",
           "a<think>b", "<think>", "x<|endoftext|>"]
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 30)):
            if rng.random() < 0.2:
                parts.append(rng.choice(WORDS))
            else:
                p = rng.choice(POOLS)
                parts.append("".join(rng.choice(p) for _ in range(rng.randint(1, 8))))
        out.append("".join(parts))
    return out


def run_cli(args, lines):
    if not Path(BIN).exists():
        pytest.skip(f"glmserve binary not found at {BIN}")
    r = subprocess.run([BIN, *args], input="".join(l + "\n" for l in lines).encode(), capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return [json.loads(l) for l in r.stdout.decode().splitlines()]


def trained(pre, dec, *, vocab=600, byte_fallback=False, ignore_merges=False, added=(), normalizer=None):
    tok = Tokenizer(models.BPE(byte_fallback=byte_fallback, ignore_merges=ignore_merges,
                               unk_token=None))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre
    tok.decoder = dec
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    specials = [f"<0x{b:02X}>" for b in range(256)] if byte_fallback else []
    trainer = trainers.BpeTrainer(vocab_size=vocab + len(specials), show_progress=False,
                                  initial_alphabet=alphabet if not byte_fallback else [], special_tokens=specials)
    tok.train_from_iterator(corpus(), trainer)
    if added:
        tok.add_tokens(list(added))
    return tok


def glm_like(added):
    pre = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(GLM_SPLIT), behavior="isolated", invert=False),
                                   pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    return trained(pre, decoders.ByteLevel(), added=added)


def glm_added():
    return [AddedToken(s, special=s not in NOT_SPECIAL, normalized=False) for s in SPECIALS]


def build_cases():
    cases = {}
    if (FIXTURE / "tokenizer.json").exists():
        cases["fixture"] = Tokenizer.from_file(str(FIXTURE / "tokenizer.json"))
    cases["glm_like"] = glm_like(glm_added())
    cases["gpt2_prefix_space"] = trained(pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True),
                                         decoders.ByteLevel(), added=glm_added())
    cases["qwen_like_ignore_merges"] = trained(
        pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN_SPLIT), behavior="isolated"),
                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
        decoders.ByteLevel(), ignore_merges=True, added=glm_added())
    cases["strip_single_word"] = glm_like([
        AddedToken("<think>", special=False, lstrip=True, rstrip=True, normalized=False),
        AddedToken("fox", special=False, single_word=True, normalized=False),
        AddedToken("<|user|>", special=True, lstrip=True, normalized=False),
        AddedToken("world", special=False, normalized=True),
        AddedToken("</think>", special=False, rstrip=True, normalized=False)])
    cases["split_behaviors"] = trained(
        pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(r"\s+"), behavior="merged_with_next"),
                                 pre_tokenizers.Split(Regex(r"[.,!?]"), behavior="merged_with_previous"),
                                 pre_tokenizers.Split("o", behavior="contiguous"),
                                 pre_tokenizers.Digits(individual_digits=True),
                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
        decoders.ByteLevel())
    cases["byte_fallback"] = trained(pre_tokenizers.Split(Regex(r"\s+|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+"), "isolated"),
                                     decoders.Sequence([decoders.ByteFallback(), decoders.Fuse()]),
                                     byte_fallback=True, added=glm_added())
    glm_pre = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(GLM_SPLIT), behavior="isolated"),
                                       pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    cases["nfc"] = trained(glm_pre, decoders.ByteLevel(), normalizer=normalizers.NFC(), added=glm_added())
    cases["nfkd"] = trained(glm_pre, decoders.ByteLevel(), normalizer=normalizers.NFKD())
    cases["nfkc_lowercase"] = trained(glm_pre, decoders.ByteLevel(),
                                      normalizer=normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()]),
                                      added=glm_added())
    return cases


CASES = build_cases()
STRINGS = gen_strings(1234, 1500)


def save(tok, tmp_path):
    tok.save(str(tmp_path / "tokenizer.json"))
    return tmp_path


@pytest.mark.parametrize("name", list(CASES))
def test_encode_matches_tokenizers(name, tmp_path):
    tok = CASES[name]
    d = save(tok, tmp_path)
    got = run_cli(["tokenize", "--model-path", str(d), "--jsonl"], [json.dumps(s) for s in STRINGS])
    bad = [(s, g, tok.encode(s, add_special_tokens=False).ids) for s, g in zip(STRINGS, got)
           if g != tok.encode(s, add_special_tokens=False).ids]
    assert not bad, f"{len(bad)} mismatches, first: {bad[0]!r}"


def with_template(tok):
    ids = {t: tok.token_to_id(t) for t in ("[gMASK]", "<sop>", "<|endoftext|>")}
    tok.post_processor = processors.TemplateProcessing(
        single="[gMASK] <sop> $A <|endoftext|>", pair="[gMASK] $A <sop> $B:1 <|endoftext|>:1",
        special_tokens=list(ids.items()))
    return tok


def with_byte_level_post(tok):
    tok.post_processor = processors.ByteLevel(trim_offsets=True)
    return tok


POST_CASES = {"template": lambda: with_template(glm_like(glm_added())),
              "byte_level": lambda: with_byte_level_post(glm_like(glm_added()))}


@pytest.mark.parametrize("name", list(POST_CASES))
def test_add_special_tokens_matches_tokenizers(name, tmp_path):
    tok = POST_CASES[name]()
    d = save(tok, tmp_path)
    strings = STRINGS[:400]
    got = run_cli(["tokenize", "--model-path", str(d), "--jsonl", "--add-special-tokens"],
                  [json.dumps(s) for s in strings])
    want = [tok.encode(s, add_special_tokens=True).ids for s in strings]
    bad = [(s, g, w) for s, g, w in zip(strings, got, want) if g != w]
    assert not bad, f"{len(bad)} mismatches, first: {bad[0]!r}"


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("skip", [False, True])
def test_decode_matches_tokenizers(name, skip, tmp_path):
    tok = CASES[name]
    d = save(tok, tmp_path)
    rng = random.Random(7)
    id_lists = [tok.encode(s, add_special_tokens=False).ids for s in STRINGS]
    # Random ids too: they split UTF-8 sequences and exercise lossy decoding.
    id_lists += [[rng.randrange(tok.get_vocab_size()) for _ in range(rng.randint(1, 20))] for _ in range(300)]
    args = ["detokenize", "--model-path", str(d), "--jsonl"] + (["--skip-special-tokens"] if skip else [])
    got = run_cli(args, [json.dumps(ids) for ids in id_lists])
    bad = [(ids, g, tok.decode(ids, skip_special_tokens=skip)) for ids, g in zip(id_lists, got)
           if g != tok.decode(ids, skip_special_tokens=skip)]
    assert not bad, f"{len(bad)} mismatches, first: {bad[0]!r}"


@pytest.mark.parametrize("name", ["glm_like", "gpt2_prefix_space"])
def test_stream_pieces_concatenate_to_full_decode(name, tmp_path):
    tok = CASES[name]
    d = save(tok, tmp_path)
    rng = random.Random(11)
    id_lists = [tok.encode(s, add_special_tokens=False).ids for s in STRINGS[:500]]
    id_lists += [[rng.randrange(tok.get_vocab_size()) for _ in range(rng.randint(1, 20))] for _ in range(300)]
    got = run_cli(["detokenize", "--model-path", str(d), "--jsonl", "--stream"], [json.dumps(i) for i in id_lists])
    for ids, pieces in zip(id_lists, got):
        assert len(pieces) == len(ids) + 1
        assert "".join(pieces) == tok.decode(ids, skip_special_tokens=False), ids


def test_fixture_reference_cases():
    """tests/fixtures/tokenizer/tokenizer-cases.json: encodings and decodes recorded with tokenizers."""
    path = FIXTURE / "tokenizer-cases.json"
    if not path.exists():
        pytest.skip("fixture cases not generated")
    cases = json.loads(path.read_text())
    enc = run_cli(["tokenize", "--model-path", str(FIXTURE), "--jsonl"], [json.dumps(c["text"]) for c in cases])
    assert [c["ids"] for c in cases] == enc
    lines = [json.dumps(c["ids"]) for c in cases]
    assert [c["decoded"] for c in cases] == run_cli(["detokenize", "--model-path", str(FIXTURE), "--jsonl"], lines)
    assert [c["decoded_skip_special"] for c in cases] == run_cli(
        ["detokenize", "--model-path", str(FIXTURE), "--jsonl", "--skip-special-tokens"], lines)
