"""Runs SGLang's real GLM tool-call detectors and its real reasoning base detector on a corpus of
model outputs and writes what they return, for tests/unit/parsers/sglang_oracle_test.cpp.

Needs the sglang wheel without its heavy dependencies (only the pure-Python parser files are
imported; the server-side modules they import are replaced by small stand-ins below):
  python3 -m venv /tmp/oracle && /tmp/oracle/bin/pip install --no-deps sglang && \
  /tmp/oracle/bin/pip install pydantic orjson partial_json_parser
  /tmp/oracle/bin/python sglang_oracle.py > sglang_oracle.json
Also records Python's json.dumps / json.loads / ast.literal_eval on value strings, the references
for our Python-compatible JSON helpers.
"""
import ast
import importlib.util
import json
import os
import random
import sys
import types

# Locate the installed package without executing its __init__ (which pulls in the whole server).
_SGLANG_DIR = importlib.util.find_spec("sglang").submodule_search_locations[0]
SRT = os.path.join(_SGLANG_DIR, "srt")


def stub(name, **attrs):
    mod = types.ModuleType(name)
    mod.__path__ = []
    mod.__dict__.update(attrs)
    sys.modules[name] = mod
    return mod


class Function:
    def __init__(self, name, parameters=None, description=None):
        self.name, self.parameters, self.description = name, parameters, description
        self.strict = None


class Tool:
    def __init__(self, d):
        f = d.get("function", d)
        self.type = "function"
        self.function = Function(f["name"], f.get("parameters"), f.get("description"))


class _Flag:
    def get(self):
        return os.environ.get("SGLANG_FORWARD_UNKNOWN_TOOLS") == "1"


stub("sglang")
stub("sglang.srt")
stub("sglang.srt.entrypoints")
stub("sglang.srt.entrypoints.openai")
stub("sglang.srt.entrypoints.openai.protocol", Tool=Tool, ToolChoice=object, Function=Function)
stub("sglang.srt.environ", envs=types.SimpleNamespace(SGLANG_FORWARD_UNKNOWN_TOOLS=_Flag()))
stub("sglang.srt.function_call")


def load(modname, relpath):
    spec = importlib.util.spec_from_file_location(modname, os.path.join(SRT, relpath))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    spec.loader.exec_module(mod)
    return mod


for m, p in [("core_types", "core_types.py"), ("utils", "utils.py"),
             ("base_format_detector", "base_format_detector.py"),
             ("glm4_moe_detector", "glm4_moe_detector.py"), ("glm47_moe_detector", "glm47_moe_detector.py")]:
    load("sglang.srt.function_call." + m, "function_call/" + p)
Glm4MoeDetector = sys.modules["sglang.srt.function_call.glm4_moe_detector"].Glm4MoeDetector
Glm47MoeDetector = sys.modules["sglang.srt.function_call.glm47_moe_detector"].Glm47MoeDetector

WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {
    "city": {"type": "string"}, "date": {"type": "string"}, "days": {"type": "integer"},
    "temp": {"type": "number"}, "metric": {"type": "boolean"}, "tags": {"type": "array"},
    "opts": {"type": "object"}, "note": {"type": ["string", "null"]},
    "mode": {"enum": ["fast", "slow"]}, "level": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
    "code": {"enum": ["7", 8]}, "ref": {"$ref": "#/$defs/unit"}}, "$defs": {"unit": {"type": "string"}}}}}
SEARCH = {"type": "function", "function": {"name": "search", "parameters": {"type": "object", "properties": {
    "query": {"type": "string"}, "limit": {"type": "number"}}}}}
NOARGS = {"type": "function", "function": {"name": "list_files", "parameters": {"type": "object", "properties": {}}}}
SHAPE = {"type": "function", "function": {"name": "shape", "parameters": {"type": "object", "anyOf": [
    {"properties": {"kind": {"const": "circle"}, "size": {"type": "number"}}},
    {"properties": {"kind": {"const": "label"}, "size": {"type": "string"}}}]}}}
