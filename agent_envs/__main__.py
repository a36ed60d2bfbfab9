"""``python -m agent_envs``: same as the ``agent-envs`` command."""

from agent_envs.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
