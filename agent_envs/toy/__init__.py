"""Tiny, fast environments for tests, doctests and CPU training demos."""

from agent_envs.toy.guess_number import GuessNumberEnv

__all__ = ["GuessNumberEnv"]