MIXED = {"type": "function", "function": {"name": "mixed", "parameters": {"type": "object", "properties": {
    "value": {"anyOf": [{"type": "integer"}, {"type": "string"}]}, "flag": {"type": ["boolean", "string"]},
    "item": {"$ref": "#/$defs/item"}}, "$defs": {"item": {"oneOf": [{"type": "object"}, {"type": "null"}]}}}}}
TOOLS = [WEATHER, SEARCH, NOARGS, SHAPE, MIXED]

VALUES = {
    "city": ["Beijing", "北京", " New York ", "", "\"quoted\"", "'single'", "12345", "a\\nb", "line1\nline2",
             "{\"a\": 1}", "[1,2]", "true", "null", "tab\there", "C:\\\\path", "\\\"esc\\\"", "emoji 😀 ok",
             "<b>bold</b>", "50%", "x\u2028y"],
    "days": ["3", "\"7\"", "1.5", "-2", "abc", "12345678901234567890123", " 4 ", "1_000", "007"],
    "temp": ["1.5", "\"2.25\"", "1e5", "\"1e5\"", "-0", "3", "0.1", "1e400", "NaN", "1E-7", "\"abc\""],
    "metric": ["true", "False", "True", "yes", "1"],
    "tags": ["[\"a\", \"b\"]", "[1, 2.5, null]", "['x', 'y']", "[]", "(1, 2)", "[{\\\"id\\\": 1}]", "not a list"],
    "opts": ["{\"k\": {\"n\": [1, 2]}}", "{}", "{'a': None, 'b': True}", "{\"u\": \"\\u00e9\"}", "{1: 2}", "{bad}"],
    "note": ["hello", "null", "42"],
    "mode": ["fast", "\"slow\"", "3"],
    "level": ["3", "null", "x"],
    "code": ["7", "8", "\"7\""],
    "ref": ["km", "5"],
    "undeclared": ["42", "4.50", "hello", "True", "None", "{\"x\": [1]}", "[1,", "'q'", "1e3", "-0.0"],
}


def call_text(dialect, name, pairs):
    if dialect == "glm45":
        body = "".join(f"<arg_key>{k}</arg_key>\n<arg_value>{v}</arg_value>\n" for k, v in pairs)
        return f"<tool_call>{name}\n{body}</tool_call>"
    body = "".join(f"<arg_key>{k}</arg_key><arg_value>{v}</arg_value>" for k, v in pairs)
    return f"<tool_call>{name}{body}</tool_call>"


def make_inputs(rng):
    inputs = []
    for dialect in ("glm45", "glm47"):
        for key, values in VALUES.items():
            for v in values:
                inputs.append((dialect, call_text(dialect, "get_weather", [(key, v)])))
        for _ in range(60):
            name = rng.choice(["get_weather", "search", "list_files", "unknown_tool"])
            pairs = []
            if name == "get_weather":
                for key in rng.sample(sorted(VALUES), rng.randint(1, 4)):
                    pairs.append((key, rng.choice(VALUES[key])))
            elif name == "search":
                pairs = [("query", rng.choice(VALUES["city"])), ("limit", rng.choice(VALUES["temp"]))]
            elif name == "unknown_tool":
                pairs = [("q", rng.choice(VALUES["undeclared"]))]
            calls = [call_text(dialect, name, pairs)]
            if rng.random() < 0.3:
                calls.append(call_text(dialect, "list_files", []))
            sep = "\n" if dialect == "glm45" else ""
            prefix = rng.choice(["", "Sure.", "Let me check. ", "\n"])
            suffix = rng.choice(["", " done", "\n"])
            inputs.append((dialect, prefix + sep.join(calls) + suffix))
        for kind in ("circle", "label", "square"):
            for size in ("5", "big", "1.5", "\"7\""):
                for order in (0, 1):
                    pairs = [("kind", kind), ("size", size)]
                    inputs.append((dialect, call_text(dialect, "shape", pairs if order else pairs[::-1])))
        for value in ("3", "x", "true", "null", "{\"a\": 1}", "[1]", "2.5"):
            inputs.append((dialect, call_text(dialect, "mixed", [("value", value), ("flag", value), ("item", value)])))
        inputs += [(dialect, t) for t in [
            "no tool call here", "<tool_call>get_weather", "text <tool_call></tool_call> more",
            "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>unterminated</tool_call>",
            "<tool_call>get_weather<arg_key>city</arg_key>junk<arg_value>x</arg_value></tool_call>",
            "a</tool_call>b", "<tool_call>list_files</tool_call>",
            "<tool_call>get_weather\\n<arg_key>city</arg_key>\\n<arg_value>Paris</arg_value></tool_call>",
            "<tool_call>get_weather\n<arg_key> city </arg_key>\n<arg_value>dup1</arg_value>\n"
            "<arg_key>city</arg_key>\n<arg_value>dup2</arg_value>\n</tool_call>",
        ]]
    return inputs


