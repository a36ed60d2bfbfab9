"""Isolated execution of untrusted Python: persistent sessions, layered isolation.

Usable on its own::

    from agent_envs.sandbox import Sandbox, SandboxLimits
    with Sandbox(SandboxLimits(wall_time=2)) as box:  # fails closed without bubblewrap
        print(box.run("import math; math.factorial(20)").output)
"""

from agent_envs.sandbox.isolation import ISOLATION_LEVELS, SAFE_LEVELS, isolation_rank
from agent_envs.sandbox.limits import SandboxLimits
from agent_envs.sandbox.pool import SandboxPool
from agent_envs.sandbox.sandbox import (
    CellResult,
    InsecureSandboxWarning,
    IsolationError,
    Sandbox,
    SandboxError,
    available_isolation,
)

__all__ = [
    "Sandbox",
    "SandboxLimits",
    "SandboxPool",
    "CellResult",
    "SandboxError",
    "IsolationError",
    "InsecureSandboxWarning",
    "ISOLATION_LEVELS",
    "SAFE_LEVELS",
    "isolation_rank",
    "available_isolation",
]
