"""The grader follows the problem's demand: answer-form cases, each verdict read off the problem.

Every case below was decided by hand from the problem text (the comment or ``why``
says which words of the problem decide it), never by running the project. Cases whose
gold answer is a rational number are judged in this process; the others go through
math-verify in its sandbox, so the sandbox-backed checker is shared by the module.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from agent_envs.math import (
    AREAS,
    LEVELS,
    SAMPLE_PROBLEMS_PATH,
    AnswerChecker,
    MathTIREnv,
    generate_problem,
    load_problems,
)
from agent_envs.math.answer_form import (
    hedge_reason,
    parse_number,
    split_assignment,
    unsimplified_fraction,
    unsimplified_radical,
)
from agent_envs.math.demand import answer_demand

# Problems, by name: (question, gold answer).
SIN45 = (r"What is $\sin 45^\circ$? Give the exact value.", r"\frac{\sqrt{2}}{2}")
CIRCLE = ("What is the area of a circle of radius 1? Give the exact answer.", r"\pi")
SQRT50 = (r"What is $\sqrt{50}$ in simplest radical form?", r"5\sqrt{2}")
TIMES = (r"What is $3 \times 4$?", "12")
COIN = ("A fair coin is tossed once. What is the probability of heads?", r"\frac{1}{2}")
SIX_EIGHTHS = (r"Simplify $\frac{6}{8}$.", r"\frac{3}{4}")
LINEAR = ("Solve $2x + 3 = 8$ for $x$.", r"\frac{5}{2}")
LINE = ("Find the equation of the line through $(0, 3)$ with slope $2$.", "y = 2x + 3")
PERCENT_OF = ("What percent of 80 is 20?", "25")
OF_PERCENT = (r"What is $20\%$ of 50?", "10")
PI_2DP = (r"Find the value of $\pi$ rounded to two decimal places.", "3.14")
THIRD_DEC = (r"Express $\frac{1}{3}$ as a decimal to the nearest hundredth.", r"\frac{1}{3}")
ROOT2_3DP = (r"Give $\sqrt{2}$ to three decimal places.", r"\sqrt{2}")
PENS = (r"A pen costs \$1.25. How much do 2 pens cost, in dollars?", "2.50")
SQRT72_SIMPLE = (r"Simplify $\sqrt{72}$.", r"6\sqrt{2}")
SQRT72_EXACT = (r"What is $\sqrt{72}$? Give the exact value.", r"6\sqrt{2}")
RATIONALIZE = (r"Express $\frac{1}{\sqrt{2}}$ in simplest radical form.", r"\frac{\sqrt{2}}{2}")
GOLDEN = (
    "Find the positive root of $x^2 - x - 1 = 0$. Express it in simplest radical form.",
    r"\frac{1+\sqrt{5}}{2}",
)
DICE = (
    "Two fair dice are rolled. What is the probability that the sum is 7? "
    "Express your answer as a common fraction.",
    r"\frac{1}{6}",
)
LOWEST = (r"Compute 1/4 + 1/6 as a fraction in lowest terms.", "5/12")
HALVES = (r"What is $\frac{1}{4} + \frac{1}{4}$?", r"\frac{1}{2}")
MIXED = (r"Write $\frac{7}{2}$ as a mixed number.", r"3\frac{1}{2}")
EXPAND = ("Expand $(x+1)^2$.", "x^2+2x+1")
FACTOR = ("Factor $x^2 - 1$.", "(x-1)(x+1)")
SIMPLIFY_POLY = ("Simplify $(x+1)^2 - x^2$.", "2x+1")
COMPUTE = (r"Compute $37 + 5 \times 42$.", "247")
POWER = (r"Compute $2^{10}$.", "1024")
HEXAGON = ("What is the sum of the interior angles of a hexagon, in degrees?", "720")

# (problem, answer, expected verdict, why: the words of the problem that decide it)
CASES = [
    # the cases: approximations of exact answers, equations, percents, unsimplified
    (SIN45, "0.70710678", False, "'exact value': a decimal approximation is not it"),
    (SIN45, r"\frac{\sqrt{2}}{2}", True, "the exact value itself"),
    (SIN45, r"\frac{1}{\sqrt{2}}", True, "exact and equal; simplification is not asked"),
    (CIRCLE, "3.14159265", False, "'exact answer': pi to 8 places is an approximation"),
    (CIRCLE, r"\pi", True, "the exact area"),
    (SQRT50, "7.0710678", False, "'simplest radical form': a decimal is neither exact nor radical"),
    (SQRT50, r"5\sqrt{2}", True, "simplest radical form of sqrt(50)"),
    (SQRT50, r"\sqrt{2} \cdot 5", True, "the same simplified radical, factors swapped"),
    (SQRT50, r"\sqrt{50}", False, "50 = 25*2 keeps a square factor under the root"),
    (SQRT50, r"\frac{10}{\sqrt{2}}", False, "a radical in the denominator is not simplest form"),
    (TIMES, "13 = 12", False, "a false equation is not the value 12"),
    (TIMES, "1200\\%", False, "no percent is asked; 1200% is not how 3*4 is written"),
    (TIMES, "12", True, "3*4 = 12"),
    (TIMES, "12.0", True, "exactly 12 (a terminating decimal equal to the gold is exact)"),
    (TIMES, "12.0001", False, "not 12"),
    (TIMES, "12 or 13", False, "a hedge between two answers"),
    (TIMES, "about 12", False, "a hedge: 'about'"),
    (TIMES, r"\approx 12", False, "a hedge: approximately"),
    (TIMES, "12?", False, "a hedge: a question mark"),
    (TIMES, "12, 13", False, "two answers to a question with one"),
    (TIMES, r"12 \text{ or } 13", False, "a hedge written in text"),
    (TIMES, r"12 \pm 1", False, "a hedge: plus or minus"),
    (TIMES, "x = 12", False, "the problem names no x: the assignment is made up"),
    (COIN, "50\\%", False, "a probability is asked, not a percent"),
    (COIN, r"\frac{1}{2}", True, "the probability of heads"),
    (COIN, "0.5", True, "exactly 1/2; no form is asked"),
    (SIX_EIGHTHS, r"\frac{6}{8}", False, "'Simplify': 6/8 is not in lowest terms"),
    (SIX_EIGHTHS, "6/8", False, "'Simplify': the same unsimplified fraction"),
    (SIX_EIGHTHS, r"\frac{3}{4}", True, "6/8 in lowest terms"),
    (SIX_EIGHTHS, "3/4", True, "the same fraction, slash notation"),
    (SIX_EIGHTHS, r"\dfrac{3}{4}", True, "the same fraction, display style"),
    (SIX_EIGHTHS, "0.75", False, "'Simplify' a fraction: a decimal is a conversion, not it"),
    # variables and equations
    (LINEAR, r"x = \frac{5}{2}", True, "a bare assignment to the x the problem solves for"),
    (LINEAR, "x = 2.5", True, "the same value, exactly, as a decimal; no form asked"),
    (LINEAR, r"\frac{5}{2}", True, "the value of x"),
    (LINEAR, r"y = \frac{5}{2}", False, "the problem has no y"),
    (LINEAR, "2x = 5", False, "an equation, not the value of x"),
    (LINEAR, r"x = \frac{5}{2} = 2.5", False, "a chain of equations, not a value"),
    (LINEAR, r"x \geq \frac{5}{2}", False, "an inequality, not the value"),
    (LINE, "y = 2x + 3", True, "the line itself"),
    (LINE, "y = 3 + 2x", True, "the same line, terms swapped"),
    (LINE, "y = 2x + 4", False, "a different line (intercept 4)"),
    # percents
    (PERCENT_OF, r"25\%", True, "'What percent': 20 is 25% of 80"),
    (PERCENT_OF, "25", True, "the number of percent asked for"),
    (PERCENT_OF, "25 percent", True, "the same, in words"),
    (PERCENT_OF, "0.25", False, "a fraction of one, not a percent"),
    (OF_PERCENT, "10", True, "20% of 50 is 10 (a quantity is asked)"),
    (OF_PERCENT, r"10\%", False, "the question has a % but asks for a quantity"),
    # decimals asked for
    (PI_2DP, "3.14", True, "pi to two decimal places"),
    (PI_2DP, "3.140", True, "the same two places with a trailing zero"),
    (PI_2DP, "3.1416", False, "four places where two are asked"),
    (PI_2DP, "3.14...", False, "the dots say it goes on: not a rounded value"),
    (PI_2DP, "3.14.", True, "3.14 ending a sentence"),
    (PI_2DP, "3.15", False, "not the rounding of pi"),
    (PI_2DP, r"\pi", False, "'rounded to two decimal places': pi itself is not rounded"),
    (PI_2DP, r"\frac{157}{50}", False, "'decimal places': a fraction is not a decimal"),
    (THIRD_DEC, "0.33", True, "1/3 = 0.333..., to the nearest hundredth 0.33"),
    (THIRD_DEC, "0.333", False, "three places where hundredths are asked"),
    (THIRD_DEC, "0.34", False, "not the nearest hundredth"),
    (THIRD_DEC, r"\frac{1}{3}", False, "'as a decimal': a fraction is not asked"),
    (ROOT2_3DP, "1.414", True, "sqrt(2) = 1.41421..., three places 1.414"),
    (ROOT2_3DP, "1.415", False, "not the rounding of sqrt(2)"),
    (ROOT2_3DP, "1.41", False, "two places: 1.41 is 0.004 away, beyond the third place"),
    (ROOT2_3DP, r"\sqrt{2}", False, "'to three decimal places': the exact root is not asked"),
    # a decimal gold answer
    (PENS, "2.5", True, "2 * 1.25 = 2.5 dollars"),
    (PENS, "2.50", True, "the same amount, cents written"),
    (PENS, r"\$2.50", True, "the same amount with the dollar sign of the question"),
    (PENS, r"\frac{5}{2}", True, "exactly 2.5; the problem asks no form"),
    (PENS, "2.49", False, "a cent short"),
    # simplified radicals and fractions
    (SQRT72_SIMPLE, r"6\sqrt{2}", True, "72 = 36*2"),
    (SQRT72_SIMPLE, r"\sqrt{72}", False, "'Simplify': the root of 72 keeps the square 36"),
    (SQRT72_SIMPLE, r"2\sqrt{18}", False, "18 = 9*2 keeps a square factor"),
    (SQRT72_SIMPLE, r"3\sqrt{8}", False, "8 = 4*2 keeps a square factor"),
    (SQRT72_EXACT, r"\sqrt{72}", True, "'exact value': exact, and simplifying is not asked"),
    (SQRT72_EXACT, "8.485", False, "'exact value': a decimal approximation"),
    (RATIONALIZE, r"\frac{\sqrt{2}}{2}", True, "the rationalized form"),
    (RATIONALIZE, r"\frac{1}{\sqrt{2}}", False, "the root stays in the denominator"),
    (RATIONALIZE, r"\frac{2\sqrt{2}}{4}", False, "a common factor 2 of 2 and 4 remains"),
    (RATIONALIZE, "0.7071", False, "a decimal, not a radical form"),
    (GOLDEN, r"\frac{1+\sqrt{5}}{2}", True, "the quadratic formula's positive root"),
    (GOLDEN, r"x = \frac{1+\sqrt{5}}{2}", True, "bare assignment to the problem's x"),
    (GOLDEN, r"\frac{2+2\sqrt{5}}{4}", False, "2, 2 and 4 share the factor 2"),
    (GOLDEN, "1.618", False, "a decimal approximation of the root"),
    (DICE, r"\frac{1}{6}", True, "6 of 36 outcomes, as a common fraction"),
    (DICE, "1/6", True, "the same common fraction"),
    (DICE, r"\frac{6}{36}", False, "'common fraction' means lowest terms"),
    (DICE, "0.1667", False, "'common fraction': a decimal is not one"),
    (LOWEST, "5/12", True, "1/4 + 1/6 = 3/12 + 2/12 = 5/12"),
    (LOWEST, r"\frac{10}{24}", False, "'lowest terms': 10/24 is not"),
    (LOWEST, "0.41666", False, "'as a fraction': a (wrong, truncated) decimal"),
    (HALVES, "0.5", True, "exactly 1/2; no form is asked"),
    (HALVES, r"\frac{2}{4}", True, "equal, and simplifying is not asked"),
    (HALVES, "0.49999", False, "not 1/2"),
    (MIXED, r"3\frac{1}{2}", True, "7/2 = 3 1/2"),
    (MIXED, "3 1/2", True, "the same mixed number, plain text"),
    (MIXED, r"\frac{7}{2}", False, "'as a mixed number': the improper fraction is the question"),
    (MIXED, "3.5", False, "'mixed number': a decimal is not one"),
    # polynomial forms
    (EXPAND, "x^2 + 2x + 1", True, "the expansion"),
    (EXPAND, "1 + 2x + x^2", True, "the expansion, terms reordered"),
    (EXPAND, "(x+1)^2", False, "'Expand': the unexpanded square is the question"),
    (EXPAND, "x^2+2x+2", False, "a different polynomial"),
    (FACTOR, "(x+1)(x-1)", True, "the factorization, factors swapped"),
    (FACTOR, "x^2 - 1", False, "'Factor': the expanded polynomial is the question"),
    (SIMPLIFY_POLY, "2x+1", True, "(x+1)^2 - x^2 = 2x + 1"),
    (SIMPLIFY_POLY, "1+2x", True, "the same, reordered"),
    (SIMPLIFY_POLY, "(x+1)^2 - x^2", False, "'Simplify': the question restated"),
    # a number is a final number
    (COMPUTE, "247", True, "37 + 210 = 247"),
    (COMPUTE, r"37 + 5 \times 42", False, "'Compute': the question restated, not computed"),
    (POWER, "1024", True, "2^10 = 1024"),
    (POWER, "1{,}024", True, "1024 with a LaTeX thousands separator"),
    (POWER, "1,024", True, "1024 with a thousands separator"),
    (POWER, "2^{10}", False, "'Compute': the power restated"),
    (HEXAGON, r"720^\circ", True, "(6-2)*180 = 720, with the degree sign asked for"),
    (HEXAGON, r"720 \text{ degrees}", True, "the same with the unit in words"),
    (HEXAGON, "720 or 1080", False, "a hedge between two answers"),
]


@pytest.fixture(scope="module")
def checker():
    box = AnswerChecker(timeout=20.0)
    yield box
    box.close()


def test_the_cases_are_many_and_balanced():
    assert len(CASES) >= 60
    accepted = sum(1 for case in CASES if case[2])
    assert 25 <= accepted <= len(CASES) - 25


@pytest.mark.parametrize(
    ("problem", "answer", "expected", "why"),
    CASES,
    ids=[f"{i:03d}-{'ok' if c[2] else 'no'}" for i, c in enumerate(CASES)],
)
def test_answer_form_case(checker, problem, answer, expected, why):
    question, gold = problem
    grade = checker.check(answer, gold, question)
    assert grade.method != "error", grade
    assert grade.correct is expected, f"{answer!r} for {gold!r} ({why}): {grade}"
    if not expected and grade.method == "form":
        assert grade.reason  # a refusal for form always says why


def test_a_refusal_says_why(checker):
    grade = checker.check("0.70710678", SIN45[1], SIN45[0])
    assert grade.method == "form" and "decimal" in grade.reason
    assert "lowest terms" in checker.check("6/8", SIX_EIGHTHS[1], SIX_EIGHTHS[0]).reason
    assert "percent" in checker.check("50%", COIN[1], COIN[0]).reason
    assert "hedges" in checker.check("12 or 13", "12", TIMES[0]).reason


def test_without_a_question_only_the_gold_decides(checker):
    # no question: exact by default, a bare var = value is allowed, nothing to simplify
    assert checker.check("x = 12", "12").correct
    assert checker.check(r"\frac{6}{8}", r"\frac{3}{4}").correct
    assert not checker.check("3.14159265", r"\pi").correct
    assert not checker.check("13 = 12", "12").correct


def test_demands_read_from_problem_text():
    assert answer_demand(*SQRT50).simplified and answer_demand(*SQRT50).exact
    assert answer_demand(*PI_2DP).places == 2
    assert answer_demand("Round to the nearest whole number.").places == 0
    assert answer_demand("Give the answer to 4 decimal places.").places == 4
    assert answer_demand(*DICE).fraction and answer_demand(*DICE).simplified
    assert answer_demand(*PERCENT_OF).percent and not answer_demand(*OF_PERCENT).percent
    assert answer_demand(*MIXED).mixed_number
    assert answer_demand(*EXPAND).expanded and answer_demand(*FACTOR).factored
    assert not answer_demand("What is the greatest common factor of 12 and 18?").factored
    assert not answer_demand("A round trip to the city takes 3 hours.").decimal
    assert answer_demand("", "y = 2x + 3").relation and not answer_demand("", "12").relation


def test_form_helpers():
    assert parse_number("1, 200") is None  # a list, not one thousand two hundred
    assert parse_number("3 4") is None
    assert parse_number("(3/4)") == parse_number("0.75")
    assert split_assignment(r"\theta = 30", r"Find $\theta$.") == ("30", None)
    assert hedge_reason(r"\sqrt{2}") is None and hedge_reason("x_1 or x_2") is not None
    assert unsimplified_fraction(r"\frac{4}{1}") and unsimplified_fraction(r"\frac{3}{-4}")
    assert (
        unsimplified_radical(r"\sqrt[3]{16}") == r"the radical \sqrt[3]{16} has the cube factor 8"
    )
    assert unsimplified_radical(r"\sqrt{\frac{1}{2}}") and not unsimplified_radical(r"2\sqrt[3]{2}")


def test_the_env_grades_by_the_problem_it_posed():
    rows = [{"question": SIX_EIGHTHS[0], "answer": SIX_EIGHTHS[1]}]
    env = MathTIREnv(problems=rows, warm_pool=0, cell_timeout=2.0)
    env.reset(seed=0)
    *_, reward, terminated, _, info = env.step(r"Reducing: \boxed{\frac{6}{8}}")
    assert terminated and reward == 0.0 and info["correct"] is False
    assert info["grading"] == "form" and "lowest terms" in info["grading_reason"]
    env.reset(seed=0)
    *_, reward, terminated, _, info = env.step(r"Dividing by 2: \boxed{\frac{3}{4}}")
    assert terminated and reward == 1.0 and info["correct"] is True
    env.close()


# Property tests: rational gold answers are judged in this process, so these are fast.
_QUIET = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_QUIET
@given(st.integers(min_value=-(10**30), max_value=10**30))
def test_an_integer_gold_accepts_itself_and_refuses_near_misses_and_hedges(n):
    checker = AnswerChecker()
    question = "Compute the value."
    assert checker.check(str(n), str(n), question).correct
    assert checker.check(f"{n}.0", str(n), question).correct  # exactly n
    for wrong in (f"{n}.0001", str(n + 1), f"{n} or {n + 1}", f"about {n}", f"{n + 1} = {n}"):
        assert not checker.check(wrong, str(n), question).correct, wrong
    assert not checker.check(f"{n}\\%", str(n), question).correct
    assert checker.check(f"{n}\\%", str(n), "What percent of the class passed?").correct


@_QUIET
@given(
    st.integers(min_value=1, max_value=10**6),
    st.integers(min_value=2, max_value=10**6),
    st.integers(min_value=2, max_value=50),
)
def test_simplify_wants_lowest_terms_and_nothing_else_does(p, q, k):
    assume(math.gcd(p, q) == 1)
    checker = AnswerChecker()
    gold = f"\\frac{{{p}}}{{{q}}}"
    simplify = f"Simplify $\\frac{{{k * p}}}{{{k * q}}}$."
    assert checker.check(f"{p}/{q}", gold, simplify).correct
    assert not checker.check(f"\\frac{{{k * p}}}{{{k * q}}}", gold, simplify).correct
    assert not checker.check(f"{k * p}/{k * q}", gold, simplify).correct
    compute = f"Compute ${k * p} \\div {k * q}$. Give the exact answer."
    assert checker.check(f"{k * p}/{k * q}", gold, compute).correct
    assert not checker.check(f"{p + 1}/{q}", gold, compute).correct


@_QUIET
@given(st.integers(min_value=2, max_value=300), st.sampled_from([2, 3, 5, 6, 7, 10, 11, 13]))
def test_simplest_radical_form_refuses_square_factors_and_decimals(a, n):
    checker = AnswerChecker()  # both refusals are decided before math-verify is needed
    question = f"Write $\\sqrt{{{a * a * n}}}$ in simplest radical form."
    gold = f"{a}\\sqrt{{{n}}}"
    grade = checker.check(f"\\sqrt{{{a * a * n}}}", gold, question)
    assert not grade.correct and "square factor" in grade.reason
    approximation = f"{a * math.sqrt(n):.6f}"
    assert not checker.check(approximation, gold, question).correct


_LATEX_BITS = st.sampled_from(
    ["0", "1", "2", "7", "12", ".", ",", "/", "\\frac", "\\sqrt", "{", "}", "(", ")", "^", "_",
     "=", "+", "-", "\\%", "%", " ", "x", "y", "\\pi", "\\text{", "or", "\\approx", "\\,", "?",
     "\\dfrac", "[", "]", "\\le", "\\cdot", "\\$", "^\\circ", "…", "\u2212", "\\infty"]
)  # fmt: skip
_LATEX_TEXT = st.lists(_LATEX_BITS, max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(
    answer=st.one_of(_LATEX_TEXT, st.text(max_size=80)),
    question=st.one_of(st.text(max_size=200), st.sampled_from([p[0] for p, *_ in CASES])),
    gold=st.sampled_from(["12", "-3/4", "2.50", r"3\frac{1}{2}", "25\\%", r"\frac{1}{3}"]),
)
def test_checking_any_text_against_a_number_never_raises(answer, question, gold):
    grade = AnswerChecker().check(answer, gold, question)  # rational golds: no sandbox
    assert isinstance(grade.correct, bool) and grade.method in ("exact", "form", "error")
    assert grade.method != "form" or grade.reason
    for helper in (answer_demand, parse_number, hedge_reason, unsimplified_fraction):
        helper(answer)
    unsimplified_radical(answer)
    split_assignment(answer, question)


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(answer=_LATEX_TEXT)
def test_checking_any_text_against_an_expression_never_raises(checker, answer):
    grade = checker.check(answer, r"5\sqrt{2}", "What is $\\sqrt{50}$ in simplest radical form?")
    assert isinstance(grade.correct, bool)
    assert grade.method in ("exact", "form", "error", "math-verify")


def test_every_shipped_and_generated_problem_accepts_its_own_reference(checker):
    problems = list(load_problems(SAMPLE_PROBLEMS_PATH).problems)
    problems += [generate_problem(a, lvl, seed) for a in AREAS for lvl in LEVELS for seed in (0, 1)]
    for problem in problems:
        grade = checker.check(problem.answer, problem.answer, problem.question)
        assert grade.correct, (problem, grade)
        value = parse_number(problem.answer)
        if value is None or "." in problem.answer:
            continue
        # the same value in LaTeX is accepted, and one more is not
        latex = rf"\frac{{{value.numerator}}}{{{value.denominator}}}"
        latex = str(value) if value.denominator == 1 else latex
        assert checker.check(latex, problem.answer, problem.question).correct, problem
        assert not checker.check(str(value + 1), problem.answer, problem.question).correct