def load_reasoning_detector():
    """Glm45Detector from sglang/srt/parser/reasoning_parser.py: only the three classes it needs are
    taken from the file (its module imports transformers and the server)."""
    import ast as _ast
    import inspect
    import typing
    path = os.path.join(SRT, "parser", "reasoning_parser.py")
    tree = _ast.parse(open(path).read())
    wanted = {"StreamingParseResult", "BaseReasoningFormatDetector", "Glm45Detector"}
    body = [n for n in tree.body if isinstance(n, _ast.ClassDef) and n.name in wanted]
    ns = {name: getattr(typing, name) for name in ("Dict", "List", "Optional", "Tuple", "Type")}
    ns.update(inspect=inspect, re=__import__("re"), PreTrainedTokenizerBase=object, AnswerFrame=object)
    exec(compile(_ast.Module(body=body, type_ignores=[]), path, "exec"), ns)
    return ns["Glm45Detector"]


def reasoning_cases(rng):
    Glm45Detector = load_reasoning_detector()
    pieces = ["<think>", "</think>", "<tool_call>", "reason", "answer", "\n", " ", "思考", "<", "</", "<th",
              "</thi", "<tool_", "x<y", "\n<think>"]
    fixed = ["<think>abc</think>def", "\n<think>abc</think>\ndef", "abc</think>def", "plain",
             "<think>trunc", "<think>a<tool_call>b", "<think><think>a</think>b", "a<think>b</think>c", ""]
    texts = fixed + ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 8))) for _ in range(150)]
    out = []
    for text in texts:
        for force in (False, True):
            for stream in (True, False):
                det = Glm45Detector(stream_reasoning=stream, force_reasoning=force)
                whole = det.detect_and_parse(text)
                # Random chunking, with 1-char chunks for some.
                chunks, i = [], 0
                one_char = rng.random() < 0.3
                while i < len(text):
                    n = 1 if one_char else rng.randint(1, 6)
                    chunks.append(text[i:i + n])
                    i += n
                det = Glm45Detector(stream_reasoning=stream, force_reasoning=force)
                steps = []
                for ch in chunks:
                    r = det.parse_streaming_increment(ch)
                    steps.append([r.reasoning_text, r.normal_text])
                r = det.finish()
                steps.append([r.reasoning_text, r.normal_text])
                out.append({"text": text, "force_reasoning": force, "stream_reasoning": stream,
                            "reasoning_text": whole.reasoning_text, "normal_text": whole.normal_text,
                            "chunks": chunks, "steps": steps})
    return out


def to_json_obj(x):
    return json.loads(json.dumps(x, ensure_ascii=False))


