"""Shared pieces of the chat-template oracle tests (no tests of its own).

The oracle is Python jinja2 configured exactly as transformers' `_cached_compile_jinja_template`
configures it (transformers/utils/chat_template_utils.py): ImmutableSandboxedEnvironment with
trim_blocks, lstrip_blocks and loopcontrols; `tojson` replaced by json.dumps with
ensure_ascii=False; globals raise_exception, strftime_now, dict, namespace. Our side is
`glmserve render` (GLMSERVE_BIN), fed the same inputs as JSON on stdin.
"""
import json
import os
import random
import subprocess
from datetime import datetime
from pathlib import Path

import jinja2
import jinja2.ext
import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("GLM_SHARED_DIR", REPO.parent / "shared"))
GLM_DIR = SHARED / "glm"
TEMPLATES = {
    "glm-4.5": GLM_DIR / "chat_template-glm-4.5.jinja",
    "glm-4.6": GLM_DIR / "chat_template-glm-4.6.jinja",
    "glm-4.7": GLM_DIR / "chat_template-glm-4.7.jinja",
}


def glmserve_bin():
    path = os.environ.get("GLMSERVE_BIN")
    if not path or not Path(path).exists():
        pytest.skip("GLMSERVE_BIN is not set to a built glmserve binary")
    return path


class OracleError(Exception):
    pass


def oracle_env():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return datetime.now().strftime(fmt)

    class TemplateNamespace(jinja2.utils.Namespace):
        # transformers: namespaces reject underscore-prefixed attribute names
        def __init__(*args, **kwargs):
            self, args = args[0], args[1:]
            attrs = dict(*args, **kwargs)
            for name in attrs:
                TemplateNamespace._check_name(name)
            jinja2.utils.Namespace.__init__(self, attrs)

        def __setitem__(self, name, value):
            TemplateNamespace._check_name(name)
            jinja2.utils.Namespace.__setitem__(self, name, value)

        @staticmethod
        def _check_name(name):
            if isinstance(name, str) and name.startswith("_"):
                raise jinja2.exceptions.SecurityError(f"underscore-prefixed namespace attribute {name!r}")

    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    env.globals["dict"] = dict
    env.globals["namespace"] = TemplateNamespace
    return env


_ENV = oracle_env()
# The oracle must behave like transformers' environment in the two ways the templates rely on; checked on
# import, so every test that uses it stops here if a jinja2 upgrade changes them.
assert _ENV.from_string("{% for x in [1, 2] %}{{ x }}{% break %}{% endfor %}").render() == "1", "loopcontrols"
try:
    _ENV.from_string("{% set ns = namespace(_hidden=1) %}").render()
    raise AssertionError("namespace accepted an underscore-prefixed attribute")
except jinja2.exceptions.SecurityError:
    pass


def oracle_render(source, variables):
    """jinja2's output, or OracleError when jinja2 raises."""
    try:
        return _ENV.from_string(source).render(**variables)
    except Exception as e:  # noqa: BLE001 - any jinja2 failure is an expected-error case
        raise OracleError(f"{type(e).__name__}: {e}") from e


def chat_variables(messages, tools=None, add_generation_prompt=False, kwargs=None):
    """The names transformers' render_jinja_template passes for one conversation."""
    return {"messages": messages, "tools": tools, "documents": None,
            "add_generation_prompt": add_generation_prompt, **(kwargs or {})}


def glmserve_render(variables, template_path=None, template_source=None, tmp_path=None, extra_args=()):
    """Runs `glmserve render`; returns (exit status, stdout text, stderr text)."""
    binary = glmserve_bin()
    if template_source is not None:
        template_path = Path(tmp_path) / "template.jinja"
        template_path.write_text(template_source, encoding="utf-8")
    proc = subprocess.run([binary, "render", "--chat-template", str(template_path), *extra_args],
                          input=json.dumps(variables, ensure_ascii=False).encode("utf-8"),
                          capture_output=True, timeout=60)
    return proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8", "replace")


# ---------------------------------------------------------------------------------------------
# Seeded random conversations covering what the GLM templates branch on.

WORDS = ["hello", "weather", "北京", "天气", "naïve", "café", "🙂", "emoji 🚀", "tab\there", "line\nbreak",
         "  padded  ", "quote's", 'dq"x', "back\\slash", "<tag>", "&amp;", "/nothink", "", "{{ not jinja }}",
         "\u00a0nbsp\u00a0", "\u3000full-width space", "日本語のテキスト", "Ünïcödé"]


def rand_text(rng, max_words=6):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, max_words)))


