"""Step and reset time of TextWorld-Custom-v0 and ALFWorld-v0 against raw ``textworld``.

Both sides play the same game with the same commands in the same process: the raw side
calls ``textworld.start(...)``'s ``reset``/``step`` with the information the environment
requests; the environment side calls ``reset``/``step`` of the Gymnasium environment
(reply parsing, text cleaning, info, and the round trip to the engine's child process,
which gives every engine call a time limit). Target: env step <= 1.2x raw step.

Fork: from the middle of the walkthrough, ``env.unwrapped.fork()`` followed by the fork's
first step (the next walkthrough command), against the env's own step measured above in
the same process. Target: fork + first step <= 10x step (median). ``--replay-forks N``
also times N forks made the old way (a fresh instance replaying the episode).

    PYTHONPATH=$PWD python benchmarks/textgames.py [--episodes 20] [--forks 30]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time

import gymnasium as gym

import agent_envs  # noqa: F401  (registers the ids)
from agent_envs.core.text_env import TextEnv


def _time_engine_calls(engine) -> list[float]:
    """Record the duration of each step sent to the env's engine process (round trip)."""
    durations: list[float] = []
    call = engine.call

    def timed(request, timeout_s):
        t = time.perf_counter()
        try:
            return call(request, timeout_s)
        finally:
            if request[0] == "step":
                durations.append(time.perf_counter() - t)

    engine.call = timed
    return durations


def _time_both(engine, env: gym.Env, commands: list[str], episodes: int, options: dict) -> dict:
    """Median reset and step seconds, raw and env, alternating episodes so drift hits both."""
    times: dict[str, list[float]] = {
        "raw reset": [],
        "raw step": [],
        "env reset": [],
        "env step": [],
        # env step minus its round trip to the engine process, measured in the same call
        "overhead": [],
    }
    for episode in range(episodes):
        t = time.perf_counter()
        engine.reset()
        times["raw reset"].append(time.perf_counter() - t)
        for command in commands:
            t = time.perf_counter()
            engine.step(command)
            times["raw step"].append(time.perf_counter() - t)
        t = time.perf_counter()
        env.reset(seed=episode, options=options)
        times["env reset"].append(time.perf_counter() - t)
        inner = _time_engine_calls(env.unwrapped._engine)
        for command in commands:
            reply = f"I will do this next.\n<command>{command}</command>"
            t = time.perf_counter()
            env.step(reply)
            times["env step"].append(time.perf_counter() - t)
            times["overhead"].append(times["env step"][-1] - inner[-1])
    return {key: statistics.median(values) for key, values in times.items()}


def _time_forks(env: gym.Env, commands: list[str], forks: int, replay_forks: int, options: dict):
    """Median seconds of fork + first step from mid-walkthrough (and of the old replay fork)."""
    base = env.unwrapped
    base.reset(seed=0, options=options)
    middle = len(commands) // 2
    for command in commands[:middle]:
        base.step(command)
    times: dict[str, list[float]] = {"fork+step": [], "fork": [], "second step": []}
    for _ in range(forks):
        t = time.perf_counter()
        twin = base.fork()
        times["fork"].append(time.perf_counter() - t)
        twin.step(commands[middle])
        times["fork+step"].append(time.perf_counter() - t)
        if middle + 1 < len(commands):
            t = time.perf_counter()
            twin.step(commands[middle + 1])
            times["second step"].append(time.perf_counter() - t)
        twin.close()
    for _ in range(replay_forks):
        t = time.perf_counter()
        twin = TextEnv.fork(base)  # the generic fork: new instance, fresh engine, replay
        twin.step(commands[middle])
        times.setdefault("replay fork+step", []).append(time.perf_counter() - t)
        twin.close()
    return {key: statistics.median(values) for key, values in times.items() if values}


def _report_forks(name: str, forks: dict[str, float], step: float) -> None:
    print(
        f"{name:<22} fork  fork {forks['fork'] * 1e3:8.2f} ms   fork+first step "
        f"{forks['fork+step'] * 1e3:8.2f} ms   env step {step * 1e3:8.2f} ms   "
        f"fork+step/step {forks['fork+step'] / step:5.2f}x (target <= 10x)"
    )
    if "second step" in forks:
        print(f"{name:<22} fork  the fork's second step {forks['second step'] * 1e3:8.2f} ms")
    if "replay fork+step" in forks:
        replay = forks["replay fork+step"]
        print(
            f"{name:<22} fork  replay fork+first step {replay * 1e3:9.1f} ms "
            f"({replay / step:7.1f}x step)"
        )


def _report(name: str, times: dict[str, float]) -> None:
    for label in ("reset", "step"):
        r, e = times[f"raw {label}"], times[f"env {label}"]
        print(
            f"{name:<22} {label:<5}  raw {r * 1e3:8.2f} ms   env {e * 1e3:8.2f} ms   ratio {e / r:5.2f}x"
        )
    print(f"{name:<22} env overhead per step (same call): {times['overhead'] * 1e3:.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--forks", type=int, default=30)
    parser.add_argument("--replay-forks", type=int, default=0)
    args = parser.parse_args()
    import textworld

    from agent_envs.textgames.alfworld_generator import open_alfworld_game

    cache = tempfile.mkdtemp(prefix="bench-textgames-")

    env = gym.make("TextWorld-Custom-v0", preset="w2-o3-q4", cache_dir=cache, num_games=1)
    env.reset(seed=0)  # generates the game (not timed)
    game, commands = env.unwrapped._game_path, env.unwrapped.walkthrough()
    infos = textworld.EnvInfos(
        admissible_commands=True, max_score=True, score=True, won=True, lost=True, objective=True
    )
    engine = textworld.start(str(game), request_infos=infos)
    options = {"game_index": 0}
    times = _time_both(engine, env, commands, args.episodes, options)
    _report("TextWorld-Custom-v0", times)
    forks = _time_forks(env, commands, args.forks, args.replay_forks, options)
    _report_forks("TextWorld-Custom-v0", forks, times["env step"])
    engine.close()
    env.close()

    env = gym.make(
        "ALFWorld-v0",
        task_types=("pick_heat_then_place_in_recep",),
        cache_dir=cache,
        num_generated=1,
    )
    env.reset(seed=0)
    game, commands = env.unwrapped.task.game_file, env.unwrapped.walkthrough()
    episodes = max(2, args.episodes // 4)
    engine = open_alfworld_game(game)
    options = {"task_index": 0}
    times = _time_both(engine, env, commands, episodes, options)
    _report("ALFWorld-v0", times)
    forks = _time_forks(env, commands, args.forks, args.replay_forks, options)
    _report_forks("ALFWorld-v0", forks, times["env step"])
    engine.close()
    env.close()
    shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
