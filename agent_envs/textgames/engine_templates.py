"""Warm templates: engine processes that imported the game libraries once, to be forked.

Importing ``textworld`` (and ALFWorld's wrappers) costs ~1 s of CPU, 4-6 s on a loaded
machine. Each process that plays text games keeps one template per set of modules: a
child that imported them and then only answers ``fork`` requests. Every engine process
(and every game generator) is an ``os.fork`` copy of it, so it starts with the libraries
loaded. A template adopts and reaps copies whose parent died (it is their subreaper on
Linux), exits with the process that started it, and :func:`close_templates` stops it
earlier.
"""

from __future__ import annotations

import atexit
import threading

from agent_envs.core.child_process import ChildProcess
from agent_envs.textgames.engine_process import ENGINE_HANDLER

__all__ = ["ENGINE_PRELOAD", "TEMPLATE_START_TIMEOUT_S", "fork_template", "close_templates"]

#: Modules a warm template imports once; engine processes are ``os.fork`` copies of it.
ENGINE_PRELOAD = (
    "textworld",
    "textworld.generator",
    "textworld.challenges",
    "alfworld.agents.environment.alfred_tw_env",
)
#: Time limit for starting a template (a fresh interpreter importing :data:`ENGINE_PRELOAD`).
TEMPLATE_START_TIMEOUT_S = 300.0
_TEMPLATES: dict[tuple[str, ...], ChildProcess] = {}
_TEMPLATES_LOCK = threading.Lock()
_AT_EXIT: list[bool] = []  # whether close_templates is registered with atexit


def fork_template(preload: tuple[str, ...]) -> ChildProcess:
    """An engine process forked from this process's template for ``preload`` (started once).

    Modules that are not installed are skipped. Raises
    :class:`~agent_envs.core.child_process.ChildFailure` when the template cannot
    be started or forked.

    Example:
        >>> engine = fork_template(("json",))
        >>> engine.call(("open", "agent_envs.textgames.engine_process:echo_engine", {}), 60)
        >>> engine.call(("step", "hi"), 10)["feedback"]
        'you said hi'
        >>> engine.close(); close_templates()
    """
    with _TEMPLATES_LOCK:
        if not _AT_EXIT:
            atexit.register(close_templates)
            _AT_EXIT.append(True)
        template = _TEMPLATES.get(preload)
        if template is None or not template.owned or not template.running:
            template = ChildProcess(ENGINE_HANDLER)
            _TEMPLATES[preload] = template
            template.call(["preload", list(preload)], TEMPLATE_START_TIMEOUT_S)
        return template.fork(TEMPLATE_START_TIMEOUT_S)


def close_templates() -> None:
    """Stop this process's warm templates (they also exit with it); safe to call twice.

    Example:
        >>> close_templates()
    """
    with _TEMPLATES_LOCK:
        templates = list(_TEMPLATES.values())
        _TEMPLATES.clear()
    for template in templates:
        template.close()
