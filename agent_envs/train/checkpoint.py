"""Checkpoints: the policy in Hugging Face format plus the trainer's state, saved atomically."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["save_checkpoint", "load_trainer_state", "CHECKPOINT_DIR"]

#: Folder name of the latest checkpoint inside the run's output folder.
CHECKPOINT_DIR = "checkpoint"


def save_checkpoint(
    out_dir: str | Path, *, model: Any, tokenizer: Any, state: dict[str, Any], config: dict
) -> Path:
    """Write ``OUT/checkpoint/`` (model, tokenizer, ``trainer_state.pt``, ``config.json``).

    The folder is written beside the old one and swapped in, so a crash mid-save leaves
    the previous checkpoint intact. ``from_pretrained(OUT/checkpoint)`` loads the policy.

    Example:
        >>> import tempfile, torch
        >>> from agent_envs.train.policy import load_policy
        >>> _ = torch.manual_seed(0)
        >>> model, tok = load_policy("tiny")
        >>> path = save_checkpoint(tempfile.mkdtemp(), model=model, tokenizer=tok,
        ...                        state={"step": 3}, config={"algo": "grpo"})
        >>> load_trainer_state(path)["step"]
        3
    """
    import torch

    out = Path(out_dir)
    final, tmp, old = (out / CHECKPOINT_DIR, out / f"{CHECKPOINT_DIR}.tmp",
                       out / f"{CHECKPOINT_DIR}.old")  # fmt: skip
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    rng = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }
    torch.save({**state, "rng": rng}, tmp / "trainer_state.pt")
    (tmp / "train_config.json").write_text(json.dumps(config, indent=2, default=str))
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def load_trainer_state(path: str | Path, *, restore_rng: bool = True) -> dict[str, Any]:
    """Read ``trainer_state.pt`` of a checkpoint; restore the random generators by default."""
    import torch

    state = torch.load(Path(path) / "trainer_state.pt", map_location="cpu", weights_only=False)
    rng = state.get("rng")
    if restore_rng and rng:
        random.setstate(rng["python"])
        np.random.set_state(rng["numpy"])
        torch.set_rng_state(rng["torch"])
        if rng.get("cuda") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
    return state
