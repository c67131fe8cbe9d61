"""Feature-by-feature snippets: glmserve render vs Python jinja2 with transformers' settings.
Each snippet must render byte-identically, or fail in both engines (then glmserve must exit 1 with
a message, not crash)."""
import pytest

from chat_template_oracle import OracleError, glmserve_render, oracle_render

V = {
    "s": "Hello World", "u": "  ünï cödé 北京  ", "n": 7, "f": 2.5, "neg": -3, "t": True, "z": 0, "none": None,
    "l": [3, 1, 2], "ls": ["b", "A", "c", "a"], "d": {"b": 1, "a": [1, 2], "c": {"x": "y"}},
    "msgs": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo", "n": 2},
             {"role": "user", "content": "bye"}],
    "items": [{"name": "x", "v": 2}, {"name": "y", "v": None}, {"name": "z", "v": 5}],
    "nested": {"a": {"b": {"c": [1, {"d": "deep"}]}}}, "empty": "", "el": [], "ed": {},
    "floats": [0.1, 1e-05, 1e16, 123456789.125, -0.0, 1.0, 3.0e-10, 2.5e+300],
}

SNIPPETS = [
    # output, literals, whitespace control
    "{{ s }}|{{ n }}|{{ f }}|{{ t }}|{{ none }}|{{ undefined_name }}|",
    "{{ 'single' }}{{ \"double\" }}{{ 'esc\\n\\t\\'q' }}{{ 'a' 'b' }}{{ '\\u00e9\\x41' }}",
    "{{ [1, 'a', none, true, 2.0] }} {{ {'k': 'v', 'n': [1]} }} {{ (1,) }} {{ () }} {{ (1, 'x') }}",
    "{{ l }}{{ d }}{{ msgs[1] }}{{ \"it's\" }}{{ ['it\\'s', 'say \"hi\"', 'both \\' \"'] }}",
    "{% for x in floats %}{{ x }} {% endfor %}",
    "{{ 1/3 }} {{ 2/2 }} {{ 10 // 3 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 5.5 % 2 }} {{ 2 ** 10 }} {{ 2 ** 3 ** 2 }} {{ 2 ** -1 }}",
    "{{ 1 + 2 * 3 - 4 }} {{ (1 + 2) * 3 }} {{ 1.5 + 1 }} {{ true + 1 }} {{ 'ab' * 3 }} {{ [1] * 2 }} {{ 3 * 'x' }}",
    "{{ -n }} {{ +n }} {{ -f }} {{ not t }} {{ not none }} {{ -n|abs }}",
    "a  \n  {%- if t %}  yes  {% endif -%}  \n  b",
    "line1\n    {% if t %}\n    inner\n    {% endif %}\nline2\n",
    "x {{- ' y ' -}} z\n{{ s }}   \n\n{#- comment -#}\n  tail",
    "  {# comment #}\nA\n  {#- c -#}  B {# c #}\n",
    "{% raw %}{{ not rendered }}{% endraw %}|{%- raw -%}  {% x %}  {%- endraw -%}|",
    "  {%+ if t %}keep{% endif +%}\nnext",
    "{% if t %}\n  a\n{% else %}\n  b\n{% endif %}\n",
    "{%- for m in msgs -%}\n  {{ m.role }}: {{ m.content }}\n{% endfor -%}\n",
    "start\n{% for i in range(3) %}\n   {{ i }}\n{% endfor %}\nend",
    "{% for i in range(2) %}{{ i }}\t{% endfor %}\n\n",
    "trailing newline kept once\n\n",
    # conditionals and comparisons
    "{% if n > 5 and n < 10 %}mid{% elif n > 10 %}big{% else %}small{% endif %}",
    "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ none == none }} {{ 'b' > 'a' }} {{ [1, 2] < [1, 3] }}",
    "{{ 'x' if t else 'y' }} {{ 'x' if z else 'y' }} [{{ 'x' if z }}] {{ none or 'dflt' }} {{ 0 and 1 }} {{ s and n }}",
    "{{ 'World' in s }} {{ 'zz' not in s }} {{ 2 in l }} {{ 'a' in d }} {{ 'q' in d }} {{ 5 not in l }}",
    "{{ t is true }} {{ z is false }} {{ n is number }} {{ f is float }} {{ n is integer }} {{ t is number }} {{ t is boolean }}",
    "{{ s is string }} {{ l is sequence }} {{ d is mapping }} {{ d is iterable }} {{ n is iterable }} {{ undefined_x is iterable }}",
    "{{ none is none }} {{ n is not none }} {{ q is defined }} {{ q is undefined }} {{ n is divisibleby 7 }} {{ n is odd }} {{ 4 is even }}",
    "{{ n is eq 7 }} {{ n is ne 7 }} {{ n is lt 8 }} {{ n is ge 7 }} {{ 'a' is in 'abc' }} {{ s is lower }} {{ 'ABC' is upper }}",
    "{{ msgs[0].content is string and msgs[0].content is not mapping }}",
    "{{ l is sameas l }} {{ none is sameas none }} {{ s is callable }} {{ range is callable }}",
    # loops
    "{% for x in l %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }} {% endfor %}",
    "{% for x in l %}{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }} {{ loop.cycle('o', 'e') }};{% endfor %}",
    "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}",
    "{% for k in d %}{{ k }}{% endfor %} {% for c in 'aé北' %}[{{ c }}]{% endfor %}",
    "{% for x in el %}never{% else %}empty{% endfor %} {% for x in undefined_list %}x{% else %}undef-empty{% endfor %}",
    "{% for x in l if x > 1 %}{{ x }}:{{ loop.length }} {% endfor %}",
    "{% for x in l %}{% if x == 1 %}{% continue %}{% endif %}{% if x == 2 %}{% break %}{% endif %}{{ x }}{% endfor %}",
    "{% for a in [[1, 2], [3, 4]] %}{% for b in a %}{{ loop.index }}{{ b }}{% endfor %}|{{ loop.index }}{% endfor %}",
    "{% for a, b in [(1, 2), (3, 4)] %}{{ a + b }}{% endfor %}",
    # scoping
    "{% set x = 0 %}{% for i in [1, 2] %}{{ x }}{% set x = i %}{{ x }}{% endfor %}{{ x }}",
    "{% set ns = namespace(c=0, found=false) %}{% for i in l %}{% set ns.c = ns.c + i %}{% if i == 2 %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.c }} {{ ns.found }}",
    "{% if t %}{% set y = 'set-in-if' %}{% endif %}{{ y }}",
    "{% set a, b = 1, 2 %}{{ a }}{{ b }} {% set c = 1, 2 %}{{ c }}",
    "{% set blk %}inner {{ n }}{% endset %}[{{ blk }}] {% set up | upper %}shout{% endset %}{{ up }}",
    "{% for m in msgs %}{% set m = m.content %}{{ m }}{% endfor %}{{ m }}",
    "{% with a = 5 %}{{ a }}{% endwith %}[{{ a }}]",
    # macros
    "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('a') }} {{ greet('b', '?') }} {{ greet(punct='.', name='c') }}",
    "{% macro v(c) -%}\n  {%- if c is string -%}{{ c }}{%- else -%}{% for p in c %}{{ p.text }}{% endfor %}{%- endif -%}\n{%- endmacro %}{{ v('x').endswith('x') }} {{ v([{'text': 'a'}, {'text': 'b'}]) | upper }}",
    "{% macro outer() %}{{ s }}-{{ n }}{% endmacro %}{% set n = 99 %}{{ outer() }}",
    "{% macro rec(k) %}{{ k }}{% if k > 0 %}{{ rec(k - 1) }}{% endif %}{% endmacro %}{{ rec(5) }}",
    "{% macro m() %}[{{ caller() }}]{% endmacro %}{% call m() %}body {{ n }}{% endcall %}",
    "{% macro opt(a, b=none) %}{{ a }}{{ b }}{{ b is none }}{% endmacro %}{{ opt(1) }}",
    # filters
    "{{ l|length }} {{ s|length }} {{ u|length }} {{ d|length }} {{ undefined_x|length }} {{ s|count }}",
    "[{{ u|trim }}] [{{ '--x--'|trim('-') }}] {{ s|lower }} {{ s|upper }} {{ 'hello wORLD-foo(bar'|title }} {{ 'hELLO'|capitalize }}",
    "{{ l|join(', ') }} {{ ls|join }} {{ items|join('|', attribute='name') }} {{ [1, none, 'x']|join('-') }}",
    "{{ n|string }}{{ none|string }}{{ l|string }} {{ '42'|int + 1 }} {{ '4.7'|int }} {{ 'x'|int }} {{ 'x'|int(5) }} {{ 3.9|int }} {{ '2.5'|float }} {{ n|float }}",
    "{{ undefined_x|default('dflt') }} {{ ''|default('e') }} {{ ''|default('e', true) }} {{ none|d('n') }} {{ n|default(1) }}",
    "{{ l|first }} {{ l|last }} {{ s|first }} {{ s|last }} {{ el|first }} {{ ls|sort }} {{ ls|sort(case_sensitive=true) }} {{ l|sort(reverse=true) }}",
    "{{ s|replace('o', '0') }} {{ s|replace('l', 'L', 2) }} {{ s|replace('', '-') }} {{ s|reverse }} {{ l|reverse|list }}",
    "{{ d|items|list }} {{ d.keys()|list }} {{ d.values()|list }} {{ l|list }} {{ 'ab'|list }} {{ d|list }}",
    "{{ ['a', 'A', 'b', 'a']|unique|list }} {{ [3, 1, 3]|unique|list }} {{ l|max }} {{ l|min }} {{ ls|max }} {{ l|sum }} {{ [{'n': 1}, {'n': 2.5}]|sum(attribute='n') }}",
    "{{ items|map(attribute='name')|join(',') }} {{ l|map('string')|join('+') }} {{ items|selectattr('v')|map(attribute='name')|list }} {{ items|rejectattr('v', 'none')|list|length }}",
    "{{ l|select('odd')|list }} {{ l|reject('odd')|list }} {{ [0, 1, '', 'a', none]|select|list }} {{ items|selectattr('name', 'equalto', 'y')|list }}",
    "{{ 2.567|round(2) }} {{ 2.5|round }} {{ 3.5|round }} {{ -2.5|round }} {{ 2.1|round(0, 'ceil') }} {{ 2.9|round(method='floor') }} {{ -5|abs }} {{ -2.5|abs }}",
    "{{ '%s-%d-%05.2f-%x-%r' % ('a', 3, 2.5, 255, 'q') }} {{ '%(a)s=%(b)s' % {'a': 1, 'b': 'two'} }} {{ '%s' % l }} {{ '100%%' % () }}",
    "{{ '<a href=\"x\">&</a>'|e }} {{ 'x'|safe }} {{ 'a b  c'|wordcount }} {{ 'ab'|center(6) }}|{{ 'x\ny\n\nz'|indent(2) }}|{{ 'x\ny'|indent(2, true) }}",
    "{{ d|dictsort }} {{ {'b': 2, 'A': 1, 'a': 3}|dictsort }} {{ d|dictsort(by='key', reverse=true)|map('first')|list }}",
    "{{ '%s and %s'|format('a', 'b') }} {{ 'n'|attr('upper') is defined }}",
    "{% filter upper %}shout {{ s }}{% endfilter %}",
    # tojson (transformers' override)
    "{{ d|tojson }} {{ l|tojson }} {{ s|tojson }} {{ u|tojson }} {{ none|tojson }} {{ t|tojson }} {{ floats|tojson }}",
    "{{ u|tojson(ensure_ascii=True) }} {{ d|tojson(indent=2) }} {{ d|tojson(sort_keys=True) }} {{ d|tojson(separators=(',', ':')) }}",
    "{{ {'emoji': '🙂', 'ctl': '\\x01\\x1f', 'q': '\"\\\\', 'nl': '\\n\\r\\t\\b\\f', 'del': '\\x7f'}|tojson }} {{ {'emoji': '🙂'}|tojson(ensure_ascii=true) }}",
    "{{ nested|tojson(indent=4) }} {{ el|tojson(indent=2) }} {{ ed|tojson(indent=2) }} {{ [el, ed]|tojson(indent=1) }} {{ l|tojson(indent='\t') }}",
    "{{ {'a': 1}|tojson(ensure_ascii=False) }} {{ 1.0|tojson }} {{ 1e100|tojson }} {{ (1, 2)|tojson }}",
    # string methods
    "{{ s.split(' ') }} {{ '  a  b '.split() }} {{ 'a,b,,c'.split(',') }} {{ 'a,b,c'.split(',', 1) }} {{ 'a b c'.rsplit(' ', 1) }} {{ 'x\\ny\\r\\nz'.splitlines() }}",
    "[{{ u.strip() }}] [{{ u.lstrip() }}] [{{ u.rstrip() }}] [{{ 'xxhixx'.strip('x') }}] [{{ '\\n\\nhi\\n'.lstrip('\\n') }}] [{{ 'hi\\n\\n'.rstrip('\\n') }}] [{{ 'ab北京ba'.strip('ab') }}]",
    "{{ s.startswith('Hell') }} {{ s.endswith('World') }} {{ s.startswith(('x', 'H')) }} {{ s.endswith('/nothink') }}",
    "{{ s.replace('World', 'There') }} {{ s.upper() }} {{ s.lower() }} {{ 'hello world'.title() }} {{ 'hELLO'.capitalize() }}",
    "{{ s.find('o') }} {{ s.rfind('o') }} {{ s.find('q') }} {{ '北京北'.find('京') }} {{ s.count('l') }} {{ '-'.join(['a', 'b']) }} {{ '{} and {name}'.format(1, name='n') }}",
    "{{ '12'.isdigit() }} {{ 'ab'.isalpha() }} {{ ' '.isspace() }} {{ 'ab'.islower() }} {{ '5'.zfill(3) }} {{ 'a'.ljust(3) }}| {{ 'a'.rjust(3) }}",
    "{{ '<think>abc</think>rest'.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') }} {{ 'x</think>\\n\\ny'.split('</think>')[-1].lstrip('\\n') }}",
    # dict / list access and methods
    "{{ d.b }} {{ d['b'] }} {{ d.a[1] }} {{ d.c.x }} {{ d['c']['x'] }} {{ d.missing }} {{ d.get('b') }} {{ d.get('zz') }} {{ d.get('zz', 5) }}",
    "{{ l[0] }} {{ l[-1] }} {{ l[5] }} {{ l.0 }} {{ msgs[loop_index] }} {{ msgs[1]['n'] }} {{ nested.a.b.c[1].d }} {{ l.index(2) }} {{ l.count(3) }}",
    "{{ l[1:] }} {{ l[:2] }} {{ l[::-1] }} {{ l[-2:] }} {{ s[1:4] }} {{ s[::-1] }} {{ s[::2] }} {{ u[2:5] }} {{ l[5:] }} {{ s[-3:] }}",
    "{{ d.keys is defined }} {{ {'items': 1}['items'] }} {{ {'get': 2}.get('get') }}",
    "{{ (d.items()|list)[0] }} {{ d.items()|length }} {{ dict(a=1, b='x') }} {{ dict(d, z=0)|length }} {{ range(2, 10, 3)|list }} {{ range(5, 0, -2)|list }}",
    "{{ [1, 2] + [3] }} {{ 'a' ~ 1 ~ none ~ [2] }} {{ s ~ undefined_x ~ '!' }} {{ [1, 2] == [1, 2] }} {{ {'a': 1} == {'a': 1} }}",
    "{{ namespace(a=1).a }} {% set ns = namespace() %}{% set ns.list = [] %}{{ ns.list }} {{ ns.missing }}",
    # undefined behaviour
    "{{ undefined_x }}|{{ undefined_x is defined }}|{% if undefined_x %}y{% else %}n{% endif %}|{{ undefined_x == undefined_y }}|{{ undefined_x|default('x') }}",
    "{{ d.missing is defined }} {{ d.missing|length }} {{ msgs[0].nope }}|{{ none.attr }}|{{ n.attr }}|{{ s.nope }}",
    "{% for x in none_list or [] %}{{ x }}{% endfor %}{{ (none_d or {}).items()|list }}",
    # globals
    "{{ strftime_now('%Y') | length }} {{ range(3)|list }} {{ namespace(x=1) }}",
    # lexer corner cases
    "{{ '%}' }} {{ \"{{\" }} {{ '}}' }} {{ {'a': {'b': 1}} }} {{ {'a': {'b': 1}}['a'] }}",
    "{{\n  s\n  ~ '!'\n}}|{%\n  if t\n%}multi-line tags{%\nendif\n%}",
    "a {# inline #} b\n   {# own line #}\nc\n\t{% if t %}\ttabbed{% endif %}\n",
    "x\r\ny\r\n{% if t %}\r\nz\r\n{% endif %}\r\n",
    "{% if t -%}\n\n\n   a   \n\n{%- endif %}|{{- '  b  ' -}}   |",
    "   {{ s }}   \n   {% if t %}x{% endif %}   \n{% if t %}  y  {% endif %}",
    "{%- set a = 1 -%}\n{{ a }}\n{%- set b = 2 %}\n{{ b }}\n",
    "{% for i in range(2) %}{% for j in range(2) %}{{ loop.index }}{% endfor %}{{ loop.index }}{% endfor %}",
    "{% set x = 1 %}{% set x = x + 1 %}{{ x }}{% for i in l %}{% endfor %}{{ i is defined }}",
    "{{ '%5s|%-5s|%+d|%.3e|%g|%o|%X|%c' % ('a', 'b', 5, 12345.678, 0.0001, 8, 255, 'z') }}",
    "{{ 1e3 }} {{ 1_000 }} {{ 1.5e-3 }} {{ 0.1 + 0.2 }} {{ 1e15 }} {{ 1e16 }} {{ 123456789012345678 }} {{ -1e-5 }} {{ 2.0 ** 0.5 }}",
    "{{ l|tojson(indent=2, separators=(',', ': ')) }} {{ [1.5, 2]|tojson(separators=(';', '=')) }}",
    "{% set parts = [] %}{% for m in msgs %}{% set parts = parts + [m.role] %}{% endfor %}{{ parts }}",
    "{{ msgs|selectattr('role', 'equalto', 'user')|list|length }} {{ msgs|map(attribute='role')|unique|list }}",
    "{{ msgs|last|attr('role') }} {{ (msgs|first).content }} {{ msgs[-1]['role'] == 'user' }} {{ msgs[:-1]|length }}",
    "{% if msgs[0].role == 'system' %}{% set sys = msgs[0].content %}{% set rest = msgs[1:] %}{% else %}{% set rest = msgs %}{% endif %}{{ sys }}|{{ rest|length }}",
    "{{ '\u4e2d' ~ 'é'|upper ~ 'straße'|upper ~ 'ÀÉ'|lower }} {{ 'ǅ'|length }} {{ '🙂x'[1] }} {{ '🙂x'|reverse }}",
    "{% for k, v in {'a': 1, 'b': 2}|dictsort %}{{ k }}{{ v }}{% endfor %} {{ {'b': 1, 'a': 2}|items|list }}",
    "{{ 7 is divisibleby(7) }} {{ 'abc' is string and 'abc' is not number }} {{ none is not defined }}",
    "{{ [3, 1]|sort|first }} {{ ['b', 'a']|sort|join }} {{ [{'k': 2}, {'k': 1}]|sort(attribute='k')|map(attribute='k')|list }}",
    "{{ 'x' in ['x', 'y'] and 'z' not in 'xy' }} {{ (1 if t) ~ (2 if z) }} {{ (s if z) is defined }}",
    "a\u00a0\u3000 {%- if t %}x{% endif -%} \u3000\u2028b|\u3000{% if t %}y{% endif %}|\n\u00a0 {% if t %}z{% endif %}",
    # constructs common in other models' templates (Qwen, Llama, DeepSeek)
    "{% for m in msgs[::-1] %}{% set index = (msgs|length - 1) - loop.index0 %}{{ index }}{{ m.role[0] }}{% endfor %}",
    "{{ ('a</think>b'.split('</think>')|first).rstrip('\\n').split('<think>')|last }} {{ msgs[0]['content'] is none }} {{ (msgs|length) > 2 }}",
    "{%- set system_message = '  sys  '|trim %}{{ system_message }}{% set loop_messages = msgs[1:] %}{{ loop_messages|length }}{{ tools is not none and tools|length > 0 }}",
    "{% for m in msgs %}{% if (m.role == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('alternate') }}{% endif %}{% endfor %}ok",
    # the GLM-specific shapes
    "{% set tc = {'function': {'name': 'f', 'arguments': {'a': 1, 'b': [1, 'x'], 'c': 'str', 'd': {'e': none}}}} %}{% if tc.function %}{% set tc = tc.function %}{% endif %}{{ tc.name }}{% set _args = tc.arguments %}{% for k, v in _args.items() %}<k>{{ k }}</k><v>{{ v | tojson(ensure_ascii=False) if v is not string else v }}</v>{% endfor %}",
]

