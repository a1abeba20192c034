"""Epoch checkpoints of a supernet run: atomic writes, resume from the newest, clear errors when corrupt."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from wsnas.core.atomic import atomic_path
from wsnas.core.errors import WsnasError
from wsnas.core.run_files import CHECKPOINT, CHECKPOINT_PATTERN

_NAME = re.compile(CHECKPOINT_PATTERN)


class CheckpointError(WsnasError):
    """A checkpoint that is missing, truncated or not a wsnas checkpoint."""


def checkpoint_path(directory: Path, epoch: int) -> Path:
    return directory / CHECKPOINT.format(epoch=epoch)


def saved_epochs(directory: Path) -> list[int]:
    """Epochs that have a checkpoint, ascending."""
    if not directory.is_dir():
        return []
    return sorted(int(m.group(1)) for p in directory.iterdir() if (m := _NAME.match(p.name)))


def save_checkpoint(directory: Path, epoch: int, state: dict[str, Any]) -> Path:
    path = checkpoint_path(directory, epoch)
    with atomic_path(path) as tmp:
        torch.save({"wsnas_checkpoint": 1, "epoch": epoch, **state}, tmp)
    return path


def load_checkpoint(path: Path, map_location: torch.device | str = "cpu") -> dict[str, Any]:
    """Load a checkpoint; a truncated or foreign file raises one clear CheckpointError."""
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; train first (`wsnas train`)")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged zip/pickle
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated ({type(exc).__name__}: {exc}). "
                              f"Delete it: training resumes from the previous checkpoint.") from None
    if not isinstance(state, dict) or state.get("wsnas_checkpoint") != 1:
        raise CheckpointError(f"{path} is not a wsnas checkpoint; remove it from {path.parent}")
    return state


def prune_checkpoints(directory: Path, keep_every: int, last: int) -> None:
    """Delete checkpoints that are neither every `keep_every` epochs nor the newest."""
    for epoch in saved_epochs(directory):
        if epoch != last and epoch % keep_every != 0:
            checkpoint_path(directory, epoch).unlink(missing_ok=True)
