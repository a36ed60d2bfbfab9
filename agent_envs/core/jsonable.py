"""``to_jsonable``: make any ``info`` value safe to write as JSON."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """Turn ``value`` into plain JSON data: numpy to Python, non-finite floats to None.

    Anything else that JSON cannot hold becomes its ``repr``.

    Example:
        >>> to_jsonable({"a": np.float32(0.5), "b": (1, float("nan")), 3: {1, 2}})
        {'a': 0.5, 'b': [1, None], '3': '{1, 2}'}
    """
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return repr(value)
