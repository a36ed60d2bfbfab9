"""The trainer's samples are views of ``rl.Trajectory``; its shaping and advantages are rl's."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from agent_envs import make  # noqa: E402
from agent_envs.rl import Trajectory, Turn, run_episode  # noqa: E402
from agent_envs.train import TrainConfig, Trainer  # noqa: E402
from agent_envs.train.algorithms import similarity_shaped_rewards, turn_advantages  # noqa: E402

pytestmark = pytest.mark.train

TINY = dict(model="tiny", env_kwargs={"high": 9, "max_turns": 3}, system_prompt="Guess 1-9.",
            group_size=3, groups_per_step=2, max_new_tokens=4, max_turns=3,
            micro_batch_size=8, cpu_threads=1, quiet=True, seed=0)  # fmt: skip


def _played(replies: list[str], rewards: list[float], success: bool) -> Trajectory:
    turns = [Turn("o", a, r) for a, r in zip(replies, rewards, strict=True)]
    turns[-1].info["success"] = success
    turns[-1].terminated = True
    return Trajectory(None, 0, None, "task", turns)


def test_gtpo_shaping_and_advantages_by_hand():
    fence = "```python\n{}\n```"
    group = [
        _played(["hi", fence.format("a = b + 1")], [0.0, 1.0], True),
        _played(["hi", fence.format("a = b + 2")], [0.0, 0.0], False),  # 3-gram Jaccard 2/4
        _played(["hi", fence.format("zzz")], [0.0, 0.0], False),  # shares no gram
        _played(["hi", fence.format("a = b + 1")], [0.0, 0.0], False),  # alone in its group
    ]
    groups = [0, 0, 0, 1]
    shaped = similarity_shaped_rewards(group, groups, weight=0.5)
    assert shaped == [[0.0, 1.0], [0.0, 0.25], [0.0, 0.0], [0.0, 0.0]]
    adv, _ = turn_advantages("gtpo", shaped, groups, gamma=0.5)
    # return-to-go with gamma 0.5, normalized per turn over the group (population std)
    returns = [[0.5, 1.0], [0.125, 0.25], [0.0, 0.0]]
    for t in range(2):
        column = [g[t] for g in returns]
        mean = sum(column) / 3
        std = math.sqrt(sum((x - mean) ** 2 for x in column) / 3)
        for i in range(3):
            assert adv[i][t] == pytest.approx((column[i] - mean) / (std + 1e-6), rel=1e-9)
    assert adv[3].tolist() == [0.0, 0.0]  # a group of one has no baseline


@pytest.fixture(scope="module")
def trainer():
    trainer = Trainer(TrainConfig(algo="grpo", reward="best-turn", **TINY))
    yield trainer
    trainer.close()


def test_samples_are_trajectories_the_env_replays(trainer):
    samples, episodes = trainer.rollout(0)
    assert samples == episodes and len(episodes) == 6
    tok = trainer.tokenizer
    for k, sample in enumerate(episodes):
        traj = sample.trajectory
        assert isinstance(traj, Trajectory) and sample.group == k // 3
        assert Trajectory.from_dict(traj.to_dict()) == traj
        assert traj.system_prompt == "Guess 1-9." and traj.turns[0].prompt[0]["role"] == "system"
        # the env, replayed on the same seed with the recorded replies, pays the same rewards
        replies = iter(traj.actions)
        env = make("Toy-GuessNumber-v0", reward="best-turn", high=9, max_turns=3)
        replay = run_episode(env, lambda _m, r=replies: next(r), seed=traj.seed, max_turns=3)
        env.close()
        assert replay.rewards == traj.rewards and replay.success == traj.success
        # the tokens trained on are the replies the env was given
        conv = sample.conv
        for t, reply in enumerate(traj.actions):
            ids = [i for i, turn in zip(conv.ids, conv.turn_of, strict=True) if turn == t]
            assert tok.decode(ids, skip_special_tokens=True) == reply
        assert sample.observations == [traj.task] + [turn.observation for turn in traj.turns]


def test_turn_groups_continue_with_the_best_candidate():
    trainer = Trainer(TrainConfig(algo="tl-grpo", **TINY))
    candidates, episodes = trainer.rollout(0)
    trainer.close()
    by_key: dict = {}
    for c in candidates:
        assert len(c.trajectory.turns) == 1 and c.conv.turns == 1
        by_key.setdefault(c.group, []).append(c)
    assert all(len(group) == 3 for group in by_key.values())
    for k, episode in enumerate(episodes):
        for t, turn in enumerate(episode.trajectory.turns):
            group = by_key[(k, t)]
            best = max(range(3), key=lambda i: group[i].turn_rewards[0])
            assert turn.action == group[best].replies[0]
            assert group[best].trajectory.task == episode.observations[t]
