"""Text games: TextWorld adventures and ALFWorld household tasks.

``textworld`` and ``alfworld`` (the ``textworld`` extra) are imported only when a game is
generated or played, so importing this package is cheap.
"""

from agent_envs.textgames.alfworld_env import ALFWorldEnv
from agent_envs.textgames.cache import GameCache, default_cache_dir
from agent_envs.textgames.commands import extract_command
from agent_envs.textgames.textworld_env import TextWorldEnv

__all__ = ["TextWorldEnv", "ALFWorldEnv", "GameCache", "default_cache_dir", "extract_command"]
