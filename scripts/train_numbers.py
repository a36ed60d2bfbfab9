"""Print the reference trainer's numbers on fixed seeded tiny-model runs, as JSON.

A refactoring check: run it before and after a change to ``agent_envs.train`` (CPU,
about a minute) and compare the two outputs; they must be equal (``--compare OLD.json``
does it, to ``rel=1e-6``). Covers every ``--algo``, the turn-level options, reward
schemes that settle or drop rewards, PPO's bootstrap and the driver's context cut.

    python scripts/train_numbers.py > before.json
    python scripts/train_numbers.py --compare before.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from agent_envs.train import TrainConfig, Trainer

TINY = dict(
    model="tiny",
    env_kwargs={"high": 9, "max_turns": 3},
    system_prompt="Guess 1-9.",
    group_size=4,
    groups_per_step=2,
    max_new_tokens=4,
    max_turns=3,
    lr=3e-3,
    micro_batch_size=8,
    cpu_threads=1,
    quiet=True,
    seed=0,
)

RUNS = {
    "grpo": dict(algo="grpo"),
    "grpo-normalized-dense": dict(algo="grpo", reward="normalized-dense"),
    "grpo-dropout": dict(algo="grpo", reward="dropout", reward_kwargs={"p": 0.5}),
    "rloo": dict(algo="rloo"),
    "gtpo": dict(algo="gtpo", gamma=0.9, similarity_coef=0.5),
    "ppo": dict(algo="ppo", kl_coef=0.05, epochs=2),
    "gigpo": dict(algo="gigpo", omega=0.5),
    "tl-grpo": dict(algo="tl-grpo"),
    "tl-grpo-random-every2": dict(algo="tl-grpo", choose="random", group_turns="every:2"),
    "tl-grpo-normalized-dense": dict(algo="tl-grpo", reward="normalized-dense"),
    "tl-grpo-first-dropout": dict(
        algo="tl-grpo", choose="first", reward="dropout", reward_kwargs={"p": 0.5}
    ),
}


class _Recording(Trainer):
    def update(self, samples):  # noqa: D102
        self.recorded.append(
            [[list(s.turn_rewards), list(s.replies), repr(s.group), len(s.conv.ids)]
             for s in samples]
        )  # fmt: skip
        return super().update(samples)


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def run(name: str, overrides: dict) -> dict:
    """Two training steps and one evaluation of the run ``name``."""
    trainer = _Recording(TrainConfig(**{**TINY, **overrides}))
    trainer.recorded = []
    timing = ("seconds", "tokens_per_s", "sample_tokens_per_s")
    rows = [{k: v for k, v in trainer.step().items() if k not in timing} for _ in range(2)]
    if name == "grpo":  # the driver's cut: room for one reply only
        first = trainer.rollout(9)[1][0].conv.value_pos[0] + 1
        trainer.sampler.max_length = first + 4
        rows.append({k: v for k, v in trainer.step().items() if k not in timing})
        trainer.sampler.max_length = None
    evaluation = trainer.evaluate(4)
    trainer.close()
    return _clean({"rows": rows, "samples": trainer.recorded, "evaluation": evaluation})


def _close(a, b, path="") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{path}: keys {sorted(a)} != {sorted(b)}"]
        return [d for k in a for d in _close(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _close(x, y, f"{path}[{i}]")
        ]
    if isinstance(a, float) and isinstance(b, (int, float)):
        return [] if math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9) else [f"{path}: {a} != {b}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def main() -> int:
    """Run every configuration; print JSON, or compare with ``--compare``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", help="a JSON file printed by an earlier run")
    parser.add_argument("--only", nargs="*", help="run only these configurations")
    args = parser.parse_args()
    names = args.only or list(RUNS)
    out = {name: run(name, RUNS[name]) for name in names}
    if not args.compare:
        json.dump(out, sys.stdout, indent=1)
        return 0
    with open(args.compare, encoding="utf-8") as handle:
        old = json.load(handle)
    diffs = [d for name in names for d in _close(old[name], out[name], name)]
    print("\n".join(diffs[:40]) or f"identical: {', '.join(names)}")
    return 1 if diffs else 0


if __name__ == "__main__":
    raise SystemExit(main())
