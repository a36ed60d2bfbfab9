"""Expert policies per family, for supervised warm start and demonstration data.

=====================  ======================================================  ==========
family (id prefix)     expert                                                  kept
=====================  ======================================================  ==========
``Toy-GuessNumber``    bisection on the "higher"/"lower" feedback              successes
``TextWorld-``         the game generator's walkthrough, one command per turn  successes
``ALFWorld-``          the task's expert plan (``walkthrough()``)              successes
``ACS-``               CMA-ES (``baselines.cmaes``; ``bo`` on request), its     all
                       designs written as the env's reply format
``MathTIR-``           **no reference solution with code exists** in the       successes
                       problem sources; the stand-in replies with a
                       ```` ```python ```` block printing the reference answer
                       and ``\\boxed{answer}``: it teaches the reply format,
                       not how to solve
=====================  ======================================================  ==========

Official ALFWorld tasks without a stored plan get one from the PDDL planner the first time
their ``walkthrough()`` is asked (checked to win, then cached), so they yield expert
episodes too.
"""

from __future__ import annotations

from typing import Any

from agent_envs.baselines.base import Policy

__all__ = ["EXPERTS", "expert_policy", "keeps_failures", "BisectionExpert",
           "WalkthroughExpert", "ReferenceAnswerExpert"]  # fmt: skip

#: id prefix -> expert name (see the module table).
EXPERTS: dict[str, str] = {
    "Toy-GuessNumber": "bisection",
    "TextWorld-": "walkthrough",
    "ALFWorld-": "walkthrough",
    "ACS-": "cmaes",
    "MathTIR-": "reference-answer",
}


class BisectionExpert(Policy):
    """Halve the toy's interval on every "higher"/"lower" answer (wins in log2(range) turns).

    Example:
        >>> from agent_envs.rl import run_episode
        >>> from agent_envs.toy import GuessNumberEnv
        >>> env, expert = GuessNumberEnv(), BisectionExpert()
        >>> def policy(messages):
        ...     return expert.act(messages, {})
        >>> _ = env.reset(seed=0); expert.reset(env, seed=0)
        >>> traj = run_episode(env, policy, seed=0)
        >>> traj.success
        True
    """

    name = "bisection"

    def reset(self, env: Any, *, seed: int | None = None) -> None:
        """Start from the env's whole range."""
        self.low, self.high, self.guess = env.unwrapped.low, env.unwrapped.high, None

    def act(self, messages: list[dict[str, str]], info: dict[str, Any]) -> str:
        """The middle of what is left, narrowed by the last feedback."""
        last = messages[-1]["content"].lower() if messages else ""
        if self.guess is not None and "higher" in last:
            self.low = self.guess + 1
        elif self.guess is not None and "lower" in last:
            self.high = self.guess - 1
        self.guess = (self.low + self.high) // 2
        return str(self.guess)


class WalkthroughExpert(Policy):
    """Play the game's stored solution (``env.unwrapped.walkthrough()``), one command a turn.

    After the plan runs out it sends ``look`` (so the episode still ends by the budget).
    """

    name = "walkthrough"

    def reset(self, env: Any, *, seed: int | None = None) -> None:
        """Read the plan of the task just reset."""
        self.plan = list(env.unwrapped.walkthrough())

    def act(self, messages: list[dict[str, str]], info: dict[str, Any]) -> str:
        """The next command of the plan."""
        return self.plan.pop(0) if self.plan else "look"


class ReferenceAnswerExpert(Policy):
    """MathTIR stand-in expert: print the reference answer in code, then box it.

    Not a solution (none exists in the sources): SFT on it teaches the reply format.
    """

    name = "reference-answer"

    def reset(self, env: Any, *, seed: int | None = None) -> None:
        """Read the reference answer of the problem just reset."""
        self.answer, self.turn = str(env.unwrapped.problem.answer), 0

    def act(self, messages: list[dict[str, str]], info: dict[str, Any]) -> str:
        """Turn 1: a code block that prints the answer; later: the boxed answer."""
        self.turn += 1
        if self.turn == 1:
            return f"```python\nprint({self.answer!r})\n```"
        return f"The answer is \\boxed{{{self.answer}}}."


def expert_policy(env_id: str, name: str | None = None) -> Policy:
    """The expert of ``env_id``'s family (or the baseline ``name``, e.g. ``"bo"``).

    Example:
        >>> expert_policy("Toy-GuessNumber-v0").name, expert_policy("ACS-OpAmp-v0").name
        ('bisection', 'cmaes')
        >>> expert_policy("Unknown-v0")
        Traceback (most recent call last):
        ...
        ValueError: no expert for 'Unknown-v0'; families with one: Toy-GuessNumber, TextWorld-, ALFWorld-, ACS-, MathTIR-
    """
    if name is None:
        name = next((e for prefix, e in EXPERTS.items() if env_id.startswith(prefix)), None)
        if name is None:
            raise ValueError(f"no expert for {env_id!r}; families with one: {', '.join(EXPERTS)}")
    if name == "bisection":
        return BisectionExpert()
    if name == "walkthrough":
        return WalkthroughExpert()
    if name == "reference-answer":
        return ReferenceAnswerExpert()
    from agent_envs.baselines.registry import make_policy

    return make_policy(name)


def keeps_failures(env_id: str) -> bool:
    """Whether failed expert episodes are kept as demonstrations (ACS: yes, the rest: no).

    Example:
        >>> keeps_failures("ACS-OpAmp-v0"), keeps_failures("TextWorld-Custom-v0")
        (True, False)
    """
    return env_id.startswith("ACS-")
