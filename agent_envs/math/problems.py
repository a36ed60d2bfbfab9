"""Procedural math problems with exact answers, seeded, by area and difficulty level.

Levels 1-2 are mental arithmetic; at levels 4-5 the numbers are large enough that
writing a short program is the reliable way to the answer.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

__all__ = ["Problem", "GENERATORS", "AREAS", "LEVELS", "generate_problem", "format_answer"]

LEVELS = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Problem:
    """A question with its exact reference answer (as text) and where it came from."""

    question: str
    answer: str
    area: str = "custom"
    level: int | None = None
    id: str = ""


def format_answer(value: int | Fraction) -> str:
    """The canonical text of an exact answer.

    Example:
        >>> format_answer(Fraction(6, 4)), format_answer(Fraction(4, 2)), format_answer(7)
        ('3/2', '2', '7')
    """
    value = Fraction(value)
    return (
        str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    )


def _primes_below(n: int) -> list[int]:
    sieve = bytearray([1]) * n
    sieve[:2] = b"\x00\x00"[:n]
    for i in range(2, math.isqrt(n - 1) + 1 if n > 2 else 0):
        if sieve[i]:
            sieve[i * i :: i] = bytearray(len(range(i * i, n, i)))
    return [i for i in range(n) if sieve[i]]


def _arithmetic(rng: random.Random, level: int) -> tuple[str, int | Fraction]:
    if level == 1:
        a, b, c = rng.randint(10, 99), rng.randint(2, 9), rng.randint(10, 99)
        return f"Compute {a} + {b} \\times {c}.", a + b * c
    if level == 2:
        p, q = (
            Fraction(rng.randint(1, 9), rng.randint(2, 12)),
            Fraction(rng.randint(1, 9), rng.randint(2, 12)),
        )
        return f"Compute {p} + {q} as a fraction in lowest terms.", p + q
    if level == 3:
        a, b, c = rng.randint(1000, 9999), rng.randint(1000, 9999), rng.randint(100, 999)
        return f"Compute {a} \\times {b} - {c}^2.", a * b - c * c
    if level == 4:
        a, b = rng.randint(2, 9), rng.randint(25, 60)
        return f"What is the sum of the decimal digits of ${a}^{{{b}}}$?", sum(map(int, str(a**b)))
    n = rng.randint(40, 90)
    return f"What is the sum of the decimal digits of ${n}!$?", sum(
        map(int, str(math.factorial(n)))
    )


def _algebra(rng: random.Random, level: int) -> tuple[str, int | Fraction]:
    if level == 1:
        a, b, c = rng.randint(2, 9), rng.randint(-20, 20), rng.randint(-20, 20)
        return f"Solve for $x$: ${_polynomial([a, b])} = {c}$.", Fraction(c - b, a)
    if level == 2:
        x, y = rng.randint(-9, 9), rng.randint(-9, 9)
        a, b, c, d = (rng.randint(2, 7) for _ in range(4))
        if a * d == b * c:
            d += 1
        return (
            f"Given ${a}x + {b}y = {a * x + b * y}$ and ${c}x + {d}y = {c * x + d * y}$, find $x + y$.",
            x + y,
        )
    if level == 3:
        r, s = rng.randint(-15, 15), rng.randint(-15, 15)
        poly = _polynomial([1, -(r + s), r * s])
        return f"Find the larger root of ${poly} = 0$.", max(r, s)
    if level == 4:
        a, b, c, k = rng.randint(2, 9), rng.randint(-9, 9), rng.randint(-9, 9), rng.randint(3, 9)
        f = lambda t: a * t * t + b * t + c  # noqa: E731
        return f"Let $f(x) = {_polynomial([a, b, c])}$. Compute $f(f({k}))$.", f(f(k))
    roots = rng.sample(range(-12, 13), 4)
    coeffs = [1]
    for r in roots:  # multiply by (x - r)
        coeffs = [hi - r * lo for hi, lo in zip(coeffs + [0], [0] + coeffs, strict=True)]
    return (
        f"Find the sum of the squares of the roots of ${_polynomial(coeffs)} = 0$.",
        sum(r * r for r in roots),
    )


def _polynomial(coeffs: list[int]) -> str:
    """Render integer coefficients (highest degree first) as LaTeX, e.g. ``x^2 - 3x + 2``."""
    degree, out = len(coeffs) - 1, ""
    for i, c in enumerate(coeffs):
        power = degree - i
        if c == 0:
            continue
        mag = abs(c)
        body = (str(mag) if mag != 1 or power == 0 else "") + (
            "" if power == 0 else "x" if power == 1 else f"x^{power}"
        )
        out += ("-" if c < 0 else "") + body if not out else (" - " if c < 0 else " + ") + body
    return out or "0"


def _number_theory(rng: random.Random, level: int) -> tuple[str, int | Fraction]:
    if level == 1:
        g = rng.randint(2, 20)
        a, b = g * rng.randint(2, 30), g * rng.randint(2, 30)
        return f"What is the greatest common divisor of {a} and {b}?", math.gcd(a, b)
    if level == 2:
        a, b, c = rng.randint(4, 40), rng.randint(4, 40), rng.randint(4, 40)
        return f"What is the least common multiple of {a}, {b} and {c}?", math.lcm(a, b, c)
    if level == 3:
        a, b, m = rng.randint(2, 99), rng.randint(100, 10**6), rng.randint(7, 997)
        return f"What is the remainder when ${a}^{{{b}}}$ is divided by {m}?", pow(a, b, m)
    if level == 4:
        n = rng.randint(10**6, 10**8)
        count, m, p = 1, n, 2
        while p * p <= m:
            e = 0
            while m % p == 0:
                m //= p
                e += 1
            count *= e + 1
            p += 1
        count *= 2 if m > 1 else 1
        return f"How many positive divisors does {n} have?", count
    n = rng.randint(20_000, 100_000)
    return f"What is the sum of all primes less than {n}?", sum(_primes_below(n))


def _combinatorics(rng: random.Random, level: int) -> tuple[str, int | Fraction]:
    if level == 1:
        n = rng.randint(5, 12)
        k = rng.randint(2, n - 2)
        return f"In how many ways can {k} people be chosen from {n}?", math.comb(n, k)
    if level == 2:
        word = "".join(rng.choice("AABBCDE") for _ in range(rng.randint(6, 8)))
        count = math.factorial(len(word))
        for ch in set(word):
            count //= math.factorial(word.count(ch))
        return f"How many distinct arrangements of the letters of {word} are there?", count
    if level == 3:
        a, b = rng.randint(6, 14), rng.randint(6, 14)
        c, d = rng.randint(1, a - 1), rng.randint(1, b - 1)
        paths = math.comb(c + d, c) * math.comb(a - c + b - d, a - c)
        return (
            f"How many lattice paths from $(0,0)$ to $({a},{b})$ using unit steps right or "
            f"up pass through $({c},{d})$?",
            paths,
        )
    if level == 4:
        k, m = rng.randint(4, 7), rng.randint(3, 9)
        n = rng.randint(m, k * m - 1)
        ways = [1] + [0] * n
        for _ in range(k):
            ways = [sum(ways[t - v] for v in range(0, min(m, t) + 1)) for t in range(n + 1)]
        return (
            f"How many solutions in integers does $x_1 + \\dots + x_{k} = {n}$ have with "
            f"$0 \\le x_i \\le {m}$ for every $i$?",
            ways[n],
        )
    n, m = rng.randint(15, 30), rng.randint(5, 13)
    counts = [1] + [0] * (m - 1)
    for v in range(1, n + 1):
        counts = [counts[r] + counts[(r - v) % m] for r in range(m)]
    return (
        f"How many subsets of $\\{{1, 2, \\dots, {n}\\}}$ (including the empty set) have a "
        f"sum divisible by {m}?",
        counts[0],
    )


def _dice_sum_ways(k: int, s: int) -> int:
    ways = [1]
    for _ in range(k):
        new = [0] * (len(ways) + 6)
        for t, w in enumerate(ways):
            for face in range(1, 7):
                new[t + face] += w
        ways = new
    return ways[s] if s < len(ways) else 0


def _probability(rng: random.Random, level: int) -> tuple[str, int | Fraction]:
    if level == 1:
        s = rng.randint(2, 12)
        return f"Two fair dice are rolled. What is the probability that the sum is {s}?", Fraction(
            _dice_sum_ways(2, s), 36
        )
    if level == 2:
        r, b = rng.randint(2, 9), rng.randint(2, 9)
        return (
            f"An urn holds {r} red and {b} blue balls. Two are drawn without replacement. "
            "What is the probability that both are red?",
            Fraction(r * (r - 1), (r + b) * (r + b - 1)),
        )
    if level == 3:
        n = rng.randint(3, 12)
        return (
            f"A fair die is rolled {n} times. What is the probability of at least one six?",
            1 - Fraction(5, 6) ** n,
        )
    if level == 4:
        k = rng.randint(3, 6)
        s = rng.randint(k + 2, 6 * k - 2)
        return f"{k} fair dice are rolled. What is the probability that the sum is {s}?", Fraction(
            _dice_sum_ways(k, s), 6**k
        )
    n = rng.randint(7, 14)
    j = rng.randint(0, 3)
    derange = [1, 0]
    for i in range(2, n + 1):
        derange.append((i - 1) * (derange[-1] + derange[-2]))
    exact = math.comb(n, j) * derange[n - j]
    return (
        f"A permutation of $\\{{1, \\dots, {n}\\}}$ is chosen uniformly at random. What is the "
        f"probability that it has exactly {j} fixed points?",
        Fraction(exact, math.factorial(n)),
    )


GENERATORS: dict[str, Callable[[random.Random, int], tuple[str, int | Fraction]]] = {
    "arithmetic": _arithmetic,
    "algebra": _algebra,
    "number_theory": _number_theory,
    "combinatorics": _combinatorics,
    "probability": _probability,
}
AREAS = tuple(GENERATORS)


def generate_problem(area: str, level: int, seed: int) -> Problem:
    """The problem of ``area`` at ``level`` (1-5) drawn with ``seed`` (deterministic).

    Example:
        >>> p = generate_problem("number_theory", 1, seed=0)
        >>> p == generate_problem("number_theory", 1, seed=0), p.area, p.level
        (True, 'number_theory', 1)
    """
    if area not in GENERATORS:
        raise ValueError(f"unknown area {area!r}; known: {', '.join(AREAS)}")
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    question, value = GENERATORS[area](random.Random(seed), level)
    suffix = (
        " Give the exact answer." if isinstance(value, Fraction) and value.denominator != 1 else ""
    )
    return Problem(question + suffix, format_answer(value), area, level, f"{area}-L{level}-{seed}")
