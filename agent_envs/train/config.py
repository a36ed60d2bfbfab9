"""``TrainConfig``: every knob of the reference trainer, with defaults for a real model."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ALGORITHMS", "CONTINUATIONS", "TrainConfig"]

#: The ``--algo`` keywords and what they optimize.
ALGORITHMS: dict[str, str] = {
    "grpo": "trajectory groups from one task seed, group-normalized episode returns",
    "tl-grpo": "turn-level groups: G candidate replies from the same turn state via fork()",
    "gtpo": "discounted per-turn returns, normalized per turn across the group",
    "rloo": "episode return minus the leave-one-out mean of the group",
    "ppo": "GAE over turns with a value head on the policy's last hidden state",
    "gigpo": "GRPO episode advantages plus step groups of identical observations (GiGPO)",
}

#: ``--choose``: which turn-level candidate the episode continues from.
CONTINUATIONS: tuple[str, ...] = ("best", "random", "first")


@dataclass
class TrainConfig:
    """Hyperparameters of one training run (the ``agent-envs train`` flags, one for one).

    A *step* plays ``groups_per_step`` tasks (one environment seed each) with
    ``group_size`` samples per task, then makes ``epochs`` passes of clipped
    policy-gradient updates over the batch.

    Example:
        >>> cfg = TrainConfig(env_id="Toy-GuessNumber-v0", model="tiny", algo="tl-grpo")
        >>> cfg.group_size, cfg.validate() is None
        (8, True)
        >>> TrainConfig(algo="dpo").validate()
        Traceback (most recent call last):
        ...
        ValueError: algo must be one of grpo, tl-grpo, gtpo, rloo, ppo, gigpo; got 'dpo'
    """

    env_id: str = "Toy-GuessNumber-v0"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    model: str = "tiny"
    algo: str = "grpo"
    steps: int = 10
    group_size: int = 8
    groups_per_step: int = 1
    # sampling
    max_new_tokens: int = 256
    max_turns: int = 16
    temperature: float = 1.0
    system_prompt: str | None = None  # None: the environment's info["system_prompt"]
    # reward scheme (agent_envs.wrappers.REWARD_SCHEMES) and its keywords
    reward: str = "native"
    reward_kwargs: dict[str, Any] = field(default_factory=dict)
    # turn-level groups (tl-grpo): which turns sample a group, which candidate continues
    group_turns: str = "all"
    choose: str = "best"
    # optimization
    lr: float = 1e-5
    weight_decay: float = 0.0
    epochs: int = 1
    micro_batch_size: int = 4
    clip_eps: float = 0.2
    kl_coef: float = 0.0
    max_grad_norm: float = 1.0
    scale_advantages: bool = True
    # returns / critic
    gamma: float = 1.0
    lam: float = 0.95
    vf_coef: float = 0.5
    # gtpo similarity shaping weight (0 = off); see docs/train/gtpo.md
    similarity_coef: float = 0.0
    # gigpo: weight of the step-level (same-observation) advantage
    omega: float = 1.0
    # supervised warm start on expert episodes: a share of the step budget, before RL
    sft_ratio: float = 0.0
    sft_data: str | None = None  # chat JSONL (agent-envs sft --export); None: play the expert
    sft_lr: float | None = None  # None: lr
    # held-out evaluation before and after training (0: off)
    eval_episodes: int = 16
    eval_env_kwargs: dict[str, Any] = field(default_factory=dict)  # e.g. {"split": "test"}
    # bookkeeping
    seed: int = 0
    device: str = "auto"
    cpu_threads: int | None = None  # torch.set_num_threads (1 is fastest for tiny models)
    dtype: str = "auto"
    out_dir: str | None = None
    save_every: int = 0
    resume: bool = False
    quiet: bool = False

    def validate(self) -> None:
        """Raise ``ValueError`` on a value the trainer cannot use."""
        if self.algo not in ALGORITHMS:
            raise ValueError(f"algo must be one of {', '.join(ALGORITHMS)}; got {self.algo!r}")
        positive = ("steps", "group_size", "groups_per_step", "max_new_tokens", "max_turns")
        for name in (*positive, "epochs", "micro_batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < (0 if name == "steps" else 1):
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.algo != "ppo" and self.group_size < 2:
            raise ValueError(f"{self.algo} needs group_size >= 2, got {self.group_size}")
        for name in ("lr", "temperature", "clip_eps", "max_grad_norm"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        for name in ("kl_coef", "vf_coef", "weight_decay", "similarity_coef"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if not (0 <= self.gamma <= 1 and 0 <= self.lam <= 1):
            raise ValueError(f"gamma and lam must be in [0, 1], got {self.gamma}, {self.lam}")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ValueError(f"device must be auto, cpu, cuda or cuda:N; got {self.device!r}")
        if self.dtype not in ("auto", "float32", "bfloat16"):
            raise ValueError(f"dtype must be auto, float32 or bfloat16; got {self.dtype!r}")
        if self.cpu_threads is not None and (
            not isinstance(self.cpu_threads, int) or self.cpu_threads < 1
        ):
            raise ValueError(
                f"cpu_threads must be a positive int or None, got {self.cpu_threads!r}"
            )
        from agent_envs.rl.rollout import turn_is_grouped
        from agent_envs.wrappers import REWARD_SCHEMES

        if self.reward not in REWARD_SCHEMES:
            raise ValueError(
                f"reward must be one of {', '.join(REWARD_SCHEMES)}; got {self.reward!r}"
            )
        if not isinstance(self.reward_kwargs, dict):
            raise ValueError(f"reward_kwargs must be a dict, got {self.reward_kwargs!r}")
        turn_is_grouped(0, self.group_turns)
        if self.choose not in CONTINUATIONS:
            raise ValueError(f"choose must be one of {CONTINUATIONS}, got {self.choose!r}")
        if not 0.0 <= self.sft_ratio <= 1.0:
            raise ValueError(f"sft_ratio must be in [0, 1], got {self.sft_ratio!r}")
        if not isinstance(self.eval_episodes, int) or self.eval_episodes < 0:
            raise ValueError(f"eval_episodes must be an int >= 0, got {self.eval_episodes!r}")
        if not self.omega >= 0 or (self.sft_lr is not None and not self.sft_lr > 0):
            raise ValueError(f"omega must be >= 0 and sft_lr > 0, got {self.omega}, {self.sft_lr}")
        if self.similarity_coef > 0 and self.algo != "gtpo":
            raise ValueError("similarity_coef is a gtpo option; use --algo gtpo")
        if (self.save_every or self.resume) and not self.out_dir:
            raise ValueError("save_every and resume need out_dir")

    @property
    def sft_steps(self) -> int:
        """Steps of the budget spent on supervised warm start: ``round(sft_ratio * steps)``.

        Example:
            >>> TrainConfig(steps=10, sft_ratio=0.3).sft_steps
            3
        """
        return int(round(self.sft_ratio * self.steps))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (written beside every checkpoint)."""
        return dataclasses.asdict(self)
