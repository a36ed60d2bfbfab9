"""PVT hard mode: simulate every design at several process corners, keep the worst.

:class:`CornerBackend` holds one backend per corner (for the resident backend, one
ngspice worker each, every one keeping its own corner's library loaded) and merges their
metrics: for a metric a spec may constrain, the worst value over the corners (the
smallest for ``>=``, the largest for ``<=``; missing anywhere means missing); for any
other metric, the first corner's value. A failure at any corner fails the design.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from agent_envs.circuits.backends import SimResult, make_backend
from agent_envs.circuits.circuit import Circuit
from agent_envs.circuits.netlist import UnsafeDeckError
from agent_envs.circuits.pdk import lib_line

__all__ = ["CornerBackend", "check_corners", "worst_metrics"]


def check_corners(circuit: Circuit, corners: object) -> tuple[str, ...]:
    """Validate a corners argument for ``circuit``; return it as a tuple.

    Example:
        >>> check_corners(Circuit.load("ota5_sky130"), ["tt", "ss"])
        ('tt', 'ss')
        >>> check_corners(Circuit.load("opamp"), ["tt"])
        Traceback (most recent call last):
        ...
        ValueError: corners need a circuit on a pdk model library; opamp has none
    """
    if circuit.pdk is None:
        raise ValueError(f"corners need a circuit on a pdk model library; {circuit.name} has none")
    if isinstance(corners, str) or not isinstance(corners, Sequence) or not corners:
        raise TypeError(f"corners must be a non-empty sequence of names, got {corners!r}")
    if len(set(corners)) != len(corners):
        raise ValueError(f"corners repeat a name: {corners!r}")
    for corner in corners:
        circuit.with_corner(corner)  # ValueError for an unknown corner
    return tuple(corners)


def worst_metrics(
    circuit: Circuit, per_corner: Sequence[dict[str, float | None]]
) -> dict[str, float | None]:
    """Merge per-corner metrics: worst value for spec metrics, first corner's otherwise.

    Example:
        >>> c = Circuit.load("ota5_sky130")
        >>> m = worst_metrics(c, [{"gain": 40.0, "power": 1e-4}, {"gain": 35.0, "power": 2e-4}])
        >>> m["gain"], m["power"]
        (35.0, 0.0002)
    """
    directions = {rule.metric: rule.direction for rule in circuit.spec_rules}
    merged: dict[str, float | None] = {}
    for name, first in per_corner[0].items():
        values = [m.get(name) for m in per_corner]
        if name not in directions:
            merged[name] = first
        elif any(v is None for v in values):
            merged[name] = None
        else:
            merged[name] = min(values) if directions[name] == ">=" else max(values)
    return merged


class CornerBackend:
    """Simulate at every corner in ``corners``; the result is the worst case.

    Example (``True`` also when the sky130 package is absent):
        >>> import tempfile
        >>> from agent_envs.circuits.netlist import render_decks
        >>> from agent_envs.circuits.pdk import PdkUnavailable
        >>> c = Circuit.load("ota5_sky130")
        >>> try:
        ...     with tempfile.TemporaryDirectory() as d:
        ...         backend = CornerBackend(c, ("ss",), "subprocess", d, 60)
        ...         result = backend.simulate(render_decks(c, c.defaults()))
        ...     ok = result.metrics["ugbw"] > 1e6
        ... except PdkUnavailable:
        ...     ok = True
        >>> ok
        True
    """

    def __init__(
        self,
        circuit: Circuit,
        corners: Sequence[str],
        backend: str,
        workdir: str | Path,
        timeout: float,
        owns_workdir: bool = False,
    ) -> None:
        self.circuit, self.corners = circuit, check_corners(circuit, corners)
        self._lib = lib_line(circuit.pdk["name"], circuit.pdk["corner"])
        self._libs = [lib_line(circuit.pdk["name"], corner) for corner in self.corners]
        self._backends = []
        for corner in self.corners:
            folder = Path(workdir) / corner
            folder.mkdir(parents=True, exist_ok=True)
            self._backends.append(
                make_backend(backend, circuit.with_corner(corner), folder, timeout, owns_workdir)
            )

    @property
    def timeout(self) -> float:
        """Time limit of one corner's simulation, in seconds (settable)."""
        return self._backends[0].timeout

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        for backend in self._backends:
            backend.timeout = float(seconds)

    @property
    def pid(self) -> int | None:
        """Process id of the first corner's resident worker, if any."""
        return getattr(self._backends[0], "pid", None)

    def simulate(self, decks: Sequence[str]) -> SimResult:
        """Simulate decks rendered for ``circuit`` at each corner (only the ``.lib`` line,
        written by the project, changes); merge as the module says."""
        results, seconds = [], 0.0
        for corner, lib, backend in zip(self.corners, self._libs, self._backends, strict=True):
            corner_decks = []
            for deck in decks:
                lines = deck.splitlines()
                if len(lines) < 2 or lines[1] != self._lib:
                    raise UnsafeDeckError("a corner deck must carry the project's .lib line")
                corner_decks.append("\n".join([lines[0], lib, *lines[2:]]) + "\n")
            result = backend.simulate(corner_decks)
            seconds += result.seconds
            if result.error is not None:
                error = f"at corner {corner}: {result.error}"
                return SimResult(None, error, seconds, infrastructure=result.infrastructure)
            results.append(result.metrics)
        return SimResult(worst_metrics(self.circuit, results), None, seconds)

    def close(self) -> None:
        """Close every corner's backend (idempotent)."""
        for backend in self._backends:
            backend.close()