ERROR_SNIPPETS = [
    "{{ raise_exception('custom failure') }}",
    "{% if true %}{{ raise_exception('inside ' ~ 'if') }}{% endif %}",
    "{{ 'x'.items() }}",
    "{{ undefined_x.attr }}",
    "{{ undefined_x() }}",
    "{{ undefined_x + 1 }}",
    "{{ 1 + 'a' }}",
    "{{ 1 / 0 }}",
    "{{ 5 // 0 }}",
    "{{ 'a' < 1 }}",
    "{% for x in 5 %}{% endfor %}",
    "{{ none|length }}",
    "{{ l|tojson }}{{ undefined_x|tojson }}",
    "{{ range(1000000)|length }}",
    "{{ [1,2].append(3) }}",
    "{{ d.update({}) }}",
    "{% set ns = namespace() %}{% set ns._private = 1 %}",
    "{{ namespace(_x=1) }}",
    "{% if %}",
    "{% if x %}unterminated",
    "{% for x in l %}{% endif %}",
    "{{ x",
    "{{ 'unterminated }}",
    "{% unknown_tag %}",
    "{% break %}",
    "{{ l|no_such_filter }}",
    "{{ n is no_such_test }}",
    "{# unterminated comment",
    "{{ 1 +* 2 }}",
    "{{ d.get() }}",
    "{{ '%d' % 'x' }}",
    "{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}",
    "{% macro inf() %}{{ inf() }}{% endmacro %}{{ inf() }}",
    "{% set a, b = [1, 2, 3] %}",
    "{{ s.split('') }}",
    "{{ l[::0] }}",
    "{{ (1, 2)[0:1] + [1] }}",
]


