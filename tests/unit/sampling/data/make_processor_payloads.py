"""Generates processor_payloads.json: real dill pickles of SGLang logit-processor classes, as
`CustomLogitProcessor.to_str()` produces them ({"callable": "<hex of dill.dumps(cls)>"}).

The classes are stand-ins declared under SGLang's module path and qualified names
(sglang.srt.sampling.custom_logit_processor), so dill pickles them by reference exactly as it does
inside an SGLang client; one subclass is declared in __main__, which dill pickles by value.
Run: python3 -m venv /tmp/dillenv && /tmp/dillenv/bin/pip install dill &&
     /tmp/dillenv/bin/python make_processor_payloads.py > processor_payloads.json
"""
import json
import os
import sys
import tempfile

import dill

STUB = '''
import json
import dill

class CustomLogitProcessor:
    @classmethod
    def to_str(cls):
        return json.dumps({"callable": dill.dumps(cls).hex()})
    def __call__(self, logits, custom_param_list=None):
        raise NotImplementedError

class DisallowedTokensLogitsProcessor(CustomLogitProcessor):
    def __call__(self, logits, custom_param_list=None):
        return logits

class ThinkingBudgetLogitProcessor(CustomLogitProcessor):
    THINKING_START_TOKEN_ID = -1
    THINKING_END_TOKEN_ID = -1
    NEW_LINE_TOKEN_ID = -1
    def __call__(self, logits, custom_param_list=None):
        return logits

class Glm4MoeThinkingBudgetLogitProcessor(ThinkingBudgetLogitProcessor):
    THINKING_START_TOKEN_ID = 151350
    THINKING_END_TOKEN_ID = 151351
    NEW_LINE_TOKEN_ID = 198

class Qwen3ThinkingBudgetLogitProcessor(ThinkingBudgetLogitProcessor):
    THINKING_START_TOKEN_ID = 151667
    THINKING_END_TOKEN_ID = 151668
    NEW_LINE_TOKEN_ID = 198

class DeepseekOCRNoRepeatNGramLogitProcessor(CustomLogitProcessor):
    pass
'''

root = tempfile.mkdtemp()
pkg = os.path.join(root, "sglang", "srt", "sampling")
os.makedirs(pkg)
for d in ("sglang", "sglang/srt", "sglang/srt/sampling"):
    open(os.path.join(root, d, "__init__.py"), "w").close()
with open(os.path.join(pkg, "custom_logit_processor.py"), "w") as f:
    f.write(STUB)
os.makedirs(os.path.join(root, "mypkg"))
open(os.path.join(root, "mypkg", "__init__.py"), "w").write(
    "from sglang.srt.sampling.custom_logit_processor import CustomLogitProcessor\n"
    "class MyOwnProcessor(CustomLogitProcessor):\n    pass\n")
sys.path.insert(0, root)

from sglang.srt.sampling import custom_logit_processor as clp  # noqa: E402
import mypkg  # noqa: E402


class MyGlmBudget(clp.Glm4MoeThinkingBudgetLogitProcessor):  # defined in __main__: pickled by value
    pass


cases = []
for cls, expected in [
    (clp.Glm4MoeThinkingBudgetLogitProcessor, "Glm4MoeThinkingBudgetLogitProcessor"),
    (clp.Qwen3ThinkingBudgetLogitProcessor, "Qwen3ThinkingBudgetLogitProcessor"),
    (clp.ThinkingBudgetLogitProcessor, "ThinkingBudgetLogitProcessor"),
    (clp.DisallowedTokensLogitsProcessor, "DisallowedTokensLogitsProcessor"),
    (MyGlmBudget, "Glm4MoeThinkingBudgetLogitProcessor"),
    (clp.DeepseekOCRNoRepeatNGramLogitProcessor, None),
    (mypkg.MyOwnProcessor, None),
]:
    cases.append({"class": f"{cls.__module__}.{cls.__qualname__}", "payload": cls.to_str(), "expected": expected})
# The very old SGLang form pickled an instance instead of the class.
cases.append({"class": "instance of Glm4MoeThinkingBudgetLogitProcessor",
              "payload": json.dumps({"callable": dill.dumps(clp.Glm4MoeThinkingBudgetLogitProcessor()).hex()}),
              "expected": "Glm4MoeThinkingBudgetLogitProcessor"})
# Each payload is what SGLang sends: JSON whose "callable" is a hex dill pickle (checked before writing).
for c in cases:
    assert bytes.fromhex(json.loads(c["payload"])["callable"]), c["class"]
assert len(cases) == 8, len(cases)
print(json.dumps({"dill_version": dill.__version__, "python": sys.version.split()[0], "cases": cases}, indent=1))
