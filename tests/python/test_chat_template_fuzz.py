"""Grammar-based expression fuzzing: random (seeded) Jinja expressions over a fixed context, each
rendered by glmserve and by Python jinja2 (transformers' settings). Outputs must be identical, or
both engines must reject the expression. Filters that jinja2 evaluates lazily (map, select,
unique, reverse, items return generators) are always followed by |list: printing a generator shows a
memory address, and glmserve evaluates them eagerly."""
import random

import pytest

from chat_template_oracle import OracleError, glmserve_render, oracle_render

CONTEXT = {
    "s": "Hello, World", "e": "", "u": "ünï 北京 ", "i": 7, "j": -3, "z": 0, "f": 2.5, "g": 0.1, "t": True, "n": None,
    "l": [3, 1, 2], "ls": ["b", "A", "a"], "d": {"k": "v", "n": 1, "l": [1, 2]}, "m": [{"role": "user", "content": "x"}],
}
NAMES = list(CONTEXT) + ["missing"]
LITERALS = ["0", "1", "-1", "2", "3", "10", "0.5", "1.5", "1e3", "'a'", "'x y'", "''", "'é'", "none", "true", "false",
            "[]", "[1, 2]", "['a', 'b']", "{}", "{'k': 1}", "(1, 2)"]
BINOPS = ["+", "-", "*", "/", "//", "%", "**", "~", "==", "!=", "<", "<=", ">", ">=", "in", "not in", "and", "or"]
FILTERS = ["length", "trim", "string", "lower", "upper", "first", "last", "list", "tojson", "abs", "int", "float",
           "round", "reverse|list", "sort", "unique|list", "join", "join(',')", "default('D')", "d(1, true)", "capitalize",
           "title", "items|list", "replace('l', 'L')", "sum", "max", "min", "select('odd')|list", "map('string')|list", "wordcount",
           "center(9)", "tojson(indent=1)", "trim('H')", "batch_missing_filter"]
TESTS = ["defined", "undefined", "none", "string", "number", "integer", "float", "boolean", "mapping", "iterable",
         "sequence", "true", "false", "odd", "even", "divisibleby 2", "eq 1", "lower", "upper", "in [1, 2]"]
METHODS = ["strip()", "lstrip('H')", "rstrip('d')", "split()", "split(',')", "startswith('H')", "endswith('d')",
           "upper()", "lower()", "title()", "replace('o', '0')", "find('o')", "count('l')", "items()", "keys()",
           "values()", "get('k')", "get('q', 5)", "index(1)", "isdigit()", "format(1)"]


def gen(rng, depth=0):
    r = rng.random()
    if depth > 3 or r < 0.25:
        return rng.choice(LITERALS) if rng.random() < 0.5 else rng.choice(NAMES)
    if r < 0.45:
        return f"({gen(rng, depth + 1)} {rng.choice(BINOPS)} {gen(rng, depth + 1)})"
    if r < 0.58:
        return f"({gen(rng, depth + 1)} | {rng.choice(FILTERS)})"
    if r < 0.68:
        neg = "not " if rng.random() < 0.3 else ""
        return f"({gen(rng, depth + 1)} is {neg}{rng.choice(TESTS)})"
    if r < 0.76:
        return f"{rng.choice(NAMES)}.{rng.choice(METHODS)}"
    if r < 0.84:
        idx = rng.choice(["0", "-1", "1:", ":2", "::-1", "'k'", "5"])
        return f"{rng.choice(NAMES)}[{idx}]"
    if r < 0.9:
        return f"({gen(rng, depth + 1)} if {gen(rng, depth + 1)} else {gen(rng, depth + 1)})"
    if r < 0.95:
        return f"(not {gen(rng, depth + 1)})"
    return f"(-{gen(rng, depth + 1)})"


EXPRESSIONS = [gen(random.Random(seed)) for seed in range(400)]


