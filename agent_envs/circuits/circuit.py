"""A circuit as data: the folder format of ``docs/circuits.md`` loaded into objects.

A circuit folder holds ``circuit.json`` (id, variables, measurements, spec rules), a
netlist template whose only holes are ``{name}`` numeric parameters, and spec sets.
Device models come from a process file in ``agent_envs/circuits/models/``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "Variable",
    "Measurement",
    "SpecRule",
    "ModelUse",
    "Testbench",
    "Circuit",
    "CIRCUITS_DIR",
]

#: The folder that holds one sub-folder per circuit (and ``models/``).
CIRCUITS_DIR = Path(__file__).resolve().parent
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_DIRECTIONS = (">=", "<=")


@dataclass(frozen=True)
class Variable:
    """One design variable: a named number with a unit and an inclusive range.

    Example:
        >>> v = Variable("cc", "F", 1e-13, 2e-11, True, 1e-12, "Miller capacitor")
        >>> v.contains(5e-12), v.contains(1.0)
        (True, False)
    """

    name: str
    unit: str
    low: float
    high: float
    log: bool
    default: float
    description: str

    def contains(self, value: float) -> bool:
        """Whether ``value`` is a finite number inside ``[low, high]``."""
        return math.isfinite(value) and self.low <= value <= self.high


@dataclass(frozen=True)
class Measurement:
    """One measured number: which vector(s) it reads and how (``kind``).

    Example:
        >>> m = Measurement("gain", "dB", "low_freq_gain_db", "ac:out_dm")
        >>> m.plot, m.vector_name
        ('ac', 'out_dm')
    """

    name: str
    unit: str
    kind: str
    vector: str
    reference: str | None = None
    description: str = ""
    options: dict[str, float] = field(default_factory=dict)

    @property
    def plot(self) -> str:
        """The analysis the vector belongs to (``op``, ``ac``, ``tran``, ``noise``, ``dc``)."""
        return self.vector.split(":", 1)[0]

    @property
    def vector_name(self) -> str:
        """The vector's name inside its analysis."""
        return self.vector.split(":", 1)[1]


@dataclass(frozen=True)
class SpecRule:
    """A metric that specs may constrain, its direction, whether it is always kept, and an
    optional ``limit`` no target goes beyond (e.g. no phase-margin target above 75 deg).

    Example:
        >>> Circuit.load("opamp").spec_rules[2]
        SpecRule(metric='pm', direction='>=', always=True, limit=75)
    """

    metric: str
    direction: str
    always: bool = False
    limit: float | None = None


@dataclass(frozen=True)
class ModelUse:
    """A ``.model`` card the circuit needs: name, device type, and its length variable.

    Example:
        >>> Circuit.load("opamp").models[0]
        ModelUse(name='nin', type='nmos', length='l1')
    """

    name: str
    type: str
    length: str


@dataclass(frozen=True)
class Testbench:
    """One deck run per evaluation: its template (subcircuit already spliced in) and analyses.

    Example:
        >>> [(tb.name, tb.analyses) for tb in Circuit.load("opamp").testbenches]
        [('ac', ('op', 'ac', 'noise')), ('slew', ('tran',))]
    """

    name: str
    template: str
    analyses: tuple[str, ...]


