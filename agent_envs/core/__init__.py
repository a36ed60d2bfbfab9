"""The contract every agent-envs environment keeps: text spaces, info keys, forking."""

from agent_envs.core.arguments import check_difficulty, check_split
from agent_envs.core.checks import GARBAGE_ACTIONS, check_text_env
from agent_envs.core.info import RESET_INFO_KEYS, STEP_INFO_KEYS, TurnOutcome
from agent_envs.core.jsonable import to_jsonable
from agent_envs.core.parsing import (
    Assignments,
    extract_code_blocks,
    extract_json_objects,
    extract_tool_calls,
    parse_assignments,
    parse_si_number,
)
from agent_envs.core.spaces import UnicodeText, truncate_text
from agent_envs.core.text_env import TextEnv

__all__ = [
    "TextEnv",
    "check_text_env",
    "GARBAGE_ACTIONS",
    "TurnOutcome",
    "UnicodeText",
    "truncate_text",
    "STEP_INFO_KEYS",
    "RESET_INFO_KEYS",
    "Assignments",
    "extract_code_blocks",
    "extract_json_objects",
    "extract_tool_calls",
    "parse_assignments",
    "parse_si_number",
    "to_jsonable",
    "check_difficulty",
    "check_split",
]
