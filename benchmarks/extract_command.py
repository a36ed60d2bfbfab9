"""Time of ``extract_command`` on adversarial replies: it must grow linearly with length.

For each kind of reply (unclosed ``<command>`` tags, long label lines, runs of list
markers...) the time at length n and 4n is measured (best of several runs) and the
ratio printed: about 4 means linear, about 16 quadratic. The first implementation's
regular expressions are timed beside it as the baseline.

    PYTHONPATH=$PWD python benchmarks/extract_command.py [--length 16000]
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable

from agent_envs.textgames.commands import extract_command

# the first implementation's patterns (quadratic on the replies below)
_OLD_TAG = re.compile(r"<command>(.*?)</command>", re.DOTALL | re.IGNORECASE)
_OLD_LABEL = re.compile(
    r"^\s*(?:[*_#>-]\s*)*(?:command|action)\s*[*_]*\s*:\s*[*_]*\s*(.*)$", re.IGNORECASE
)


def _old_search(reply: str) -> None:
    if not _OLD_TAG.findall(reply):
        for line in reply.splitlines():
            _OLD_LABEL.match(line)


REPLIES: dict[str, Callable[[int], str]] = {
    "unclosed <command> tags": lambda n: "<command>" * (n // 9),
    "tags with text, unclosed": lambda n: "<command>x " * (n // 11),
    "label then spaces": lambda n: "command" + " " * n + "x",
    "list markers": lambda n: "- " * (n // 2) + "x",
    "plain long line": lambda n: "a" * n,
}


def _best_time(function: Callable[[str], object], reply: str, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function(reply)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    """Print, per reply kind, the time at n and 4n characters and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    n = args.length
    print(f"{'reply':28s} {'n ms':>9s} {'4n ms':>9s} {'ratio':>6s} | old: {'n ms':>9s} ratio")
    for name, make in REPLIES.items():
        small, large = make(n), make(4 * n)
        new = [_best_time(extract_command, r, args.repeats) for r in (small, large)]
        old = [_best_time(_old_search, r, 1) for r in (small, large)]
        print(
            f"{name:28s} {new[0] * 1e3:9.3f} {new[1] * 1e3:9.3f} {new[1] / new[0]:6.1f} | "
            f"old: {old[0] * 1e3:9.3f} {old[1] / old[0]:5.1f}"
        )


if __name__ == "__main__":
    main()
