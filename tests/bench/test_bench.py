"""``agent-envs bench``: outputs exist and parse, statistics are right, runs resume."""

from __future__ import annotations

import csv
import json

import pytest

from agent_envs.bench.stats import bootstrap_mean_interval, success_at, wilson_interval
from agent_envs.cli import main

from helpers import blackbox_env

ENV = f"helpers.blackbox_env:{blackbox_env.ENV_ID}"


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.slow
def test_outputs_exist_parse_and_resume(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["bench", ENV, "--policy", "random,cmaes", "--episodes", "3", "--budget", "6"]
    argv += ["--out", str(out), "--workers", "2", "--no-progress"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| random | 3 |" in printed and "best_so_far.png" in printed

    records = lines(out / "episodes.jsonl")
    assert sorted((r["policy"], r["seed"]) for r in records) == [
        (p, s) for p in ("cmaes", "random") for s in range(3)
    ]
    for r in records:
        assert r["env_id"] == ENV and r["error"] is None and r["env_kwargs"] == {"budget": 6}
        assert 1 <= r["n_turns"] <= 6 and r["cost"] == r["turns"][-1]["cost"]
        bests = [t["best_score"] for t in r["turns"] if t["best_score"] is not None]
        assert bests == sorted(bests) and r["best_score"] == bests[-1]
    with open(out / "summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert [row["policy"] for row in rows] == ["random", "cmaes"]
    assert all(0 <= float(row["success_rate"]) <= 1 and row["episodes"] == "3" for row in rows)
    assert (out / "summary.md").read_text().count("\n| ") >= 3
    for png in ("best_so_far.png", "success_at_k.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # Same arguments: nothing new is played. More episodes: only the new seeds.
    assert main(argv) == 0
    assert len(lines(out / "episodes.jsonl")) == 6
    argv[argv.index("--episodes") + 1] = "4"
    assert main(argv) == 0
    added = lines(out / "episodes.jsonl")[6:]
    assert sorted((r["policy"], r["seed"]) for r in added) == [("cmaes", 3), ("random", 3)]


def test_black_box_policy_on_an_id_without_design_space_fails_clearly(tmp_path, capsys):
    argv = ["bench", "Toy-GuessNumber-v0", "--policy", "bo", "--episodes", "1"]
    assert main(argv + ["--out", str(tmp_path)]) == 2
    assert "design_space" in capsys.readouterr().err
    assert not (tmp_path / "episodes.jsonl").exists()


def test_bad_policy_arguments_fail_before_running(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_MODEL", raising=False)
    argv = ["bench", ENV, "--policy", "random,llm", "--episodes", "1", "--out", str(tmp_path)]
    assert main(argv) == 2
    assert "cannot build policy 'llm'" in capsys.readouterr().err
    argv = ["bench", ENV, "--policy", "bo", "--policy-kwargs", '{"bo": {"n_startup_trials": 0}}']
    assert main(argv + ["--episodes", "1", "--out", str(tmp_path)]) == 2
    assert "n_startup_trials" in capsys.readouterr().err
    assert not (tmp_path / "episodes.jsonl").exists()


def test_bench_on_acs_opamp(tmp_path, capsys):
    argv = ["bench", "ACS-OpAmp-v0", "--policy", "random,sobol", "--episodes", "2"]
    argv += ["--budget", "3", "--workers", "1", "--no-progress", "--out", str(tmp_path)]
    assert main(argv) == 0
    records = lines(tmp_path / "episodes.jsonl")
    assert len(records) == 4 and all(r["error"] is None for r in records)
    for r in records:
        assert r["cost"] <= 3 and all(t["valid"] for t in r["turns"])
        assert r["best_score"] == max(t["score"] for t in r["turns"])  # ACS scores every sim
    assert "| sobol | 2 |" in capsys.readouterr().out


def test_invalid_replies_cost_no_simulations_on_acs(tmp_path, capsys):
    argv = ["bench", "ACS-OpAmp-v0", "--policy", "helpers.policies:Garbage", "--episodes", "1"]
    argv += ["--budget", "2", "--workers", "1", "--no-progress", "--out", str(tmp_path)]
    assert main(argv) == 0
    (record,) = lines(tmp_path / "episodes.jsonl")
    assert record["cost_unit"] == "simulations" and record["n_turns"] == 4  # max_turns = 2 * budget
    assert [t["cost"] for t in record["turns"]] == [0, 0, 0, 0]
    assert not any(t["valid"] for t in record["turns"]) and record["best_score"] is None


def test_chat_policy_runs_on_any_id(tmp_path, capsys):
    argv = ["bench", "Toy-GuessNumber-v0", "--policy", "helpers.policies:Bisection"]
    argv += ["--episodes", "3", "--workers", "1", "--no-progress", "--out", str(tmp_path)]
    assert main(argv) == 0
    records = lines(tmp_path / "episodes.jsonl")
    assert all(r["success"] and r["n_turns"] <= 7 for r in records)  # bisection of 1..100
    assert all(r["cost_unit"] == "turns" and r["cost"] == r["n_turns"] for r in records)


def test_a_crashing_episode_is_recorded_and_retried(tmp_path, capsys):
    argv = ["bench", "Toy-GuessNumber-v0", "--policy", "helpers.policies:Crashing"]
    argv += ["--episodes", "1", "--workers", "1", "--no-progress", "--out", str(tmp_path)]
    assert main(argv) == 1
    assert main(argv) == 1  # retried, not skipped
    records = lines(tmp_path / "episodes.jsonl")
    assert len(records) == 2 and all("policy bug" in r["error"] for r in records)
    assert records[0]["n_turns"] == 1


def test_wilson_matches_scipy_and_success_at_k():
    from scipy.stats import binomtest

    for k, n in [(0, 5), (3, 10), (20, 20), (7, 31)]:
        ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        assert wilson_interval(k, n) == pytest.approx((ci.low, ci.high), abs=1e-3)
    recs = [{"cost_to_success": c} for c in (1, 5, 5, None, 30)]
    assert [success_at(recs, k)[0] for k in (0, 1, 5, 29, 30)] == [0, 1, 3, 3, 4]
    lo, hi = bootstrap_mean_interval([0.0] * 50 + [1.0] * 50)
    assert lo < 0.5 < hi and hi - lo < 0.3


def hand_row(env_id, policy_name, seed, env_kwargs, max_turns=1000):
    """The benchmark row computed with raw env calls (the oracle for ``play_task``)."""
    import gymnasium as gym

    from agent_envs.baselines import make_policy
    from agent_envs.core.jsonable import to_jsonable

    env = gym.make(env_id, **env_kwargs)
    policy = make_policy(policy_name)
    observation, info = env.reset(seed=seed)
    policy.reset(env, seed=seed)
    episode = {"env_id": env.spec.id, "env_version": env.spec.version, "seed": seed,
               "system_prompt": info["system_prompt"], "task": observation, "turns": [],
               "metadata": {"policy_errors": []}}  # fmt: skip
    messages = [{"role": "system", "content": info["system_prompt"]}]
    messages.append({"role": "user", "content": observation})
    turns, infos = [], []
    for _ in range(max_turns):
        reply = policy.act([dict(m) for m in messages], info)
        observation, reward, terminated, truncated, info = env.step(reply)
        messages += [
            {"role": "assistant", "content": reply},
            {"role": "user", "content": observation},
        ]
        infos.append(info)
        episode["turns"].append({"action": reply, "observation": observation,
                                 "reward": float(reward), "terminated": terminated,
                                 "truncated": truncated, "info": info})  # fmt: skip
        episode["metadata"]["policy_errors"].append(policy.last_error)
        turns.append(
            {
                "turn": info.get("turn"),
                "score": info.get("score"),
                "best_score": info.get("best_score"),
                "valid": bool(info.get("action_valid", True)),
                "success": bool(info.get("success", False)),
                "reward": float(reward),
                "policy_error": policy.last_error,
            }
        )
        if terminated or truncated:
            break
    # the cost axis is simulations when the env counts them (an attribute, or in `cost`)
    sims = getattr(env.unwrapped, "simulations", None) is not None
    sims = sims or any("simulations" in info.get("cost", {}) for info in infos)
    env.close()
    for turn, info in zip(turns, infos, strict=True):
        turn["cost"] = float(info["cost"].get("simulations", 0) if sims else info["turn"])
    return {
        "env_id": env_id,
        "policy": policy_name,
        "seed": seed,
        "env_kwargs": env_kwargs,
        "turns": turns,
        "error": None,
        "best_score": infos[-1].get("best_score"),
        "success": turns[-1]["success"],
        "cost": turns[-1]["cost"],
        "cost_to_success": next((t["cost"] for t in turns if t["success"]), None),
        "cost_unit": "simulations" if sims else "turns",
        "n_turns": len(turns),
        "policy_kwargs": {},
        "trajectory": to_jsonable(episode),
    }


@pytest.mark.parametrize(
    ("env_id", "policy", "env_kwargs"),
    [
        ("Toy-GuessNumber-v0", "helpers.policies:Bisection", {}),
        ("Toy-GuessNumber-v0", "helpers.policies:Garbage", {"max_turns": 3}),
        (ENV, "random", {"budget": 5}),
        (ENV, "sobol", {"budget": 5}),
        ("ACS-OpAmp-v0", "random", {"budget": 2}),
    ],
)
def test_bench_row_is_the_hand_computed_row(env_id, policy, env_kwargs):
    from agent_envs.bench import EpisodeTask, play_task

    for seed in (0, 5):
        row = play_task(EpisodeTask(env_id, policy, seed, env_kwargs))
        assert row.pop("seconds") >= 0
        hand = hand_row(env_id, policy, seed, env_kwargs)
        for turn in row["trajectory"]["turns"] + hand["trajectory"]["turns"]:
            assert (turn["info"].get("cost") or {}).pop("sim_seconds", 0) >= 0  # wall clock
        assert json.dumps(row) == json.dumps(hand)


def test_bench_row_is_a_view_of_the_trajectory():
    import gymnasium as gym

    from agent_envs.baselines import make_policy, play_stepper
    from agent_envs.bench import EpisodeTask, episode_record, play_task
    from agent_envs.rl import EpisodeStepper

    task = EpisodeTask("Toy-GuessNumber-v0", "helpers.policies:Bisection", 2, max_turns=4)
    stepper = EpisodeStepper(gym.make(task.env_id), max_turns=task.max_turns)
    trajectory = play_stepper(stepper, make_policy(task.policy), seed=task.seed)
    row = episode_record(task, trajectory, seconds=1.5)
    assert row == {**play_task(task), "seconds": 1.5}
    assert [t["reward"] for t in row["turns"]] == trajectory.rewards and row["n_turns"] == 4
    # The row of an episode that never started has the same keys (a worker that died).
    failed = episode_record(task, None, error="worker failed: BrokenProcessPool()")
    assert list(failed) == list(row) and failed["turns"] == [] and failed["n_turns"] == 0