def rand_json_value(rng, depth=0):
    kinds = ["str", "int", "float", "bool", "null", "list", "dict"] if depth < 3 else ["str", "int", "float", "bool"]
    k = rng.choice(kinds)
    if k == "str":
        return rand_text(rng, 3)
    if k == "int":
        return rng.choice([0, 1, -7, 42, 10**12, -(2**40)])
    if k == "float":
        return rng.choice([0.5, -2.25, 1e-7, 3.14159, 1e20, 100.0, 0.1 + 0.2, 2.0])
    if k == "bool":
        return rng.random() < 0.5
    if k == "null":
        return None
    if k == "list":
        return [rand_json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(["a", "city", "unit", "深さ", "nested", "x y"]) + str(i): rand_json_value(rng, depth + 1)
            for i in range(rng.randint(0, 3))}


def rand_tool(rng, i):
    props = {}
    for j in range(rng.randint(0, 3)):
        t = rng.choice(["string", "integer", "number", "boolean", "array", "object"])
        p = {"type": t, "description": rand_text(rng, 3)}
        if t == "array":
            p["items"] = {"type": rng.choice(["string", "integer"])}
        if t == "object":
            p["properties"] = {"inner": {"type": "string", "enum": ["a", "b", "ü"]}}
        if rng.random() < 0.3:
            p["default"] = rand_json_value(rng, 2)
        props[f"arg_{j}"] = p
    fn = {"name": f"tool_{i}", "description": rand_text(rng, 4),
          "parameters": {"type": "object", "properties": props, "required": list(props)[:1]}}
    if rng.random() < 0.5:  # SGLang's function-object shape
        fn = {"description": fn["description"], "name": fn["name"], "parameters": fn["parameters"], "strict": False}
    if rng.random() < 0.2:
        return {"type": "function", "function": fn}
    return fn


def rand_content(rng, allow_none=True):
    r = rng.random()
    if r < 0.55:
        return rand_text(rng)
    if r < 0.7:
        return [{"type": "text", "text": rand_text(rng)} for _ in range(rng.randint(0, 3))] + \
            ([{"type": "image_url", "image_url": {"url": "data:x"}}] if rng.random() < 0.3 else []) + \
            ([rand_text(rng, 2)] if rng.random() < 0.2 else [])
    if r < 0.8:
        return f"{rand_text(rng, 2)}<think>{rand_text(rng)}</think>{rand_text(rng)}"
    if r < 0.87:
        return "\n<think>\n" + rand_text(rng) + "\n</think>\n\n" + rand_text(rng)
    if r < 0.93 and allow_none:
        return None
    return ""


def rand_tool_call(rng, tools):
    name = rng.choice([t.get("name") or t.get("function", {}).get("name") for t in tools]) if tools else "fn"
    args = {f"arg_{j}": rand_json_value(rng) for j in range(rng.randint(0, 3))}
    # A few calls keep OpenAI's JSON-string arguments: the templates call .items() on them, which
    # must fail the same way in both engines.
    call = {"name": name, "arguments": json.dumps(args) if rng.random() < 0.04 else args}
    if rng.random() < 0.7:
        return {"id": f"call_{rng.randint(0, 999)}", "type": "function", "function": call}
    return call


def rand_conversation(rng):
    tools = [rand_tool(rng, i) for i in range(rng.randint(1, 3))] if rng.random() < 0.5 else None
    messages = []
    if rng.random() < 0.5:
        messages.append({"role": "system", "content": rand_content(rng, allow_none=False)})
    for _ in range(rng.randint(1, 5)):
        messages.append({"role": "user", "content": rand_content(rng)})
        if rng.random() < 0.85:
            m = {"role": "assistant", "content": rand_content(rng)}
            if rng.random() < 0.4:
                m["reasoning_content"] = rand_text(rng) if rng.random() < 0.9 else None
            messages.append(m)
            if rng.random() < 0.35:
                m["tool_calls"] = [rand_tool_call(rng, tools) for _ in range(rng.randint(1, 2))]
                for _ in range(rng.randint(1, 2)):
                    if rng.random() < 0.75:
                        result = {"role": "tool", "content": rand_text(rng)}
                    else:
                        result = {"role": "tool", "content": [{"output": rand_text(rng)} if rng.random() < 0.6
                                                              else rand_text(rng, 2) for _ in range(rng.randint(1, 2))]}
                    if rng.random() < 0.5:
                        result["tool_call_id"] = "call_1"
                    messages.append(result)
                if rng.random() < 0.7:
                    messages.append({"role": "assistant", "content": rand_content(rng),
                                     "reasoning_content": rand_text(rng)})
    kwargs = {}
    r = rng.random()
    if r < 0.3:
        kwargs["enable_thinking"] = True
    elif r < 0.6:
        kwargs["enable_thinking"] = False
    if rng.random() < 0.3:
        kwargs["clear_thinking"] = rng.random() < 0.5
    return chat_variables(messages, tools, rng.random() < 0.6, kwargs)


def generated_cases(seed, count):
    rng = random.Random(seed)
    return [rand_conversation(rng) for _ in range(count)]
