"""Replicate groups: R supernets that differ only in their training seed, trained and scored on the same split and
the same arch sample (no torch).

    GROUP/group.json     the group's config (the base seed included), its members and provenance
    GROUP/rep-<r>/       member r: a complete run directory, trained with train.seed = base seed + r
    GROUP/metrics.json   the replicated figures (wsnas analyze GROUP)
    GROUP/studies/       the group's studies

Every command that takes a run directory takes a group too; `runs_of(path)` gives the runs either way.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from wsnas.core.atomic import write_json
from wsnas.core.config import Config, config_from_dict, diff_configs
from wsnas.core.errors import WsnasError
from wsnas.core.run_files import CONFIG, GROUP, MEMBER_PREFIX, METRICS
from wsnas.core.runs import RESUME_FREE_KEYS, RunDir, RunError, provenance



class GroupError(WsnasError):
    """A replicate group that is missing, incomplete, or belongs to another config."""


def is_group(path: str | Path) -> bool:
    return (Path(path) / GROUP).is_file()


def member_config(cfg: Config, replicate: int) -> Config:
    """The config of member `replicate`: the group's, with train.seed = the base seed + replicate."""
    member = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, seed=cfg.train.seed + replicate))
    return member


class ReplicateGroup:
    """Paths and bookkeeping of one replicate group."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def file(self) -> Path:
        return self.path / GROUP

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS

    def member(self, replicate: int) -> RunDir:
        return RunDir(self.path / f"{MEMBER_PREFIX}{replicate}")

    def init(self, cfg: Config) -> None:
        """Create the group, or check that an existing one was made with the same config and replicates."""
        if self.file.exists():
            saved = self.saved()
            diffs = {k: v for k, v in diff_configs(saved["config"], cfg.to_dict()).items()
                     if not k.startswith(RESUME_FREE_KEYS)}
            if diffs:
                lines = "; ".join(f"{k}: saved {a!r}, now {b!r}" for k, (a, b) in diffs.items())
                raise GroupError(f"replicate group {self.path} was made with a different config ({lines}). Rerun "
                                 f"with the saved values, or choose a new --run-dir.")
            if cfg.replicates < saved["replicates"]:
                raise GroupError(f"replicate group {self.path} has {saved['replicates']} replicates; --replicates "
                                 f"{cfg.replicates} would leave some out: rerun with {saved['replicates']} or more")
            if cfg.replicates > saved["replicates"]:  # more replicates: the existing ones are kept as they are
                write_json(self.file, {**saved, **self._members(cfg),
                                       "config": {**saved["config"], "replicates": cfg.replicates}})
            return
        if (self.path / CONFIG).exists():
            raise GroupError(f"{self.path} is a single run, not a replicate group; choose a new --run-dir for "
                             f"{cfg.replicates} replicates (or --replicates 1 to continue that run)")
        self.path.mkdir(parents=True, exist_ok=True)
        write_json(self.file, {"kind": "replicate-group", **self._members(cfg), "config": cfg.to_dict(),
                               "provenance": provenance()})

    def _members(self, cfg: Config) -> dict[str, Any]:
        return {"replicates": cfg.replicates, "members": [self.member(r).path.name for r in range(cfg.replicates)],
                "seeds": [cfg.train.seed + r for r in range(cfg.replicates)]}

    def saved(self) -> dict[str, Any]:
        if not self.file.is_file():
            raise GroupError(f"{self.path} is not a replicate group (no {GROUP}); make one with "
                             f"`wsnas study --replicates R`")
        try:
            tree = json.loads(self.file.read_text())
        except (OSError, ValueError) as exc:
            raise GroupError(f"{self.file} is corrupt ({exc}); restore it, or start a new group") from None
        if not isinstance(tree, dict) or "members" not in tree or "config" not in tree:
            raise GroupError(f"{self.file} lacks members or config; it was not written by wsnas")
        return tree

    def config(self) -> Config:
        return config_from_dict(self.saved()["config"])

    def members(self) -> list[RunDir]:
        """The member runs, in replicate order; each must exist."""
        runs = [RunDir(self.path / name) for name in self.saved()["members"]]
        missing = [r.path.name for r in runs if not r.config_path.is_file()]
        if missing:
            raise GroupError(f"replicate group {self.path} lacks members {', '.join(missing)}; rerun the `wsnas "
                             f"study` that made it (it resumes)")
        return runs


def runs_of(path: str | Path) -> list[RunDir]:
    """The runs of a directory: a group's members, or the run itself."""
    if is_group(path):
        return ReplicateGroup(path).members()
    run = RunDir(path)
    if not run.config_path.is_file():
        raise RunError(f"{path} is neither a wsnas run (config.json) nor a replicate group ({GROUP}); "
                       f"make one with `wsnas study`")
    return [run]
