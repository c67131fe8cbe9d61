"""The three real GLM chat templates: glmserve render vs Python jinja2 (transformers' settings),
byte for byte, over the published examples and a few hundred seeded random conversations."""
import json

import pytest

from chat_template_oracle import (GLM_DIR, TEMPLATES, OracleError, chat_variables, generated_cases,
                                        glmserve_render, oracle_render)

EXAMPLES = json.loads((GLM_DIR / "chat-template-examples.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", EXAMPLES, ids=[c["name"] for c in EXAMPLES])
def test_published_examples(case):
    variables = chat_variables(case["messages"], case.get("tools"), case.get("add_generation_prompt", False),
                               case.get("kwargs"))
    source = TEMPLATES[case["template"]].read_text(encoding="utf-8")
    # The oracle must agree with the recorded expectation, else the fixture is stale.
    assert oracle_render(source, variables) == case["expected"]
    status, out, err = glmserve_render(variables, TEMPLATES[case["template"]])
    assert status == 0, err
    assert out == case["expected"]


CASES_PER_TEMPLATE = 150


@pytest.mark.parametrize("template", sorted(TEMPLATES))
@pytest.mark.parametrize("chunk", range(5))
def test_generated_conversations(template, chunk):
    source = TEMPLATES[template].read_text(encoding="utf-8")
    per_chunk = CASES_PER_TEMPLATE // 5
    cases = generated_cases(seed=1000 * chunk + sorted(TEMPLATES).index(template), count=per_chunk)
    checked = 0
    for i, variables in enumerate(cases):
        try:
            expected = oracle_render(source, variables)
        except OracleError as e:
            status, out, err = glmserve_render(variables, TEMPLATES[template])
            assert status != 0, f"case {i}: jinja2 raised {e} but glmserve rendered {out!r}"
            continue
        status, out, err = glmserve_render(variables, TEMPLATES[template])
        assert status == 0, f"case {i}: {err}\ninputs={json.dumps(variables, ensure_ascii=False)}"
        assert out == expected, f"case {i}: inputs={json.dumps(variables, ensure_ascii=False)}"
        checked += 1
    assert checked >= per_chunk // 2  # most cases must render, not error
