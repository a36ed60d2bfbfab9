"""Make a circuit's spec sets: sample designs, simulate them, keep achieved points.

Run ``python -m agent_envs.circuits.make_specs opamp`` (deterministic for a seed). It
samples designs uniformly (log-uniformly for log variables) in the design space,
simulates each with ngspice, and keeps the *functional* ones (every metric measured,
phase margin >= ``--min-pm``). The *easy* value of each metric is its median over the
functional designs; each entry's *reference* is the metrics of one of the
``n_train + n_test`` functional designs dominated by the fewest others (strong, varied
trade-offs), and a random subset of the optional specs is dropped. Train and test entries come from
disjoint samples. The environment turns an entry into targets with its ``difficulty``
(see :mod:`agent_envs.circuits.specs`).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from typing import Any

import numpy as np

from agent_envs.circuits.backends import make_backend
from agent_envs.circuits.circuit import Circuit, Variable
from agent_envs.circuits.netlist import render_decks

__all__ = [
    "sample_design",
    "simulate_population",
    "domination_counts",
    "make_spec_sets",
    "main",
]


def sample_design(circuit: Circuit, rng: np.random.Generator) -> dict[str, float]:
    """Draw one design uniformly (log-uniformly for log variables) from the design space.

    Example:
        >>> c = Circuit.load("opamp")
        >>> d = sample_design(c, np.random.default_rng(0))
        >>> all(c.variable(k).contains(v) for k, v in d.items())
        True
    """
    return _sample(circuit.variables, rng)


def _sample(variables: tuple[Variable, ...], rng: np.random.Generator) -> dict[str, float]:
    out = {}
    for v in variables:
        if v.log:
            value = float(np.exp(rng.uniform(np.log(v.low), np.log(v.high))))
        else:
            value = float(rng.uniform(v.low, v.high))
        out[v.name] = float(f"{min(max(value, v.low), v.high):.4g}")
        if not v.contains(out[v.name]):
            out[v.name] = value
    return out


def simulate_population(
    circuit: Circuit, n: int, seed: int, backend: str = "resident", min_pm: float = 45.0
) -> list[dict[str, Any]]:
    """Simulate ``n`` random designs; return the functional ones (design + metrics).

    Example:
        >>> pop = simulate_population(Circuit.load("opamp"), 20, seed=1)
        >>> all(p["reference"]["pm"] >= 45 for p in pop)
        True
    """
    rng = np.random.default_rng(seed)
    keep = []
    with tempfile.TemporaryDirectory(prefix="acs-specs-") as workdir:
        sim = make_backend(backend, circuit, workdir, timeout=20.0)
        try:
            for _ in range(n):
                design = sample_design(circuit, rng)
                # task variations: drawn per design (no draw at all without conditions)
                conditions = _sample(circuit.conditions, rng) if circuit.conditions else None
                result = sim.simulate(render_decks(circuit, design, conditions))
                metrics = result.metrics or {}
                if result.error or any(v is None for v in metrics.values()):
                    continue
                if metrics.get("pm", min_pm) < min_pm or metrics.get("gain", 1.0) <= 0:
                    continue
                entry = {"design": design, "reference": metrics}
                if conditions:
                    entry["conditions"] = conditions
                keep.append(entry)
        finally:
            sim.close()
    return keep


def domination_counts(circuit: Circuit, population: list[dict[str, Any]]) -> np.ndarray:
    """For each design, how many others are at least as good on every spec metric.

    Example:
        >>> c = Circuit.load("opamp")
        >>> a = {"reference": {r.metric: 1.0 for r in c.spec_rules}}
        >>> b = {"reference": {r.metric: 1.0 for r in c.spec_rules}}
        >>> b["reference"]["gain"] = 2.0
        >>> domination_counts(c, [a, b]).tolist()
        [1, 0]
    """
    signs = np.array([1.0 if r.direction == ">=" else -1.0 for r in circuit.spec_rules])
    table = np.array([[p["reference"][r.metric] for r in circuit.spec_rules] for p in population])
    table = table * signs  # larger is better everywhere
    counts = np.zeros(len(population), dtype=int)
    for i, row in enumerate(table):
        dominates = np.all(table >= row, axis=1) & np.any(table > row, axis=1)
        counts[i] = int(dominates.sum())
    return counts


def _condition_groups(circuit: Circuit, population: list[dict[str, Any]]) -> list[np.ndarray]:
    """Indices of the population grouped by condition bins (3 per condition, log-wide for log ones)."""
    keys = []
    for p in population:
        key = []
        for c in circuit.conditions:
            x = p.get("conditions", {}).get(c.name, c.default)
            lo, hi = (np.log(c.low), np.log(c.high)) if c.log else (c.low, c.high)
            pos = ((np.log(x) if c.log else x) - lo) / (hi - lo)
            key.append(min(int(pos * 3), 2))
        keys.append(tuple(key))
    return [np.array([i for i, k in enumerate(keys) if k == g]) for g in sorted(set(keys))]


def make_spec_sets(
    circuit: Circuit,
    n_samples: int = 4000,
    n_train: int = 200,
    n_test: int = 50,
    keep_prob: float = 0.6,
    seed: int = 0,
    min_pm: float = 45.0,
) -> dict[str, dict[str, Any]]:
    """Build the train and test spec sets (dicts ready to dump as JSON).

    Example:
        >>> sets = make_spec_sets(Circuit.load("opamp"), n_samples=60, n_train=2, n_test=1)
        >>> len(sets["train"]["entries"]), len(sets["test"]["entries"])
        (2, 1)
    """
    population = simulate_population(circuit, n_samples, seed, min_pm=min_pm)
    if len(population) < n_train + n_test:
        raise RuntimeError(f"only {len(population)} functional designs; sample more")
    rng = np.random.default_rng(seed + 1)
    # Prefer strong references: the designs dominated by the fewest others on the spec metrics
    # (compared within bins of the task conditions, so easy conditions do not crowd out hard ones).
    counts = np.zeros(len(population), dtype=int)
    for group in _condition_groups(circuit, population):
        counts[group] = domination_counts(circuit, [population[i] for i in group])
    pool = np.argsort(counts, kind="stable")[: n_train + n_test]
    order = pool[rng.permutation(len(pool))]
    easy = {
        m.name: float(np.median([p["reference"][m.name] for p in population]))
        for m in circuit.measurements
    }
    sets = {}
    for split, chosen in (("train", order[:n_train]), ("test", order[n_train : n_train + n_test])):
        entries = []
        for i in chosen:
            specs = [
                rule.metric
                for rule in circuit.spec_rules
                if rule.always or rng.random() < keep_prob
            ]
            entries.append({**population[int(i)], "specs": specs})
        sets[split] = {
            "circuit": circuit.name,
            "split": split,
            "generator": {
                "script": "python -m agent_envs.circuits.make_specs",
                "n_samples": n_samples,
                "functional": len(population),
                "reference_pool": "the least-dominated functional designs",
                "keep_prob": keep_prob,
                "seed": seed,
                "min_pm": min_pm,
            },
            "easy": easy,
            "entries": entries,
        }
    return sets


def main(argv: list[str] | None = None) -> int:
    """Command line: write ``specs_train.json`` and ``specs_test.json`` into the folder.

    Example:
        >>> main(["--help"])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        SystemExit: 0
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("circuit", help="circuit folder name, e.g. opamp")
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--train", type=int, default=200)
    parser.add_argument("--test", type=int, default=50)
    parser.add_argument("--keep-prob", type=float, default=0.6)
    parser.add_argument("--min-pm", type=float, default=45.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    circuit = Circuit.load(args.circuit)
    sets = make_spec_sets(
        circuit, args.samples, args.train, args.test, args.keep_prob, args.seed, args.min_pm
    )
    for split, data in sets.items():
        path = circuit.folder / circuit.spec_sets[split]
        path.write_text(json.dumps(data, indent=1) + "\n")
        print(f"wrote {path} ({len(data['entries'])} entries)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
