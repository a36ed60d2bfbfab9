"""A griffe extension for the docs build: ``Example:`` sections render as code.

The project's docstrings write their runnable example under ``Example:`` (the heading
Gymnasium uses). Griffe's Google parser reads only ``Examples:`` as an examples
section, whose ``>>>`` lines become highlighted code; under ``Example:`` they would be
plain Markdown, where ``d["a"]["b"]`` reads as a reference link. The source keeps its
heading; the docs build renames it on load.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

__all__ = ["DoctestExamples"]

_HEADING = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class DoctestExamples(griffe.Extension):
    """Rename ``Example:`` to ``Examples:`` in every docstring griffe loads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite the heading of ``obj``'s docstring, if it has one."""
        if obj.docstring is not None:
            obj.docstring.value = _HEADING.sub(r"\1Examples:", obj.docstring.value)