def _check(snippet, tmp_path, variables):
    try:
        expected = oracle_render(snippet, variables)
    except OracleError as e:
        status, out, err = glmserve_render(variables, template_source=snippet, tmp_path=tmp_path)
        assert status == 1, f"jinja2 raised {e}; glmserve gave status {status}, out {out!r}"
        assert err.strip(), "an error must come with a message"
        return str(e), err
    status, out, err = glmserve_render(variables, template_source=snippet, tmp_path=tmp_path)
    assert status == 0, err
    assert out == expected
    return None, None


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[f"s{i:03d}" for i in range(len(SNIPPETS))])
def test_snippet_matches_jinja2(snippet, tmp_path):
    variables = dict(V, loop_index=1)
    oracle_error, _ = _check(snippet, tmp_path, variables)
    assert oracle_error is None, f"snippet is meant to render, jinja2 raised {oracle_error}"


@pytest.mark.parametrize("snippet", ERROR_SNIPPETS, ids=[f"e{i:03d}" for i in range(len(ERROR_SNIPPETS))])
def test_error_snippet_fails_cleanly(snippet, tmp_path):
    oracle_error, our_error = _check(snippet, tmp_path, dict(V))
    assert oracle_error is not None, "snippet is meant to fail in jinja2"


def test_raise_exception_message_is_passed_through(tmp_path):
    status, out, err = glmserve_render({}, template_source="{{ raise_exception('Only user and assistant roles') }}",
                                       tmp_path=tmp_path)
    assert status == 1
    assert "Only user and assistant roles" in err


def test_error_names_the_line(tmp_path):
    status, out, err = glmserve_render({}, template_source="line1\n{% if true %}\n{{ 1 + 'a' }}\n{% endif %}",
                                       tmp_path=tmp_path)
    assert status == 1
    assert "line 3" in err
