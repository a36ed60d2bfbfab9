"""``difficulty`` and ``split`` mean one thing in every family, and no default task moved.

``data/default_tasks_v0.json`` was recorded on main (8aedca7) before the keywords were
renamed: for each registered id (and the old spellings of the family knobs), which task
the environment drew at seeds 0, 1, 2, 3, 7 and 123. The tests below build the same ids
with today's code, with the new and the old spellings, and compare what is drawn.
"""

from __future__ import annotations

import json
import math
import tempfile
import warnings
from pathlib import Path

import gymnasium as gym
import pytest
from hypothesis import given
from hypothesis import strategies as st

import agent_envs  # noqa: F401  (registers the ids)
from agent_envs.circuits.env import ACSEnv
from agent_envs.core.arguments import SPLITS, check_difficulty, check_split
from agent_envs.registration import ENTRIES

RECORD = json.loads((Path(__file__).parent / "data" / "default_tasks_v0.json").read_text())
SEEDS = [0, 1, 2, 3, 7, 123]


# ---------------------------------------------------------------- the shared checks
@given(st.floats(min_value=0.0, max_value=1.0))
def test_difficulty_accepts_every_float_in_range(value):
    assert check_difficulty(value) == value


@given(
    st.one_of(
        st.floats().filter(lambda x: math.isnan(x) or not 0.0 <= x <= 1.0),
        st.integers().filter(lambda x: x not in (0, 1)),
        st.text(max_size=8),
        st.booleans(),
        st.none(),
        st.lists(st.floats(0, 1), max_size=3),
    )
)
def test_difficulty_rejects_everything_else_with_a_value_error(value):
    with pytest.raises(ValueError, match="difficulty must be a float in \\[0, 1\\]"):
        check_difficulty(value)


@given(st.text(max_size=12))
def test_split_is_one_of_the_vocabulary_or_a_clear_error(value):
    aliases = {"valid_seen": "valid", "valid_unseen": "test"}
    try:
        name = check_split(value, SPLITS, "X", aliases)
    except ValueError as exc:
        assert value not in SPLITS and value not in aliases
        assert "split must be one of" in str(exc)
    else:
        assert name == aliases.get(value, value) and name in SPLITS


def test_a_split_of_the_vocabulary_that_a_family_lacks_says_so():
    with pytest.raises(ValueError, match="ACS has no 'valid' split.*hold out part of train"):
        ACSEnv(split="valid")


# ---------------------------------------------------------------- ACS
def _acs_draws(make) -> list:
    env = make()
    rows = []
    for seed in SEEDS:
        _, info = env.reset(seed=seed)
        specs = [[s["name"], s["target"], s["direction"]] for s in info["specs"]]
        rows.append([env.unwrapped._spec_index, specs, info["conditions"]])
    env.close()
    return rows


@pytest.mark.parametrize("env_id", [e.id for e in ENTRIES if e.id.startswith("ACS-")])
def test_acs_ids_draw_the_same_specs_as_before(env_id):
    if "Sky130" in env_id:
        pdk = pytest.importorskip("agent_envs.circuits.pdk")
        try:
            pdk.pdk_library("sky130")
        except pdk.PdkUnavailable as exc:
            pytest.skip(f"sky130 models absent: {exc}")
    assert _acs_draws(lambda: gym.make(env_id)) == RECORD["acs"][env_id]


@pytest.mark.parametrize("difficulty", [0.0, 0.25, 1.0])
def test_acs_difficulty_and_split_draw_the_same_specs_as_before(difficulty):
    made = _acs_draws(lambda: gym.make("ACS-OpAmp-v0", difficulty=difficulty))
    assert made == RECORD["acs"][f"ACS-OpAmp-v0|difficulty={difficulty}"]
    assert (
        _acs_draws(lambda: gym.make("ACS-OpAmp-v0", split="test"))
        == (RECORD["acs"]["ACS-OpAmp-v0|split=test"])
    )


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), float("inf"), "hard", True, [0.5]])
def test_acs_bad_difficulty_is_a_value_error(bad):
    with pytest.raises(ValueError, match="difficulty"):
        ACSEnv(difficulty=bad)


