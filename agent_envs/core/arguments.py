"""Constructor keywords every family names alike: ``difficulty`` and ``split``.

``difficulty`` is a float in ``[0, 1]`` (0 easiest) that each family maps to its own
knob (the spec targets of ACS, the level of MathTIR, the generator settings of
TextWorld); ``split`` is one of ``"train"``, ``"valid"``, ``"test"``. The family-native
knobs keep honest names of their own (``levels=``, ``preset=``). See
``docs/contract.md`` for the table of shared keywords.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["SPLITS", "check_difficulty", "check_split", "warn_renamed"]

#: The split vocabulary of every family (each family holds a subset of it).
SPLITS: tuple[str, ...] = ("train", "valid", "test")


def check_difficulty(value: Any, family: str = "this environment") -> float:
    """``value`` as a float in ``[0, 1]``; a ``ValueError`` for anything else.

    Ints 0 and 1 count as floats; bools, strings, NaN and numbers outside the range
    do not.

    Example:
        >>> check_difficulty(0.25), check_difficulty(1)
        (0.25, 1.0)
        >>> check_difficulty(float("nan"))
        Traceback (most recent call last):
        ...
        ValueError: difficulty must be a float in [0, 1] (0 easiest), got nan
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(
            f"difficulty must be a float in [0, 1] (0 easiest), got {value!r} "
            f"({type(value).__name__}) for {family}"
        )
    number = float(value)
    if not (math.isfinite(number) and 0.0 <= number <= 1.0):
        raise ValueError(f"difficulty must be a float in [0, 1] (0 easiest), got {value!r}")
    return number


def check_split(
    value: Any,
    available: Sequence[str],
    family: str,
    aliases: Mapping[str, str] | None = None,
    missing: str = "",
) -> str:
    """The canonical name of split ``value`` (one of ``available``, a subset of :data:`SPLITS`).

    ``aliases`` maps a family's native names to the canonical ones (ALFWorld's
    ``valid_seen`` is ``valid``); ``missing`` explains why a split of the vocabulary
    that the family lacks is absent.

    Example:
        >>> check_split("valid_seen", SPLITS, "ALFWorld", {"valid_seen": "valid"})
        'valid'
        >>> check_split("valid", ("train", "test"), "ACS", missing="no valid split")
        Traceback (most recent call last):
        ...
        ValueError: ACS has no 'valid' split (no valid split); choose one of ['train', 'test']
    """
    name = (aliases or {}).get(value, value) if isinstance(value, str) else value
    if name in available:
        return name
    if name in SPLITS:
        why = f" ({missing})" if missing else ""
        raise ValueError(f"{family} has no {name!r} split{why}; choose one of {list(available)}")
    known = list(available) + sorted(aliases or {})
    raise ValueError(f"split must be one of {known}, got {value!r}")


def warn_renamed(old: str, new: str, why: str = "", stacklevel: int = 3) -> None:
    """Warn (``DeprecationWarning``) that the old form ``old`` is now spelt ``new``.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     warn_renamed("difficulty='easy'", "preset='easy'", "difficulty is a float now")
        >>> str(caught[0].message)
        "difficulty='easy' is deprecated and will stop working in the next version: use preset='easy' (difficulty is a float now)"
    """
    warnings.warn(
        f"{old} is deprecated and will stop working in the next version: use {new}"
        + (f" ({why})" if why else ""),
        DeprecationWarning,
        stacklevel=stacklevel,
    )