@pytest.mark.parametrize("chunk", range(8))
def test_random_expressions_match_jinja2(chunk, tmp_path):
    mismatches = []
    rendered = 0
    for expr in EXPRESSIONS[chunk::8]:
        template = "{{ " + expr + " }}"
        try:
            expected = oracle_render(template, CONTEXT)
        except OracleError:
            expected = None
        status, out, err = glmserve_render(CONTEXT, template_source=template, tmp_path=tmp_path)
        if expected is None:
            if status != 1:
                mismatches.append(f"{template}: jinja2 raised, glmserve gave {status} {out!r}")
        elif status != 0 or out != expected:
            mismatches.append(f"{template}: jinja2 {expected!r}, glmserve {status} {out!r} {err.strip()}")
        else:
            rendered += 1
    assert not mismatches, "\n".join(mismatches)
    assert rendered > 10


# ---------------------------------------------------------------------------------------------
# Whitespace fuzzing: random templates mixing text, newlines, indentation and every tag form
# ({%- -%} {%+ +%} {{- -}} {#- -#}, raw blocks), where trim_blocks / lstrip_blocks interact.

WS_TEXT = ["\n", "  ", "\t", "x", " y ", "\n  ", "\n\n", "  \n", "z\n", " \u00a0", ""]


def ws_tag(rng, body):
    left = rng.choice(["{%", "{%-", "{%+"])
    right = rng.choice(["%}", "-%}", "+%}"])
    return f"{left} {body} {right}"


def ws_piece(rng, depth=0):
    r = rng.random()
    if depth > 2 or r < 0.35:
        return rng.choice(WS_TEXT)
    if r < 0.5:
        return rng.choice(["{{ ", "{{- "]) + rng.choice(["i", "'v'", "l|length"]) + rng.choice([" }}", " -}}"])
    if r < 0.58:
        return rng.choice(["{#", "{#-"]) + " c " + rng.choice(["#}", "-#}"])
    if r < 0.62:
        return rng.choice(["{% raw %}", "{%- raw -%}"]) + rng.choice(WS_TEXT) + "{{ raw }}" + \
            rng.choice(["{% endraw %}", "{%- endraw %}", "{% endraw -%}"])
    body = "".join(ws_piece(rng, depth + 1) for _ in range(rng.randint(1, 4)))
    if r < 0.8:
        other = "".join(ws_piece(rng, depth + 1) for _ in range(rng.randint(0, 3)))
        return ws_tag(rng, "if " + rng.choice(["t", "z"])) + body + ws_tag(rng, "else") + other + ws_tag(rng, "endif")
    if r < 0.86:
        control = rng.choice(["", ws_tag(rng, "if i == 1") + ws_tag(rng, rng.choice(["break", "continue"])) +
                              ws_tag(rng, "endif")])
        return ws_tag(rng, "for i in l") + control + body + ws_tag(rng, "endfor")
    if r < 0.9:
        return (ws_tag(rng, "macro mac(a, b='d')") + body + "{{ a ~ b }}" + ws_tag(rng, "endmacro") +
                rng.choice(["{{ mac(1) }}", "{{- mac('x', b=2) -}}", "{{ mac(i)|trim }}"]))
    if r < 0.95:
        return (ws_tag(rng, "set ns = namespace(c=0)") + ws_tag(rng, "for i in l") + ws_tag(rng, "set ns.c = ns.c + i")
                + body + ws_tag(rng, "endfor") + "{{ ns.c }}")
    return ws_tag(rng, "set q = 1") + body


WS_TEMPLATES = ["".join(ws_piece(random.Random(10_000 + seed)) for _ in range(6)) for seed in range(240)]


@pytest.mark.parametrize("chunk", range(4))
def test_random_whitespace_templates_match_jinja2(chunk, tmp_path):
    mismatches = []
    for template in WS_TEMPLATES[chunk::4]:
        expected = oracle_render(template, CONTEXT)
        status, out, err = glmserve_render(CONTEXT, template_source=template, tmp_path=tmp_path)
        if status != 0 or out != expected:
            mismatches.append(f"{template!r}: jinja2 {expected!r}, glmserve {status} {out!r} {err.strip()}")
    assert not mismatches, "\n".join(mismatches)
