"""``ALFWorld-v0``: ALFWorld household tasks, from the official data or generated offline."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent_envs.core.arguments import check_split
from agent_envs.textgames.alfworld_data import (
    SPLITS,
    AlfworldTask,
    find_tasks,
    load_task,
    official_data_root,
)
from agent_envs.textgames.alfworld_engine import open_alfworld_game, plan_task, verify_task
from agent_envs.textgames.alfworld_generator import generate_task, write_task
from agent_envs.textgames.alfworld_scenes import TASK_TYPES
from agent_envs.textgames.cache import GameCache, default_cache_dir
from agent_envs.textgames.engine_process import EngineFailure
from agent_envs.textgames.game_env import (
    ENGINE_START_TIMEOUT_S,
    TextGameEnv,
    renamed_engine_timeout,
    require_extra,
)

__all__ = [
    "ALFWorldEnv",
    "ensure_generated_task",
    "GENERATOR_VERSION",
    "NATIVE_SPLIT",
    "SPLIT_ALIASES",
]

#: Bumped when the generator changes, so old cached tasks are not mixed with new ones.
GENERATOR_VERSION = 2
_SPLIT_OFFSET = {"train": 0, "valid_seen": 1, "valid_unseen": 2}
#: The suite's split names and ALFWorld's: valid is in-distribution (seen rooms), test is
#: out-of-distribution (unseen rooms), as the ALFWorld papers evaluate.
NATIVE_SPLIT: dict[str, str] = {"train": "train", "valid": "valid_seen", "test": "valid_unseen"}
#: ALFWorld's own names, accepted for ``split``.
SPLIT_ALIASES: dict[str, str] = {"valid_seen": "valid", "valid_unseen": "test"}
_BANNER = "-= Welcome to TextWorld, ALFRED! =-"
#: TextWorld picks a game's engine by searching its whole path for this.
_Z_MACHINE_PATH = re.compile(r"\.z[1-8]")


def ensure_generated_task(
    root: Path,
    split: str,
    index: int,
    task_types: tuple[str, ...],
    verify: Callable[[Path, tuple[str, ...]], bool] = verify_task,
) -> Path:
    """Folder of generated task ``index`` of ``split`` under ``root``, built and verified once.

    Task types cycle with the index; seeds of different splits never coincide. ``verify``
    plays the stored solution (the environment runs it in its engine process).
    """
    task_type = task_types[index % len(task_types)]
    seed = 3 * index + _SPLIT_OFFSET[split]
    task = generate_task(task_type, seed)

    def build(folder: Path) -> None:
        write_task(task, folder)
        if not verify(folder / "game.tw-pddl", task.walkthrough):
            raise RuntimeError(
                f"generated {task_type} task (seed {seed}) is not solved by its plan"
            )

    cache = GameCache(root / "json_2.1.1" / SPLITS[split] / task.folder_name)
    return cache.get(f"trial_agentenvs_{seed:07d}", build)


class ALFWorldEnv(TextGameEnv):
    """ALFWorld's text household tasks, played by ``textworld`` with ALFWorld's wrappers.

    ## Description
    The agent is in a room with receptacles (fridge 1, drawer 2...) and objects, and must
    reach a goal of one of six types: pick and place, examine in light, clean, heat,
    cool, pick two. With ALFWorld's data (``$ALFWORLD_DATA`` holding ``json_2.1.1``, or
    ``data_dir``) the official tasks of the split are played; without it, tasks come from
    a seeded procedural generator (``source="generated"``) that writes the same layout
    (``traj_data.json`` + ``game.tw-pddl``) into ``cache_dir`` and checks each task's
    stored solution wins before caching it. Every task has an expert:
    ``env.unwrapped.walkthrough()`` (a stored solution, or a checked PDDL plan).

    ## Action
    The agent's reply with one command (``go to fridge 1``, ``take apple 1 from fridge 1``,
    ``heat apple 1 with microwave 1``, ``move apple 1 to countertop 1``, ``use desklamp
    1``...): bare, in ``<command>...</command>``, on a ``Command:``/``Action:`` line, or
    as the last line. A command the game does not know answers "Nothing happens.".

    ## Observation
    The game's feedback; the reset observation describes the room and ends with "Your
    task is to: ...": the goal in one of ALFWorld's two phrasings of the task type
    (``put a hot mug in desk`` or ``heat some mug and put it in desk``...), as the game
    file words it, else drawn once per task. ``show_admissible_commands`` appends the
    admissible commands. Case does not matter in commands (``take cd 1 from desk 1``
    plays ``take CD 1 from desk 1``).

    ## Rewards
    1.0 on the turn that solves the task, else 0.0 (the game's score increment). An
    unusable reply gets ``invalid_action_reward = 0.0`` and ``action_valid=False``.
    ``info`` holds ``task_type``, ``task`` (the goal sentence), ``admissible_commands``,
    ``game_score``, ``max_score`` (1), ``won``, ``lost``, ``command``,
    ``command_admissible``; the reset info adds ``task_index``, ``split``, ``source``.

    ## Episode end
    Terminated when the task is solved; truncated after ``max_turns`` turns.

    ## Arguments
    ``split``: ``"train"``, ``"valid"`` (ALFWorld's ``valid_seen``: rooms seen in
    training, the in-distribution evaluation) or ``"test"`` (``valid_unseen``: unseen
    rooms, the out-of-distribution one); the native names are accepted too, and
    ``info["split"]`` reports the suite's name; ``difficulty``: not supported (a clear
    ``ValueError``): ALFWorld has no graded knob, choose ``task_types``; ``task_types``: a
    subset of the six type names (default all); ``source``: ``"auto"`` (official data when
    found, else generated), ``"official"`` or ``"generated"``; ``data_dir``: the folder
    holding ``json_2.1.1`` (default ``$ALFWORLD_DATA``); ``num_generated``: generated pool
    size per split (default 600); ``goal_annotation``: None for templated goals, or an
    index into the human annotations of ``traj_data.json``; ``max_turns`` (default 50);
    ``show_admissible_commands``; ``cache_dir`` (default ``$AGENT_ENVS_CACHE/alfworld``);
    ``engine_timeout``: time limit of one engine step (default 30 s; the engine runs in a
    child process, and a step over the limit is answered as invalid, see ``TextGameEnv``).

    ## Version history
    * v0: initial version (alfworld 0.4.2 data format, generator version 1); generator
      version 2 draws the goal's phrasing (same rooms); official tasks get expert plans.
      Splits are named ``train``/``valid``/``test`` like every family (``valid_seen`` and
      ``valid_unseen`` still work; the tasks are the same).

    Example:
        >>> import tempfile, pytest
        >>> _ = pytest.importorskip("alfworld")
        >>> env = ALFWorldEnv(task_types=["pick_heat_then_place_in_recep"], source="generated",
        ...                   num_generated=1, cache_dir=tempfile.mkdtemp())
        >>> obs, info = env.reset(seed=0)
        >>> info["task_type"], info["task"].startswith(("put a hot ", "heat some "))
        ('pick_heat_then_place_in_recep', True)
        >>> for command in env.walkthrough():
        ...     obs, reward, terminated, truncated, info = env.step(command)
        >>> reward, info["success"]
        (1.0, True)
        >>> env.close()
    """

    game_title = "ALFWorld, a text household simulator"
    command_help = (
        "Commands: go to <receptacle>, open <receptacle>, close <receptacle>, take <object> "
        "from <receptacle>, move <object> to <receptacle>, heat/cool/clean <object> with "
        "<receptacle>, use <object>, examine <something>, inventory, look. Names carry "
        "numbers, e.g. 'take apple 1 from fridge 1'. "
    )

    def __init__(
        self,
        split: str = "train",
        task_types: tuple[str, ...] | list[str] | None = None,
        *,
        source: str = "auto",
        data_dir: str | None = None,
        num_generated: int = 600,
        goal_annotation: int | None = None,
        max_turns: int = 50,
        show_admissible_commands: bool = False,
        cache_dir: str | None = None,
        engine_timeout: float = 30.0,
        render_mode: str | None = None,
        engine_timeout_s: float | None = None,
        difficulty: float | None = None,
    ) -> None:
        if difficulty is not None:
            raise ValueError(
                "ALFWorld has no difficulty knob: its tasks are the dataset's (or generated "
                "in its image), with no graded setting to map a difficulty onto; choose the "
                f"task types instead (task_types=, a subset of {TASK_TYPES})"
            )
        require_extra("textworld", "alfworld", "fast_downward")
        super().__init__(
            max_turns=max_turns,
            show_admissible_commands=show_admissible_commands,
            engine_timeout=renamed_engine_timeout(engine_timeout, engine_timeout_s),
            render_mode=render_mode,
        )
        split = check_split(split, ("train", "valid", "test"), "ALFWorld", SPLIT_ALIASES)
        types = tuple(TASK_TYPES if task_types is None else task_types)
        unknown = [t for t in types if t not in TASK_TYPES]
        if not types or unknown:
            raise ValueError(
                f"task_types must be a non-empty subset of {TASK_TYPES}, got {types!r}"
            )
        if source not in ("auto", "official", "generated"):
            raise ValueError(f"source must be 'auto', 'official' or 'generated', got {source!r}")
        if (
            not isinstance(num_generated, int)
            or isinstance(num_generated, bool)
            or num_generated < 1
        ):
            raise ValueError(f"num_generated must be a positive int, got {num_generated!r}")
        root = Path(data_dir).expanduser() if data_dir else official_data_root()
        if source == "official" and root is None:
            raise ValueError("source='official' needs data_dir or $ALFWORLD_DATA with json_2.1.1")
        self.source = "official" if source != "generated" and root is not None else "generated"
        self.split, self.task_types, self.goal_annotation = split, types, goal_annotation
        #: ALFWorld's own name of the split (``valid_seen``/``valid_unseen`` for valid/test).
        self.native_split = NATIVE_SPLIT[split]
        self._official: list[Path] = []
        if self.source == "official":
            self._official = find_tasks(root, self.native_split, types)
            if not self._official:
                raise ValueError(
                    f"no {self.native_split} tasks of types {types} under {root}/json_2.1.1"
                )
        self.num_tasks = len(self._official) if self._official else num_generated
        base = Path(cache_dir) if cache_dir else default_cache_dir("alfworld")
        for folder in (base, root) if self.source == "official" else (base,):
            if _Z_MACHINE_PATH.search(str(folder)):  # textworld would play the game as Z-code
                raise ValueError(
                    f"{folder} contains '.z1'..'.z8', which TextWorld takes for a Z-machine "
                    "game file anywhere in a path; use a folder without it"
                )
        self.generated_root = base / f"generated-v{GENERATOR_VERSION}"
        #: Where expert plans of tasks without a stored solution are cached.
        self.plan_root = base / "plans"
        self._plans: dict[str, list[str]] = {}
        self.task: AlfworldTask | None = None
        self._verified: dict[int, Path] = {}

    reset_options = ("task_index",)

    def _select_game(self, options: dict[str, Any] | None) -> tuple[Path, dict[str, Any]]:
        index = (options or {}).get("task_index")
        if index is None:
            index = int(self.np_random.integers(self.num_tasks))
        elif not isinstance(index, int) or not 0 <= index < self.num_tasks:
            raise ValueError(f"task_index must be an int in [0, {self.num_tasks}), got {index!r}")
        if self.source == "official":
            folder = self._official[index]
        elif index in self._verified:
            folder = self._verified[index]
        else:
            folder = ensure_generated_task(
                self.generated_root,
                self.native_split,
                index,
                self.task_types,
                self._verify_in_engine,
            )
            self._verified[index] = folder
        if self.task is None or self.task.folder != folder:
            self.task = load_task(folder, self.goal_annotation)
        facts = {"task_index": index, "split": self.split, "source": self.source}
        return self.task.game_file, {**facts, **self._task_info()}

    def _verify_in_engine(self, game_file: Path, walkthrough: tuple[str, ...]) -> bool:
        # in the engine process: a time limit, and no engine left behind in this process
        kwargs = {"game_file": str(game_file), "walkthrough": list(walkthrough)}
        call = ("run", f"{verify_task.__module__}:verify_task", kwargs)
        try:
            return bool(self._engine_process().call(call, ENGINE_START_TIMEOUT_S))
        except EngineFailure as exc:
            raise RuntimeError(f"checking the generated task {game_file} failed: {exc}") from None

    def _task_info(self) -> dict[str, Any]:
        assert self.task is not None
        return {"task_type": self.task.task_type, "task": self.task.description}

    def _engine_opener(self, path: Path) -> tuple[str, dict[str, Any]]:
        return f"{open_alfworld_game.__module__}:open_alfworld_game", {"game_file": str(path)}

    def _clean(self, text: str) -> str:
        if self.task is not None:  # the goal this environment states (see load_task)
            written = f"Your task is to: {self.task.game_goal}"
            text = text.replace(written, f"Your task is to: {self.task.description}")
        return text.replace(_BANNER, "").strip()

    def _state_info(self, state: Any) -> dict[str, Any]:
        info = super()._state_info(state)
        info["max_score"] = 1
        return {**info, **(self._task_info() if self.task is not None else {})}

    def walkthrough(self) -> list[str]:
        """A winning command list for the current task, from its initial state (for
        tests, baselines and SFT data): the task's stored solution, else (ALFWorld's
        official data stores none) a plan of the PDDL planner, checked to win, computed
        on first request in the engine process and cached under ``cache_dir``.
        """
        if self.task is None:
            raise RuntimeError("call reset() first")
        if self.task.walkthrough:
            return list(self.task.walkthrough)
        game_file = self.task.game_file
        digest = hashlib.sha256(game_file.read_bytes()).hexdigest()[:32]
        if digest not in self._plans:
            folder = GameCache(self.plan_root).get(f"plan-{digest}", self._plan_into)
            self._plans[digest] = json.loads((folder / "plan.json").read_text())
        return list(self._plans[digest])

    def _plan_into(self, folder: Path) -> None:
        assert self.task is not None
        call = ("run", f"{plan_task.__module__}:plan_task", {"game_file": str(self.task.game_file)})
        try:
            plan = self._engine_process().call(call, ENGINE_START_TIMEOUT_S)
        except EngineFailure as exc:
            raise RuntimeError(f"planning {self.task.game_file} failed: {exc}") from None
        if not plan:
            raise RuntimeError(f"the PDDL planner found no winning plan for {self.task.folder}")
        (folder / "plan.json").write_text(json.dumps(plan))
