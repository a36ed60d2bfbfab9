"""ChatMessages on the toy environment: message layout, truncation, space, checker."""

from __future__ import annotations

import warnings

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import agent_envs  # noqa: F401  (registers the ids)
from agent_envs.toy import GuessNumberEnv
from agent_envs.wrappers import ChatMessages, MessageList


def _roles(messages):
    return [m["role"] for m in messages]


def test_layout_follows_the_episode():
    env = ChatMessages(gym.make("Toy-GuessNumber-v0", render_mode="ansi"))
    messages, info = env.reset(seed=3)
    assert messages == [
        {"role": "system", "content": info["system_prompt"]},
        {"role": "user", "content": env.render()},
    ]
    replies = ["50", "no number here", "25"]
    raw = []
    for reply in replies:
        messages, _, terminated, truncated, _ = env.step(reply)
        raw.append(env.render())
        if terminated or truncated:
            break
    assert _roles(messages) == ["system", "user"] + ["assistant", "user"] * len(raw)
    assert [m["content"] for m in messages[2::2]] == replies[: len(raw)]
    assert [m["content"] for m in messages[3::2]] == raw
    assert "no integer" in messages[5]["content"]
    assert env.observation_space.contains(messages)
    # a fresh list every time: mutating the observation does not leak into the wrapper
    messages.clear()
    assert len(env.messages) == 2 + 2 * len(raw)


def test_reset_clears_history_and_system_can_be_left_out():
    env = ChatMessages(GuessNumberEnv(), include_system=False)
    env.reset(seed=0)
    env.step("10")
    messages, _ = env.reset(seed=1)
    assert _roles(messages) == ["user"]


def test_truncation_by_turns():
    env = ChatMessages(GuessNumberEnv(max_turns=8), max_turns=2)
    env.reset(seed=0)
    for guess in ["1", "2", "3", "4"]:
        messages, *_ = env.step(guess)
    assert _roles(messages) == ["system", "user", "assistant", "user", "assistant", "user"]
    assert [messages[2]["content"], messages[4]["content"]] == ["3", "4"]
    assert messages[1]["content"].endswith("[2 earlier turns omitted]")
    assert len(env.messages) == 10  # the full history is still there
    zero = ChatMessages(GuessNumberEnv(), max_turns=0)
    zero.reset(seed=0)
    messages, *_ = zero.step("5")
    assert _roles(messages) == ["system", "user"]
    assert messages[1]["content"].endswith("[1 earlier turn omitted]")


def test_truncation_by_chars():
    env = ChatMessages(GuessNumberEnv(max_turns=8), max_chars=0)
    messages, _ = env.reset(seed=0)
    head_chars = sum(len(m["content"]) for m in messages)
    for guess in ["1", "2", "3"]:
        messages, *_ = env.step(guess)
    # the latest turn is always kept, older ones go
    assert [m["content"] for m in messages[2::2]] == ["3"]
    turn_chars = len("2") + len(env.messages[5]["content"])
    limit = head_chars + 2 * turn_chars + 1  # room for exactly the last two turns
    wide = ChatMessages(GuessNumberEnv(max_turns=8), max_chars=limit)
    wide.reset(seed=0)
    for guess in ["1", "2", "3"]:
        messages, *_ = wide.step(guess)
    assert [m["content"] for m in messages[2::2]] == ["2", "3"]
    kept = sum(len(m["content"]) for m in messages) - len("\n\n[1 earlier turn omitted]")
    assert kept <= limit


def test_bad_arguments_raise():
    for kwargs in ({"max_turns": -1}, {"max_chars": "10"}, {"max_turns": 1.5}):
        with pytest.raises(ValueError):
            ChatMessages(GuessNumberEnv(), **kwargs)


def test_check_env_and_space():
    env = ChatMessages(GuessNumberEnv())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env, skip_render_check=True)
    # the only warning is gymnasium's generic note that a wrapper is applied
    assert all("different from the unwrapped" in str(w.message) for w in caught), [
        str(w.message) for w in caught
    ]
    space = MessageList(max_content_length=3)
    assert not space.contains([{"role": "user", "content": "long"}])
    assert not space.contains([{"role": "user", "content": "a", "name": "x"}])
    assert space.contains(({"role": "assistant", "content": ""},))
    assert space == MessageList(3) and space != MessageList()
    with pytest.raises(ValueError):
        MessageList(0)


def test_non_string_actions_are_shown_not_raised():
    env = ChatMessages(GuessNumberEnv())
    env.reset(seed=0)
    messages, *_, info = env.step(42)
    assert messages[-2] == {"role": "assistant", "content": "42"}
    assert info["action_valid"] is False


def test_sync_vector_env():
    envs = gym.vector.SyncVectorEnv([lambda: ChatMessages(GuessNumberEnv()) for _ in range(2)])
    obs, _ = envs.reset(seed=[0, 1])
    assert len(obs) == 2 and _roles(obs[0]) == ["system", "user"]
    obs, *_ = envs.step(["50", "50"])
    assert _roles(obs[1])[-2:] == ["assistant", "user"]
    envs.close()


def test_async_vector_env_without_shared_memory():
    from agent_envs.wrappers import BestTurnReward

    envs = gym.make_vec(
        "Toy-GuessNumber-v0",
        2,
        vectorization_mode="async",
        wrappers=[BestTurnReward, ChatMessages],
        vector_kwargs={"shared_memory": False},
    )
    try:
        obs, _ = envs.reset(seed=[0, 1])
        assert [_roles(o) for o in obs] == [["system", "user"]] * 2
        obs, rewards, *_ = envs.step(["50", "50"])
        assert _roles(obs[1]) == ["system", "user", "assistant", "user"]
        assert obs[0][2]["content"] == "50" and len(rewards) == 2
    finally:
        envs.close()