# ---------------------------------------------------------------- MathTIR
def _math_draws(**kwargs) -> list:
    env = gym.make("MathTIR-v0", warm_pool=0, cell_timeout=5, **kwargs)
    ids = []
    try:
        for seed in SEEDS:
            _, info = env.reset(seed=seed)  # a real sandbox session each time
            ids.append(info["problem_id"])
    finally:
        env.close()
    return ids


def test_math_default_id_draws_the_same_problems_as_before():
    assert _math_draws() == RECORD["math"]["MathTIR-v0"]


@pytest.mark.parametrize(
    "new, old, record",
    [
        ({"levels": 3}, {"difficulty": 3}, "level=3"),
        ({"levels": [4, 5]}, {"difficulty": [4, 5]}, "levels=[4,5]"),
        ({"difficulty": 0.0}, {"difficulty": 1}, "level=1"),
        ({"difficulty": 0.5}, {"difficulty": 3}, "level=3"),
        ({"difficulty": 1.0}, {"difficulty": 5}, "level=5"),
    ],
)
def test_math_levels_difficulty_and_old_form_draw_as_before(new, old, record):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # the new spelling is silent
        assert _math_draws(**new) == RECORD["math"][f"MathTIR-v0|{record}"]
    with pytest.warns(DeprecationWarning, match="use levels="):
        assert _math_draws(**old) == RECORD["math"][f"MathTIR-v0|{record}"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"difficulty": 1.5},
        {"difficulty": float("nan")},
        {"difficulty": "hard"},
        {"difficulty": 0.5, "levels": 3},
        {"levels": 0},
        {"levels": []},
        {"levels": "3"},
        {"levels": [2.0]},
        {"difficulty": 0.5, "problems": [{"question": "1+1?", "answer": "2"}]},
    ],
)
def test_math_bad_difficulty_or_levels_is_a_value_error(kwargs):
    from agent_envs.math.env import MathTIREnv

    with pytest.raises(ValueError):
        MathTIREnv(warm_pool=0, **kwargs)


# ---------------------------------------------------------------- TextWorld
class _Chosen(Exception):
    """Raised by the stand-in of ``ensure_game`` with the game it was asked for."""


def _tw_draws(monkeypatch, env_id: str, **kwargs) -> list:
    """The (kind, settings, split, index) of the game each seed asks for; nothing generated."""
    pytest.importorskip("textworld")
    import agent_envs.textgames.textworld_env as module

    def chosen(cache, kind, settings, split, index, *args, **kw):
        raise _Chosen([kind, settings, split, index])

    monkeypatch.setattr(module, "ensure_game", chosen)
    env = gym.make(env_id, cache_dir=tempfile.mkdtemp(), **kwargs)
    rows = []
    for seed in SEEDS:
        with pytest.raises(_Chosen) as caught:
            env.reset(seed=seed)
        rows.append(caught.value.args[0])
    env.close()
    return rows


TW_IDS = [e.id for e in ENTRIES if e.id.startswith("TextWorld-")]


@pytest.mark.parametrize("env_id", TW_IDS)
def test_textworld_ids_ask_for_the_same_games_as_before(monkeypatch, env_id):
    assert _tw_draws(monkeypatch, env_id) == RECORD["textworld"][env_id]
    for split in ("valid", "test"):
        assert (
            _tw_draws(monkeypatch, env_id, split=split)
            == (RECORD["textworld"][f"{env_id}|split={split}"])
        )


