"""RecordTrajectories: content of the JSONL file, and safety when the process is killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import gymnasium as gym

import agent_envs  # noqa: F401
from agent_envs.wrappers import ChatMessages, RecordTrajectories, read_recorded_episodes

ROOT = Path(__file__).resolve().parents[2]


def test_records_episodes_with_ids_seeds_and_messages(tmp_path):
    path = tmp_path / "sub" / "run.jsonl"
    env = ChatMessages(RecordTrajectories(gym.make("Toy-GuessNumber-v0", max_turns=3), path))
    chat = []
    for seed in (4, 5):
        messages, _ = env.reset(seed=seed)
        for guess in ("50", "oops", "25"):
            messages, _, terminated, truncated, _ = env.step(guess)
            if terminated or truncated:
                break
        chat.append(messages)
    env.reset(seed=6)
    env.step("1")  # left unfinished, then closed
    env.close()
    env.close()
    first, second, third = read_recorded_episodes(path)
    assert (first["seed"], second["seed"], third["seed"]) == (4, 5, 6)
    assert first["env_id"] == "Toy-GuessNumber-v0" and first["env_version"] == 0
    assert first["package_version"] == agent_envs.__version__
    assert first["messages"] == chat[0] and second["messages"] == chat[1]
    assert [t["action"] for t in first["turns"]] == ["50", "oops", "25"][: len(first["turns"])]
    assert first["turns"][1]["info"]["action_valid"] is False
    assert first["turns"][1]["info"]["score"] is None
    assert first["complete"] and second["complete"] and not third["complete"]
    assert first["return"] == sum(t["reward"] for t in first["turns"])
    lines = path.read_text().splitlines()
    assert all(json.loads(line)["format"] == 2 for line in lines)
    events = [json.loads(line)["event"] for line in lines]
    assert events.count("start") == 3 and events.count("end") == 3


def test_appends_to_existing_file(tmp_path):
    path = tmp_path / "run.jsonl"
    for seed in (1, 2):
        env = RecordTrajectories(gym.make("Toy-GuessNumber-v0"), path)
        env.reset(seed=seed)
        env.step("3")
        env.close()
    assert [e["seed"] for e in read_recorded_episodes(path)] == [1, 2]


CHILD = textwrap.dedent(
    """
    import sys, time
    import gymnasium as gym
    import agent_envs
    from agent_envs.wrappers import RecordTrajectories
    env = RecordTrajectories(gym.make("Toy-GuessNumber-v0", max_turns=50), sys.argv[1])
    env.reset(seed=0)
    env.step("1"); env.step("2")
    env.reset(seed=1)
    env.step("10"); env.step("20")
    print("ready", flush=True)
    time.sleep(60)
    """
)


def test_killed_process_leaves_valid_lines(tmp_path):
    path = tmp_path / "crash.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    # a torn last line, as if the kill had hit mid-write, must not hide the rest
    with open(path, "a") as handle:
        handle.write('{"format": 1, "event": "turn", "episode": "x", "act')
    lines = path.read_text().splitlines()
    assert all(json.loads(line) for line in lines[:-1])  # every finished line is valid JSON
    first, second = read_recorded_episodes(path)
    assert first["complete"] is False and second["complete"] is False  # interrupted
    assert [t["action"] for t in second["turns"]] == ["10", "20"]
    assert [t["action"] for t in first["turns"]] == ["1", "2"]


def test_recorded_episodes_read_back_as_the_trajectories_played(tmp_path):
    from agent_envs.rl import Trajectory, read_jsonl, run_episode
    from agent_envs.wrappers import read_recorded_trajectories

    path = tmp_path / "run.jsonl"
    env = RecordTrajectories(gym.make("Toy-GuessNumber-v0", max_turns=4), path)
    played = [
        run_episode(env, lambda m, s=seed: str(10 * s + len(m)), seed=seed) for seed in (1, 2)
    ]
    env.close()
    recorded = read_recorded_trajectories(path)
    assert read_jsonl(path) == recorded  # the one reader knows the event lines
    for mine, theirs in zip(played, recorded, strict=True):
        assert theirs.metadata["complete"] and theirs.metadata["episode"]
        head = ("env_id", "env_version", "seed", "system_prompt", "task")
        assert [getattr(theirs, k) for k in head] == [getattr(mine, k) for k in head]
        assert [t.to_dict(prompt=False) for t in theirs.turns] == [
            t.to_dict(prompt=False) for t in mine.turns
        ]
        assert Trajectory.from_dict(theirs.to_dict()) == theirs
    # each event line carries the Trajectory / Turn layout
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    start = next(line for line in lines if line["event"] == "start")
    turn = next(line for line in lines if line["event"] == "turn")
    assert set(Trajectory(None, 0, None, "t").to_dict()) - set(start) == {"turns"}
    assert set(played[0].turns[0].to_dict(prompt=False)) <= set(turn)


def test_format_1_files_still_read(tmp_path):
    from agent_envs.wrappers import read_recorded_trajectories

    path = tmp_path / "old.jsonl"
    lines = [
        {"format": 1, "event": "start", "episode": "a", "env_id": "X-v0", "env_version": 0,
         "package_version": "0.1", "seed": 3, "options": None, "system_prompt": "s",
         "task": "t", "info": {"turn": 0}, "time": 1.0},
        {"format": 1, "event": "turn", "episode": "a", "turn": 1, "action": "x",
         "observation": "o", "reward": None, "terminated": True, "truncated": False, "info": {}},
        {"format": 1, "event": "end", "episode": "a", "turns": 1, "return": 0.0,
         "terminated": True, "truncated": False, "interrupted": False},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    (traj,) = read_recorded_trajectories(path)
    assert (traj.env_id, traj.seed, traj.task, traj.actions) == ("X-v0", 3, "t", ["x"])
    assert traj.rewards[0] != traj.rewards[0]  # null reads back as NaN
    assert traj.metadata["package_version"] == "0.1" and traj.metadata["complete"]
    (episode,) = read_recorded_episodes(path)
    assert episode["return"] == 0.0 and episode["messages"][-1] == {"role": "user", "content": "o"}
