"""Problem generators (checked by independent computations), loaders and grading."""

from __future__ import annotations

import itertools
import json
import math
import threading
from fractions import Fraction

import numpy as np
import pytest
import sympy

from agent_envs.math import (
    AREAS,
    LEVELS,
    SAMPLE_PROBLEMS_PATH,
    AnswerChecker,
    Grade,
    ProceduralProblems,
    extract_boxed,
    generate_problem,
    load_problems,
    parse_exact_number,
)

SEEDS = range(3)


def _ints(text: str) -> list[int]:
    import re

    return [int(x) for x in re.findall(r"-?\d+", text)]


def test_every_area_and_level_is_deterministic_and_exact():
    for area, level in itertools.product(AREAS, LEVELS):
        first = generate_problem(area, level, 7)
        assert first == generate_problem(area, level, 7)
        assert parse_exact_number(first.answer) is not None, first
        assert first.question and first.id == f"{area}-L{level}-7"


@pytest.mark.parametrize("seed", SEEDS)
def test_answers_agree_with_independent_computations(seed):
    p = generate_problem("number_theory", 3, seed)
    a, b, m = _ints(p.question)
    result, base = 1, a % m  # square-and-multiply, written out
    while b:
        result, base, b = (result * base % m if b & 1 else result), base * base % m, b >> 1
    assert int(p.answer) == result
    p = generate_problem("number_theory", 4, seed)
    assert int(p.answer) == sympy.divisor_count(_ints(p.question)[0])
    p = generate_problem("number_theory", 5, seed)
    assert int(p.answer) == sum(sympy.primerange(_ints(p.question)[0]))
    p = generate_problem("algebra", 5, seed)
    x = sympy.Symbol("x")
    poly = sympy.parse_expr(
        p.question.split("$")[1].split("=")[0].replace("^", "**"), transformations="all"
    )
    assert int(p.answer) == sum(r**2 for r in sympy.roots(sympy.Poly(poly, x)))
    p = generate_problem("probability", 4, seed)
    k, s = _ints(p.question)
    hits = sum(1 for roll in itertools.product(range(1, 7), repeat=k) if sum(roll) == s)
    assert Fraction(p.answer) == Fraction(hits, 6**k)
    p = generate_problem("probability", 5, seed)
    n, j = _ints(p.question)[1], _ints(p.question)[-1]
    if n <= 9:
        perms = itertools.permutations(range(n))
        hits = sum(1 for q in perms if sum(q[i] == i for i in range(n)) == j)
        assert Fraction(p.answer) == Fraction(hits, math.factorial(n))
    p = generate_problem("combinatorics", 5, seed)
    n, m = _ints(p.question)[2], _ints(p.question)[-1]
    by_sum = {0: 1}
    for v in range(1, n + 1):  # count subsets by exact sum, a different algorithm
        new = dict(by_sum)
        for total, ways in by_sum.items():
            new[total + v] = new.get(total + v, 0) + ways
        by_sum = new
    assert int(p.answer) == sum(w for t, w in by_sum.items() if t % m == 0)
    p = generate_problem("arithmetic", 5, seed)
    assert int(p.answer) == sum(int(d) for d in str(sympy.factorial(_ints(p.question)[0])))


def test_source_validation_and_sampling():
    source = ProceduralProblems(areas=["algebra"], levels=[2, 3])
    rng = np.random.default_rng(1)
    drawn = {source.sample(rng).level for _ in range(20)}
    assert drawn == {2, 3}
    with pytest.raises(ValueError):
        ProceduralProblems(areas=["astrology"])
    with pytest.raises(ValueError):
        ProceduralProblems(levels=[9])
    with pytest.raises(ValueError):
        generate_problem("algebra", 0, 1)


def test_jsonl_and_hf_dataset_loaders(tmp_path):
    shipped = load_problems(SAMPLE_PROBLEMS_PATH)
    assert len(shipped) == 12 and shipped.problems[1].answer == "\\frac{3}{4}"
    datasets = pytest.importorskip("datasets")
    rows = [json.loads(line) for line in SAMPLE_PROBLEMS_PATH.read_text().splitlines()]
    renamed = [{"problem": r["question"], "solution": r["answer"]} for r in rows]
    from_hf = load_problems(datasets.Dataset.from_list(renamed), "problem", "solution")
    assert [p.answer for p in from_hf.problems] == [p.answer for p in shipped.problems]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q", "answer": "1"}\n{not json}\n')
    with pytest.raises(ValueError, match="bad.jsonl:2"):
        load_problems(bad)
    with pytest.raises(ValueError, match="lacks"):
        load_problems([{"question": "q"}])
    with pytest.raises(ValueError, match="no such"):
        load_problems(tmp_path / "missing.jsonl")


def test_extract_boxed_and_exact_numbers():
    assert extract_boxed(r"a \boxed{1} then \boxed{\frac{2}{3}}") == (r"\frac{2}{3}", "")
    assert extract_boxed(r"\boxed{ {a}{b} }")[0] == "{a}{b}"
    assert extract_boxed(r"\boxed{")[0] is None
    assert parse_exact_number(r"-\frac{3}{6}") == Fraction(-1, 2)
    assert parse_exact_number("$1.50$") == Fraction(3, 2)
    assert parse_exact_number("1/0") is None


def test_math_verify_equivalences_and_time_limit_in_a_thread():
    # 3 s: the first symbolic check of a loaded CI machine took ~1.5 s; (x+1)^3000 takes far longer
    checker = AnswerChecker(timeout=3.0)
    verdicts = {}

    def work():  # math-verify's own signal.alarm timeout would raise here
        verdicts["half"] = checker.check("0.5", r"\frac{1}{2}").correct
        verdicts["expr"] = checker.check("(x+1)^2", "x^2+2x+1").correct
        verdicts["wrong"] = checker.check("x^2+1", "x^2+2x+1").correct
        verdicts["radical"] = checker.check(r"\frac{10}{\sqrt{2}}", r"5\sqrt{2}").correct
        slow = checker.check("(x+1)^{3000}", "(x+2)^{3000}")
        verdicts["slow"] = (slow.correct, slow.method)
        verdicts["after"] = checker.check("2x", "x+x").correct

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=120)
    # the verifier outlives the thread that started it, and still answers
    assert checker.check("3y", "y+2y") == Grade(True, "math-verify")
    checker.close()
    assert verdicts == {
        "half": True,
        "expr": True,
        "wrong": False,
        "radical": True,
        "slow": (False, "error"),
        "after": True,
    }
