"""Oracle for the `ebnf` sampling parameter (tests/unit/sampling/ebnf_regex_test.cpp): xgrammar, the library
SGLang hands `ebnf` to, says for each grammar (regular and recursive) and string whether the string can still
become a sentence of the root rule (accept_string) and whether it is one (is_completed). The left-recursive
grammars glmserve refuses are listed apart.
Dev only (xgrammar is not a CI dependency):

    /opt/fixenv/bin/pip install xgrammar && /opt/fixenv/bin/python tests/unit/sampling/data/make_ebnf_cases.py
"""
import json
import random
from pathlib import Path

import xgrammar as xgr

GRAMMARS = {
    "choice": 'root ::= "yes" | "no"',
    "digits": 'root ::= "a" [0-9]+ ("x" | "yz")?',
    "pairs": 'root ::= item ("," item)*\nitem ::= [a-z]+ "=" num\nnum ::= [0-9]{1,3}',
    "quoted": 'root ::= "\\"" [^"\\\\\\n]* "\\""',
    "unicode": 'root ::= "日本" [ぁ-ん]{2} | "\\u00e9" "\\x41"',
    "date": ('# an ISO date\nroot ::= year "-" month "-" day   # three parts\n'
             'year ::= [0-9]{4}\nmonth ::= "0" [1-9] | "1" [0-2]\nday ::= [0-2] [0-9] | "3" [01]'),
    "star_group": 'root ::= ("ab" | "c")* "!"',
    "at_least": 'root ::= "z"{2,} [a-c]? "\\t"',
    "shared_rule": 'root ::= w " " w " " w\nw ::= [A-Z] [a-z]*',
    "dash_names": 'root ::= first-part "/" second_part\nfirst-part ::= [0-9]{2}\nsecond_part ::= "end" | "stop"',
}
RECURSIVE = {
    "parens": 'root ::= "(" root ")" | "x"',
    "mutual": 'root ::= a\na ::= "[" b "]"\nb ::= a | "." | a "," b',
    "json_like": ('root ::= value\nvalue ::= object | array | "null" | [0-9]+ | "\\"" [a-z]* "\\""\n'
                  'object ::= "{" ( pair ( "," pair )* )? "}"\npair ::= "\\"" [a-z]+ "\\"" ":" value\n'
                  'array ::= "[" ( value ( "," value )* )? "]"'),
    "arith": 'root ::= expr\nexpr ::= term (("+" | "-") term)*\nterm ::= [0-9]+ | "(" expr ")"',
    "nullable_then_recursive": 'root ::= opt "<" root ">" | "."\nopt ::= " "?',
}
REFUSED = {
    "left": 'root ::= root "x" | "y"',
    "left_through_nullable": 'root ::= a root "x" | "y"\na ::= "" | "z"',
    "left_mutual": 'root ::= b "1" | "2"\nb ::= root "3"',
}
ALPHABET = list("abcxyz0123456789-,=!/ \"\\\nAZTe()[]{}:+.<>") + ["日本", "あい", "é", "A", "\t", "yes", "no", "end",
                                                                  "stop", "null", "((", "))", "[[", "]]"]


def verdicts(cg, s):
    m = xgr.GrammarMatcher(cg)
    viable = m.accept_string(s)
    return viable, bool(viable and m.is_completed())


def main():
    ti = xgr.TokenizerInfo(["<eos>", "a"], stop_token_ids=[0])
    comp = xgr.GrammarCompiler(ti)
    rng = random.Random(11)
    cases = []
    for name, g in {**GRAMMARS, **RECURSIVE}.items():
        cg = comp.compile_grammar(g)
        seeds = {"yes", "no", "a1", "a12x", "a1yz", "k=1,ab=22", '"hi"', '"a\\"', "日本あい", "éA", "2024-02-31",
                 "2024-13-01", "abc!", "!", "zzz\t", "zzb\t", "Ab Cd Ef", "12/end", "12/stop", "",
                 "((x))", "(((x))", "((x)))", "[[.]]", "[.,[.]]", '{"a":[1,{"b":null}],"c":"d"}', '{"a":}', "[1,[2,[]]]",
                 "1+(2-(3+4))", "1+(2-", "1+)", " < <.>>", "<<.>", "<.>>"}
        strings = set(seeds)
        while len(strings) < 120:
            strings.add("".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 8))))
        # Prefixes of the complete ones: viable but (mostly) not complete.
        for s in list(strings):
            if verdicts(cg, s)[1]:
                strings.update(s[:k] for k in range(len(s)))
        rows = []
        for s in sorted(strings):
            viable, complete = verdicts(cg, s)
            rows.append({"s": s, "viable": viable, "complete": complete})
        assert any(r["complete"] for r in rows) and any(not r["viable"] for r in rows), name
        cases.append({"name": name, "grammar": g, "strings": rows})
    refused = [{"name": name, "grammar": g} for name, g in REFUSED.items()]
    out = Path(__file__).resolve().parent / "ebnf_cases.json"
    out.write_text(json.dumps({"xgrammar": xgr.__version__ if hasattr(xgr, "__version__") else "0.2.9",
                               "cases": cases, "refused": refused}, ensure_ascii=False, indent=0) + "\n")
    print(f"{out}: {len(cases)} grammars, {sum(len(c['strings']) for c in cases)} strings")


if __name__ == "__main__":
    main()
