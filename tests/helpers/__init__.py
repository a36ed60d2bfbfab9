"""Plain helpers shared by several test folders: scripted envs, test policies, reply corpora, sandbox probes.

pytest puts ``tests/`` on ``sys.path`` (``pythonpath = ["tests"]`` in ``pyproject.toml``), so
test modules import ``helpers.<module>`` in both import modes, and worker processes that
pytest spawns resolve ``"helpers.policies:Bisection"`` or ``"helpers.blackbox_env:Test-BlackBox-v0"``.
Fixtures live in the ``conftest.py`` files, not here.
"""
