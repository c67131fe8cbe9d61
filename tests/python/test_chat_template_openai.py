"""`glmserve render --openai` (the server's request rules, chat/openai_template_inputs.h) against
transformers' own apply_chat_template pipeline: its _normalize_chat_messages and
render_jinja_template are called for real. SGLang's two request rules that run before
transformers (null content -> "", JSON-string tool arguments -> dicts, tools as function objects)
are applied here as SGLang's serving_chat.py states them. Skipped when transformers is not
importable (the light test venv has no transformers); run it with an environment that has it:
    GLMSERVE_BIN=... python tests/python/test_chat_template_openai.py
"""
import copy
import json
import random
import sys

import pytest

from chat_template_oracle import TEMPLATES, glmserve_bin, rand_json_value, rand_text
import subprocess


def sglang_messages(messages):
    out = []
    for m in copy.deepcopy(messages):
        if m.get("content", "") is None:
            m["content"] = ""
        if m["role"] == "assistant" and isinstance(m.get("tool_calls"), list):
            for item in m["tool_calls"]:
                if "arguments" in item["function"] and isinstance(item["function"]["arguments"], str):
                    item["function"]["arguments"] = json.loads(item["function"]["arguments"])
        out.append(m)
    return out


def sglang_tools(tools, tool_choice):
    if not tools or tool_choice == "none":
        return None
    return [{"description": t["function"].get("description"), "name": t["function"]["name"],
             "parameters": t["function"].get("parameters"), "strict": t["function"].get("strict", False)}
            for t in tools]


def random_request(rng):
    tools = [{"type": "function", "function": {"name": f"f{i}", "description": rand_text(rng, 3),
                                               "parameters": {"type": "object", "properties": {"x": {"type": "string"}}}}}
             for i in range(rng.randint(0, 2))]
    messages = [{"role": "system", "content": rand_text(rng)}] if rng.random() < 0.5 else []
    for _ in range(rng.randint(1, 4)):
        messages.append({"role": "user", "content": rand_text(rng), "name": None})
        a = {"role": "assistant", "content": rand_text(rng) if rng.random() < 0.6 else None}
        field = rng.choice(["reasoning_content", "reasoning", "thinking", None])
        if field:
            a[field] = rand_text(rng)
        if rng.random() < 0.5:
            args = {"x": rand_json_value(rng), "y": rand_json_value(rng)}
            a["tool_calls"] = [{"id": "c1", "type": "function",
                                "function": {"name": "f0", "arguments": json.dumps(args, ensure_ascii=rng.random() < 0.5)}}]
            messages.append(a)
            messages.append({"role": "tool", "content": rand_text(rng), "tool_call_id": "c1"})
        else:
            messages.append(a)
    request = {"messages": messages, "tools": tools or None, "tool_choice": rng.choice(["auto", "none", "required"]),
               "add_generation_prompt": rng.random() < 0.8}
    r = rng.random()
    if r < 0.6:
        request["chat_template_kwargs"] = {"enable_thinking": r < 0.3}
    return request


def check_cases(count=60, seed=7):
    from transformers.utils.chat_template_utils import _normalize_chat_messages, render_jinja_template
    rng = random.Random(seed)
    binary = glmserve_bin()
    for name, path in sorted(TEMPLATES.items()):
        source = path.read_text(encoding="utf-8")
        for i in range(count):
            request = random_request(rng)
            chat = _normalize_chat_messages(sglang_messages(request["messages"]))
            expected, _ = render_jinja_template(
                conversations=[chat], tools=sglang_tools(request["tools"], request["tool_choice"]),
                chat_template=source, add_generation_prompt=request["add_generation_prompt"],
                **request.get("chat_template_kwargs", {}))
            proc = subprocess.run([binary, "render", "--openai", "--chat-template", str(path)],
                                  input=json.dumps(request).encode(), capture_output=True, timeout=60)
            assert proc.returncode == 0, proc.stderr.decode()
            assert proc.stdout.decode() == expected[0], f"{name} case {i}: {json.dumps(request)}"


def test_openai_mode_matches_transformers_pipeline():
    pytest.importorskip("transformers")
    check_cases()


if __name__ == "__main__":
    check_cases()
    print("ok")
    sys.exit(0)
