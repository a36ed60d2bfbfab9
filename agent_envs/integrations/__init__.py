"""Thin adapters to external RL frameworks, and distributed rollouts on Ray.

Nothing here imports a framework: the adapters have the shapes those frameworks call
into (see ``docs/integrations.md`` for the exact versions), and ``ray`` is imported only
by :mod:`agent_envs.integrations.ray_rollouts` when a pool is built.
"""

from agent_envs.integrations.stepper import EpisodeStepper

__all__ = ["EpisodeStepper"]