@pytest.mark.parametrize("env_id", TW_IDS)
def test_textworld_presets_difficulty_and_old_form(monkeypatch, env_id):
    for preset, difficulty in (("easy", 0.0), ("medium", 0.5), ("hard", 1.0)):
        recorded = RECORD["textworld"][f"{env_id}|preset={preset}"]
        assert _tw_draws(monkeypatch, env_id, preset=preset) == recorded
        assert _tw_draws(monkeypatch, env_id, difficulty=difficulty) == recorded
        with pytest.warns(DeprecationWarning, match=f"use preset='{preset}'"):
            assert _tw_draws(monkeypatch, env_id, difficulty=preset) == recorded


def test_textworld_difficulty_interpolates_between_presets():
    pytest.importorskip("textworld")
    from agent_envs.textgames.tw_games import PRESETS, difficulty_settings

    # Treasure's level by hand: 3 at easy, 13 at medium, 23 at hard, linear in between
    levels = [difficulty_settings("Treasure", d / 20)["level"] for d in range(21)]
    assert levels == [3 + d for d in range(21)]
    for kind in PRESETS:
        settings = [difficulty_settings(kind, d / 8) for d in range(9)]
        for key, value in settings[0].items():
            values = [s[key] for s in settings]
            assert values == sorted(values), (kind, key)  # harder never goes back
            assert isinstance(value, type(PRESETS[kind]["easy"][key]))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"difficulty": -0.5},
        {"difficulty": float("nan")},
        {"difficulty": [0.5]},
        {"difficulty": 0.5, "preset": "easy"},
        {"difficulty": "easy", "preset": "easy"},
        {"preset": "impossible"},
        {"split": "valid_seen"},
    ],
)
def test_textworld_bad_difficulty_preset_or_split_is_a_value_error(kwargs):
    pytest.importorskip("textworld")
    from agent_envs.textgames import TextWorldEnv

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(ValueError):
            TextWorldEnv("Custom", cache_dir=tempfile.mkdtemp(), **kwargs)


# ---------------------------------------------------------------- ALFWorld
def _alfworld_draws(monkeypatch, **kwargs) -> list:
    """The (native split, index, task types, folder) of the task each seed asks for."""
    pytest.importorskip("alfworld")
    import agent_envs.textgames.alfworld_env as module
    from agent_envs.textgames.alfworld_generator import generate_task

    def chosen(root, split, index, task_types, verify=None):
        seed = 3 * index + module._SPLIT_OFFSET[split]
        task = generate_task(task_types[index % len(task_types)], seed)
        raise _Chosen([split, index, list(task_types), task.folder_name])

    monkeypatch.setattr(module, "ensure_generated_task", chosen)
    monkeypatch.delenv("ALFWORLD_DATA", raising=False)
    env = gym.make("ALFWorld-v0", cache_dir=tempfile.mkdtemp(), **kwargs)  # no data: generated
    rows = []
    for seed in SEEDS:
        with pytest.raises(_Chosen) as caught:
            env.reset(seed=seed)
        rows.append(caught.value.args[0])
    env.close()
    return rows


@pytest.mark.parametrize(
    "split, native",
    [
        (None, None),
        ("valid", "valid_seen"),
        ("test", "valid_unseen"),
        ("valid_seen", "valid_seen"),
        ("valid_unseen", "valid_unseen"),
    ],
)
def test_alfworld_splits_ask_for_the_same_tasks_as_before(monkeypatch, split, native):
    key = "ALFWorld-v0" if native is None else f"ALFWorld-v0|split={native}"
    kwargs = {} if split is None else {"split": split}
    assert _alfworld_draws(monkeypatch, **kwargs) == RECORD["alfworld"][key]


@pytest.mark.parametrize("kwargs", [{"difficulty": 0.5}, {"difficulty": 0.0}, {"split": "dev"}])
def test_alfworld_rejects_difficulty_and_unknown_splits(kwargs):
    pytest.importorskip("alfworld")
    from agent_envs.textgames.alfworld_env import ALFWorldEnv

    with pytest.raises(ValueError, match="task_types|split must be one of"):
        ALFWorldEnv(source="generated", cache_dir=tempfile.mkdtemp(), **kwargs)