@dataclass(frozen=True)
class Circuit:
    """A loaded circuit folder.

    Example:
        >>> c = Circuit.load("opamp")
        >>> c.id, len(c.variables) > 5, "gain" in [m.name for m in c.measurements]
        ('ACS-OpAmp-v0', True, True)
    """

    name: str
    folder: Path
    id: str
    description: str
    title: str
    summary: str
    testbenches: tuple[Testbench, ...]
    process: dict[str, Any]
    models: tuple[ModelUse, ...]
    variables: tuple[Variable, ...]
    measurements: tuple[Measurement, ...]
    spec_rules: tuple[SpecRule, ...]
    spec_sets: dict[str, str]
    #: task variations (load, supply, ...): template holes fixed per spec-set entry, not
    #: set by the agent; the defaults apply where an entry names none
    conditions: tuple[Variable, ...] = ()
    #: a foundry model library instead of ``.model`` cards: ``{"name": "sky130", "corner":
    #: "tt"}`` (see :mod:`agent_envs.circuits.pdk`); None for the project's simple cards
    pdk: dict[str, str] | None = None
    #: source/drain diffusion length (m) from the gate edge to the diffusion's end: each
    #: device gets ``AD = AS = W * diffusion_length`` and ``PD = PS = 2 * (W +
    #: diffusion_length)`` through the holes ``{ad_<w>}`` / ``{pd_<w>}`` of its width
    #: variable ``<w>``, so the model cards' junction capacitances act; None: no such holes
    diffusion_length: float | None = None

    @classmethod
    def load(cls, name_or_path: str | Path) -> Circuit:
        """Load and validate a circuit folder (a name under ``CIRCUITS_DIR`` or a path)."""
        folder = Path(name_or_path)
        if not folder.is_absolute() and not (folder / "circuit.json").exists():
            folder = CIRCUITS_DIR / str(name_or_path)
        meta_path = folder / "circuit.json"
        if not meta_path.is_file():
            raise ValueError(f"no circuit folder {str(name_or_path)!r} (missing {meta_path})")
        meta = json.loads(meta_path.read_text())
        process_path = CIRCUITS_DIR / "models" / f"{meta.get('process')}.json"
        variables = tuple(Variable(**v) for v in meta["variables"])
        measurements = tuple(
            Measurement(
                name=m["name"],
                unit=m["unit"],
                kind=m["kind"],
                vector=m["vector"],
                reference=m.get("reference"),
                description=m.get("description", ""),
                options={k: v for k, v in m.items() if isinstance(v, (int, float))},
            )
            for m in meta["measurements"]
        )
        circuit = cls(
            name=folder.name,
            folder=folder,
            id=meta["id"],
            description=meta["description"],
            title=meta.get("title", folder.name),
            summary=meta.get("summary", ""),
            testbenches=tuple(_load_testbench(folder, meta, tb) for tb in meta["testbenches"]),
            process=json.loads(process_path.read_text()) if meta.get("process") else {},
            models=tuple(ModelUse(**m) for m in meta.get("models", [])),
            variables=variables,
            measurements=measurements,
            spec_rules=tuple(SpecRule(**s) for s in meta["specs"]),
            spec_sets=dict(meta.get("spec_sets", {})),
            conditions=tuple(Variable(**v) for v in meta.get("conditions", [])),
            pdk=dict(meta["pdk"]) if meta.get("pdk") else None,
            diffusion_length=meta.get("diffusion_length"),
        )
        circuit._validate()
        return circuit

    @property
    def analyses(self) -> tuple[str, ...]:
        """Every analysis kind the testbenches run (unique across testbenches)."""
        return tuple(a for tb in self.testbenches for a in tb.analyses)

    def variable(self, name: str) -> Variable:
        """Return the variable called ``name`` (KeyError if there is none)."""
        for v in self.variables:
            if v.name == name:
                return v
        raise KeyError(name)

    def defaults(self) -> dict[str, float]:
        """The default value of every variable."""
        return {v.name: float(v.default) for v in self.variables}

    def condition_defaults(self) -> dict[str, float]:
        """The default value of every condition (empty for a circuit without any).

        Example:
            >>> Circuit.load("opamp").condition_defaults()
            {}
        """
        return {v.name: float(v.default) for v in self.conditions}

    def junction_geometry(self, values: dict[str, float]) -> dict[str, float]:
        """Drain/source area (``ad_<w>``) and perimeter (``pd_<w>``) for every width variable.

        A width variable is one measured in metres whose name starts with ``w``; the
        diffusion is a ``W x diffusion_length`` rectangle. Empty without a diffusion length.

        Example:
            >>> c = Circuit.load("opamp")
            >>> g = c.junction_geometry(c.defaults())
            >>> c.diffusion_length, g["ad_w1"], g["pd_w1"]  # W = 20 um
            (1.5e-06, 3e-11, 4.3e-05)
        """
        if self.diffusion_length is None:
            return {}
        ld = float(self.diffusion_length)
        out = {}
        for v in self.variables:
            if v.unit == "m" and v.name.startswith("w"):
                w = float(values[v.name])
                out[f"ad_{v.name}"] = float(f"{w * ld:.6e}")
                out[f"pd_{v.name}"] = float(f"{2.0 * (w + ld):.6e}")
        return out

    def measurement(self, name: str) -> Measurement:
        """Return the measurement called ``name`` (KeyError if there is none)."""
        for m in self.measurements:
            if m.name == name:
                return m
        raise KeyError(name)

    def _validate(self) -> None:
        from agent_envs.circuits.netlist import check_template

        names = [v.name for v in self.variables]
        holes = names + [v.name for v in self.conditions]
        if self.diffusion_length is not None and not 0 < self.diffusion_length < 1e-4:
            raise ValueError(f"{self.name}: bad diffusion_length {self.diffusion_length}")
        derived = list(self.junction_geometry(self.defaults()))
        if len(set(holes)) != len(holes):
            raise ValueError(f"{self.name}: duplicate variable or condition names")
        for v in self.variables + self.conditions:
            if not _NAME_RE.match(v.name):
                raise ValueError(f"{self.name}: bad variable name {v.name!r}")
            if not (0 < v.low < v.high if v.log else v.low < v.high):
                raise ValueError(f"{self.name}: bad range for {v.name}")
            if not v.contains(v.default):
                raise ValueError(f"{self.name}: default of {v.name} outside its range")
        if self.pdk is not None:
            self._validate_pdk()
        for use in self.models:
            if use.type not in ("nmos", "pmos") or use.length not in names:
                raise ValueError(f"{self.name}: bad model use {use}")
        metrics = {m.name for m in self.measurements}
        for rule in self.spec_rules:
            if rule.metric not in metrics or rule.direction not in _DIRECTIONS:
                raise ValueError(f"{self.name}: bad spec rule {rule}")
        if len(set(self.analyses)) != len(self.analyses):
            raise ValueError(f"{self.name}: two testbenches run the same analysis kind")
        for tb in self.testbenches:
            check_template(tb.template, set(holes + derived))

    def _validate_pdk(self) -> None:
        from agent_envs.circuits.pdk import PDKS

        pdk = PDKS.get(str(self.pdk.get("name")))
        if pdk is None or self.pdk.get("corner") not in pdk.corners:
            raise ValueError(f"{self.name}: bad pdk {self.pdk} (known: {sorted(PDKS)})")
        if self.models or self.process:
            raise ValueError(f"{self.name}: a pdk circuit has no process or .model cards")
        if len(self.testbenches) != 1:  # the resident worker keeps one circuit loaded
            raise ValueError(f"{self.name}: a pdk circuit has a single testbench")

    def with_corner(self, corner: str) -> Circuit:
        """The same pdk circuit at another process corner (ValueError for a bad one).

        Example:
            >>> Circuit.load("opamp").with_corner("ff")
            Traceback (most recent call last):
            ...
            ValueError: opamp uses the project's model cards, which have no corners
        """
        if self.pdk is None:
            raise ValueError(f"{self.name} uses the project's model cards, which have no corners")
        circuit = dataclasses.replace(self, pdk={**self.pdk, "corner": corner})
        circuit._validate_pdk()
        return circuit


def _load_testbench(folder: Path, meta: dict[str, Any], tb: dict[str, Any]) -> Testbench:
    """Splice the subcircuit (if any) after the testbench's title line."""
    lines = (folder / tb["template"]).read_text().splitlines()
    if meta.get("subcircuit"):
        lines[1:1] = (folder / meta["subcircuit"]).read_text().splitlines()
    return Testbench(tb["name"], "\n".join(lines) + "\n", tuple(tb["analyses"]))
