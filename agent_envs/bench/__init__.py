"""The benchmark command: run policies on an id, write episodes, a summary and plots.

``agent-envs bench ID --policy random,bo --episodes 20 --budget 30 --out DIR`` plays
every policy on the same seeds, in parallel processes, and resumes when re-run.
"""

from agent_envs.bench.runner import BenchConfig, check_policies, load_records, run_bench
from agent_envs.bench.stats import summarize
from agent_envs.bench.task import EpisodeTask, episode_record, play_task

__all__ = [
    "BenchConfig",
    "EpisodeTask",
    "episode_record",
    "check_policies",
    "load_records",
    "run_bench",
    "play_task",
    "summarize",
]
