"""pytest: skip the doctests of adapter modules whose framework is not installed here.

``skyrl.py``, ``verl_agent_loop.py`` and ``verifiers_taskset.py`` subclass the
framework's own classes, so they import it; their doctests run in the framework environments that
``scripts/install_frameworks.sh`` builds (see ``.ci/run``).
"""

import importlib.util

__all__ = ["collect_ignore"]

collect_ignore = [
    module
    for module, framework in (
        ("skyrl.py", "skyrl_gym"),
        ("verl_agent_loop.py", "verl"),
        ("verifiers_taskset.py", "verifiers"),
    )
    if importlib.util.find_spec(framework) is None
]
