"""Tool-integrated math: problem sources, answer checking, and the ``MathTIR-v0`` env."""

from agent_envs.math.env import MathTIREnv
from agent_envs.math.grading import AnswerChecker, Grade, extract_boxed, parse_exact_number
from agent_envs.math.problems import AREAS, LEVELS, Problem, generate_problem
from agent_envs.math.sources import (
    SAMPLE_PROBLEMS_PATH,
    ProblemSet,
    ProceduralProblems,
    load_problems,
)

__all__ = [
    "MathTIREnv",
    "AnswerChecker",
    "Grade",
    "extract_boxed",
    "parse_exact_number",
    "Problem",
    "AREAS",
    "LEVELS",
    "generate_problem",
    "ProblemSet",
    "ProceduralProblems",
    "load_problems",
    "SAMPLE_PROBLEMS_PATH",
]
