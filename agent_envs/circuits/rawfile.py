"""Read ngspice binary raw files (``ngspice -b -r out.raw``) into numpy arrays.

Vectors are keyed the way the shared library names them, so both backends feed the
same measurement code: ``v(out)`` becomes ``out`` and ``i(vdd)`` becomes ``vdd#branch``;
plots are keyed by analysis kind (``op``, ``ac``, ``tran``, ``noise``, ``dc``).
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["read_raw", "normalize_vector_name", "plot_kind", "Vectors"]

#: analysis kind -> vector name -> real or complex array
Vectors = dict[str, dict[str, np.ndarray]]

_PLOT_KINDS = {
    "operating point": "op",
    "ac analysis": "ac",
    "transient analysis": "tran",
    "dc transfer characteristic": "dc",
    "noise spectral density curves": "noise",
    "integrated noise": "noise",
}


def normalize_vector_name(name: str) -> str:
    """Map a raw-file vector name to the shared library's spelling.

    Example:
        >>> normalize_vector_name("v(out_dm)"), normalize_vector_name("i(vdd_dm)")
        ('out_dm', 'vdd_dm#branch')
        >>> normalize_vector_name("inoise_spectrum")
        'inoise_spectrum'
    """
    name = name.strip().lower()
    match = re.fullmatch(r"([vi])\((.+)\)", name)
    if match:
        kind, inner = match.groups()
        return inner if kind == "v" else f"{inner}#branch"
    return name


def plot_kind(plot_name: str) -> str:
    """Analysis kind from a raw plot title or a shared-library plot name (``ac1``).

    Example:
        >>> plot_kind("AC Analysis"), plot_kind("tran2"), plot_kind("noise1")
        ('ac', 'tran', 'noise')
    """
    lowered = plot_name.strip().lower()
    if lowered in _PLOT_KINDS:
        return _PLOT_KINDS[lowered]
    return re.sub(r"\d+$", "", lowered)


def read_raw(data: bytes) -> Vectors:
    """Parse every plot of a binary (or ascii) ngspice raw file.

    Example:
        >>> header = (b"Title: t\\nDate: x\\nPlotname: Operating Point\\nFlags: real\\n"
        ...           b"No. Variables: 1\\nNo. Points: 1\\nVariables:\\n\\t0\\tv(out)\\tvoltage\\n"
        ...           b"Binary:\\n")
        >>> read_raw(header + np.array([1.5]).tobytes())["op"]["out"]
        array([1.5])
    """
    plots: Vectors = {}
    pos = 0
    while pos < len(data):
        meta: dict[str, str] = {}
        names: list[str] = []
        while True:
            end = data.index(b"\n", pos)
            line = data[pos:end].decode("latin-1")
            pos = end + 1
            key, _, value = line.partition(":")
            key = key.strip().lower()
            if key == "variables":
                count = int(meta["no. variables"])
                for _ in range(count):
                    end = data.index(b"\n", pos)
                    names.append(data[pos:end].decode("latin-1").split()[1])
                    pos = end + 1
            elif key in ("binary", "values"):
                meta["format"] = key
                break
            else:
                meta[key] = value.strip()
        n_vars, n_points = len(names), int(meta["no. points"])
        is_complex = "complex" in meta.get("flags", "")
        if meta["format"] == "binary":
            width = 16 if is_complex else 8
            size = n_vars * n_points * width
            raw = np.frombuffer(data[pos : pos + size], dtype=np.float64)
            pos += size
            if is_complex:
                table = raw.view(np.complex128).reshape(n_points, n_vars)
            else:
                table = raw.reshape(n_points, n_vars)
        else:  # ascii: "index\tvalue\n\tvalue..." blocks
            rows = []
            for _ in range(n_points):
                row = []
                for j in range(n_vars):
                    end = data.index(b"\n", pos)
                    field = data[pos:end].decode("latin-1").split()[-1 if j else 1]
                    pos = end + 1
                    re_, _, im = field.partition(",")
                    row.append(complex(float(re_), float(im)) if is_complex else float(re_))
                rows.append(row)
            table = np.array(rows).reshape(n_points, n_vars)
            while pos < len(data) and data[pos : pos + 1] in (b"\n", b"\r"):
                pos += 1
        kind = plot_kind(meta.get("plotname", "unknown"))
        target = plots.setdefault(kind, {})
        for j, name in enumerate(names):
            column = table[:, j]
            if is_complex and name in ("frequency", "time"):
                column = column.real
            target[normalize_vector_name(name)] = np.array(column)
    return plots
