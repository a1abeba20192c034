"""A run directory: the fully resolved config with provenance, checkpoints, scores and metrics side by side.

    RUN/config.json        resolved config + provenance (versions, git commit, host, time) of the training
    RUN/analyze_config.json  the effective config of the latest analyze
    RUN/score_sets.json    every score set's settings, config and provenance (wsnas.core.score_sets)
    RUN/score_timings.csv  seconds per scored subnet
    RUN/checkpoints/       epoch_XXXX.pt (written by wsnas.supernets.checkpoints)
    RUN/train_log.csv      one row per epoch
    RUN/scores.csv         supernet scores of the evaluated archs
    RUN/metrics.json       ranking metrics against the ground truth
"""
from __future__ import annotations

import json
import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from wsnas.core import VERSION as __version__
from wsnas.core.atomic import atomic_path, write_json
from wsnas.core.config import Config, config_from_dict, diff_configs
from wsnas.core.errors import WsnasError
from wsnas.core.run_files import CONFIG, METRICS, SCORES, TEXT_COLUMNS, TRAIN_LOG
from wsnas.core.score_sets import with_score_set

# Keys a resumed run may change without invalidating what is already there.
RESUME_FREE_KEYS = ("runtime.", "eval.", "analysis.", "data.root", "data.mirror", "replicates")


class RunError(WsnasError):
    """A run directory that is missing, incomplete, or belongs to another config."""


def read_table(path: str | Path) -> pd.DataFrame:
    """A scores-like CSV, arch keys kept as text (never parsed into numbers, so no leading zero is lost)."""
    return pd.read_csv(path, dtype=TEXT_COLUMNS)


def read_scores_table(path: str | Path) -> pd.DataFrame:
    """A scores table (read_table); rows written before score sets existed get their legacy score set."""
    return with_score_set(read_table(path))


def package_version(name: str) -> str | None:
    """The installed version of a distribution, None when it is not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def provenance() -> dict[str, Any]:
    """Versions, git commit and host, saved with every run."""
    packages = {name: package_version(name) for name in ("torch", "numpy", "scipy", "pandas")}
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                                cwd=Path(__file__).resolve().parent).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"wsnas": __version__, "python": sys.version.split()[0], "packages": packages, "git_commit": commit,
            "host": platform.node(), "platform": platform.platform(),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}


class RunDir:
    """Paths and bookkeeping of one run."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def scores_path(self) -> Path:
        return self.path / SCORES

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS

    @property
    def train_log_path(self) -> Path:
        return self.path / TRAIN_LOG

    def init(self, cfg: Config) -> None:
        """Create the run, or check that an existing one was made with a compatible config."""
        if self.config_path.exists():
            saved = self.config().to_dict()  # keys added to wsnas since the run was made read as their defaults
            diffs = {k: v for k, v in diff_configs(saved, cfg.to_dict()).items()
                     if not k.startswith(RESUME_FREE_KEYS)}
            if diffs:
                lines = "; ".join(f"{k}: saved {a!r}, now {b!r}" for k, a, b in
                                  ((k, *v) for k, v in diffs.items()))
                raise RunError(f"run {self.path} was made with a different config ({lines}). "
                               f"Rerun with the saved values, or choose a new --run-dir.")
            return
        self.path.mkdir(parents=True, exist_ok=True)
        write_json(self.config_path, {"config": cfg.to_dict(), "provenance": provenance()})

    def record(self, stage: str, cfg: Config) -> None:
        """Save the effective config of a stage (analyze) beside its results."""
        write_json(self.path / f"{stage}_config.json", {"config": cfg.to_dict(), "provenance": provenance()})

    def saved_tree(self) -> dict[str, Any]:
        if not self.config_path.is_file():
            raise RunError(f"{self.path} is not a wsnas run (no config.json); create one with `wsnas train`")
        try:
            return json.loads(self.config_path.read_text())
        except json.JSONDecodeError as exc:
            raise RunError(f"{self.config_path} is corrupt ({exc}); restore it or start a new run") from None

    @property
    def kind(self) -> str | None:
        """What made the directory: 'run' (wsnas train/study), 'audit', 'correlate'; None without a config.json."""
        if not self.config_path.is_file():
            return None
        return self.saved_tree().get("kind", "run")

    def config(self) -> Config:
        return config_from_dict(self.saved_tree()["config"])

    def read_scores(self) -> pd.DataFrame:
        if not self.scores_path.is_file():
            raise RunError(f"run {self.path} has no scores.csv yet; run `wsnas evaluate {self.path}` first")
        return read_scores_table(self.scores_path)

    def write_table(self, path: Path, table: pd.DataFrame) -> None:
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=False)

    def write_epoch_rows(self, path: Path, rows: list[dict[str, Any]], epoch: int,
                         text_columns: tuple[str, ...] = ()) -> None:
        """Add one epoch's rows to the per-epoch table at `path`, replacing its rows of that epoch or later (an
        epoch rerun after a kill); `text_columns` are read back as text."""
        table = pd.DataFrame(rows)
        if path.is_file():
            old = pd.read_csv(path, dtype=dict.fromkeys(text_columns, str))
            table = pd.concat([old[old.epoch < epoch], table], ignore_index=True)
        self.write_table(path, table)
