"""Analog circuit sizing: circuits as data, ngspice backends, and the ACS environment.

Importing this package is light (registration reads only small JSON files); the
environment and its helpers load on first use.

Example:
    >>> from agent_envs.circuits import ACSEnv, Circuit
    >>> Circuit.load("opamp").id
    'ACS-OpAmp-v0'
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["ACSEnv", "Circuit", "Variable", "Spec"]

_LAZY = {
    "ACSEnv": "agent_envs.circuits.env",
    "Circuit": "agent_envs.circuits.circuit",
    "Variable": "agent_envs.circuits.circuit",
    "Spec": "agent_envs.circuits.specs",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
