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
    assert all(json.loads(line)["format"] == 1 for line in lines)
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