def run_tool_case(dialect, text):
    det = Glm4MoeDetector() if dialect == "glm45" else Glm47MoeDetector()
    tools = [Tool(t) for t in TOOLS]
    r = det.detect_and_parse(text, tools)
    return {"parser": dialect, "input": text, "normal_text": r.normal_text,
            "calls": [{"name": c.name, "parameters": c.parameters} for c in r.calls]}


def python_values():
    samples = ["0", "-0", "1.0", "1e16", "1e-5", "123456789012345678901234567890", "1.5e300", "0.1", "2.5e-7",
               "3.141592653589793", "1e22", "9007199254740993", "-1.25", "100", "[1, 2.0, \"x\"]",
               "{\"a\": {\"b\": [true, false, null]}}", "\"\\u00e9\\ud83d\\ude00\\n\\t\\\\\"", "NaN", "Infinity",
               "-Infinity", "1E400", "{\"a\": 1, \"a\": 2, \"b\": 3}", "\"\\u007f\\u0001\"", " [ ] ", "\"💡\""]
    out = []
    for s in samples:
        v = json.loads(s)
        out.append({"text": s, "dumps": json.dumps(v, ensure_ascii=False), "dumps_ascii": json.dumps(v)})
    invalid = ["", "01", "1.", ".5", "[1,]", "{\"a\" 1}", "'x'", "\"\\x41\"", "\"a\nb\"", "tru", "[1] 2", "-", "+1"]
    for s in invalid:
        try:
            json.loads(s)
            raise SystemExit(f"expected invalid: {s!r}")
        except ValueError:
            out.append({"text": s, "invalid": True})
    literals = []
    for s in ["True", "None", "'a'", "(1, 2)", "[1, 'b', None]", "{'k': (1,)}", "0x1F", "1_000", "-3.5",
              "'''tri\nple'''", "r'\\d+'", "'a' 'b'", "{1: 'x', 2.5: 'y', None: 1, True: 2}", "'\\x41\\u00e9'",
              "  [1]", "1e3", "-True", "{1, 2}", "foo", "1 +", "b'x'", "3j", "[1, 2", "'\\q'"]:
        try:
            v = ast.literal_eval(s)
            literals.append({"text": s, "dumps": json.dumps(v, ensure_ascii=False)})
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            literals.append({"text": s, "invalid": True})
        except Exception:  # noqa: BLE001
            literals.append({"text": s, "invalid": True})
    return out, literals


def _sglang_version():
    from importlib.metadata import version
    return version("sglang")


def main():
    rng = random.Random(20240627)
    inputs = make_inputs(rng)
    tool_cases = [run_tool_case(d, t) for d, t in inputs]
    os.environ["SGLANG_FORWARD_UNKNOWN_TOOLS"] = "1"
    forward_cases = [run_tool_case(d, t) for d, t in inputs if "unknown_tool" in t]
    del os.environ["SGLANG_FORWARD_UNKNOWN_TOOLS"]
    json_values, literals = python_values()
    reasoning = reasoning_cases(random.Random(4242))
    frng = random.Random(99)
    floats = []
    for _ in range(3000):
        bits = frng.getrandbits(64)
        import struct
        v = struct.unpack("<d", struct.pack("<Q", bits))[0]
        if v != v or v in (float("inf"), float("-inf")):
            continue
        if frng.random() < 0.5:  # also plenty of "ordinary" magnitudes
            v = frng.uniform(-1e6, 1e6) * 10 ** frng.randint(-8, 20)
        floats.append({"bits": f"{struct.unpack('<Q', struct.pack('<d', v))[0]:016x}", "repr": repr(v)})
        assert float(repr(v)) == v, v  # repr round-trips: the C++ side is held to these exact strings
    assert tool_cases and reasoning and len(floats) > 1000, "empty oracle data"
    print(json.dumps({"tools": TOOLS, "tool_cases": tool_cases, "tool_cases_forward_unknown": forward_cases, "json_values": json_values,
                      "literal_eval": literals, "reasoning_cases": reasoning, "float_repr": floats, "sglang_version": _sglang_version()},
                     ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
