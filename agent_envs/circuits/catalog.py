"""Find the circuit folders cheaply: read each ``circuit.json``'s id and description.

Used by :mod:`agent_envs.registration` at import time, so it must stay light: it reads
small JSON files only (no simulation, no PySpice, no numpy).
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["discover_circuits", "ENTRY_POINT"]

#: The class every ``ACS-<Circuit>-v0`` id is built from.
ENTRY_POINT = "agent_envs.circuits.env:ACSEnv"
_ROOT = Path(__file__).resolve().parent


def discover_circuits(root: Path = _ROOT) -> list[tuple[str, str, str]]:
    """Return ``(id, folder name, description)`` for every circuit folder, sorted by id.

    A folder without a readable ``circuit.json`` holding ``id`` is skipped.

    Example:
        >>> ("ACS-OpAmp-v0", "opamp") in [(i, f) for i, f, _ in discover_circuits()]
        True
    """
    found = []
    for meta_path in sorted(root.glob("*/circuit.json")):
        try:
            meta = json.loads(meta_path.read_text())
            found.append((str(meta["id"]), meta_path.parent.name, str(meta.get("description", ""))))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return sorted(found)
