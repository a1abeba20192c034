"""A run's (or a replicate group's) scores joined with the ground truth, as the studies read them, and the
document every study writes (no torch).

Each study writes DIR/studies/<name>.json = {"study", "truth", "space", "run_dir", "config", "rows", "findings",
"available", ...}; `wsnas report` renders them. The ground truth is joined after scoring
(wsnas.analysis.score_summary.join_truth) and never feeds a supernet score. Every study uses one BN policy (the run's
eval.bn_policy when it was scored, else the first scored one) and one fine-tuning budget (the run's
eval.finetune_batches when it was scored, else the smallest scored one): fine-tuned and plain scores never mix.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wsnas.analysis.features import feature_table
from wsnas.analysis.score_summary import check_scores_meta, join_truth
from wsnas.benchmarks.groundtruth import GroundTruth, config_truth
from wsnas.core.atomic import write_json
from wsnas.core.config import Config
from wsnas.core.errors import WsnasError
from wsnas.core.groups import runs_of
from wsnas.core.run_files import FINETUNE, SCORE_SET, STUDIES_DIR
from wsnas.core.runs import RunDir
from wsnas.core.score_sets import SCORE_SETS_FILE, read_score_sets



class StudyError(WsnasError):
    """A study that cannot run on the given run or options."""


# ------------------------------------------------------------------------------------------------ inputs

@dataclass
class StudyInput:
    """A run's scores joined with one ground-truth column, and the score set the studies use (with its BN policy
    and fine-tuning)."""

    run: RunDir
    cfg: Config
    truth: GroundTruth
    metric: str
    joined: pd.DataFrame  # every score of the run, with a `truth` column
    score_set: str
    features: pd.DataFrame | None = None  # the archs' features by key (an audit's --features); None: the space's

    def features_of(self, keys: list[str]) -> pd.DataFrame:
        """The features of `keys` in order (wsnas.analysis.features' names): the given table's, else the space's
        SearchSpace.features."""
        if self.features is None:
            return feature_table(self.cfg.space, keys)
        return self.features.loc[keys].reset_index(drop=True)

    @property
    def feature_source(self) -> tuple[str, str, str]:
        """Where the features come from, for the studies' notes: (who provides them, the mechanism, the fix)."""
        if self.features is None:
            return f"space {self.cfg.space!r}", "SearchSpace.features", "implement SearchSpace.features"
        return "the audit's --features table", "--features", "add those columns to the --features table"

    @cached_property
    def scores(self) -> pd.DataFrame:
        """Every epoch's scores of the chosen score set."""
        return self.joined[self.joined[SCORE_SET] == self.score_set].reset_index(drop=True)

    @property
    def policy(self) -> str:
        return str(self.scores["bn_policy"].iloc[0])

    @property
    def finetune_batches(self) -> int:
        return int(self.scores[FINETUNE].iloc[0])

    @property
    def final_epoch(self) -> int:
        return int(self.scores["epoch"].max())

    def final(self) -> pd.DataFrame:
        """The scores of the newest epoch, one row per arch."""
        return self.scores[self.scores["epoch"] == self.final_epoch].reset_index(drop=True)

    def document(self, study: str, config: dict[str, Any], rows: list[dict[str, Any]],
                 findings: list[str], **extra: Any) -> dict[str, Any]:
        """The JSON every study writes: the shared fields, then the study's own."""
        return {"study": study, "truth": self.metric, "space": self.cfg.space, "run_dir": str(self.run.path),
                "available": True, "bn_policy": self.policy, FINETUNE: self.finetune_batches,
                SCORE_SET: self.score_set,
                "config": config, "rows": rows, "findings": findings, **extra}

    def unavailable(self, study: str, reason: str) -> dict[str, Any]:
        """A study this run's space cannot provide: no rows, and why."""
        return {**self.document(study, {}, [], [reason]), "available": False, "unavailable_because": reason}


def load_input(run_path: str | Path, metric: str | None = None, mirror: str | None = None,
               score_set: str | None = None) -> StudyInput:
    """Read a run's config and scores and join them with the ground truth (`metric`: default the run's), for one
    score set (choose_score_set)."""
    run = RunDir(run_path)
    cfg = run.config()
    metric = metric or cfg.analysis.truth
    truth = config_truth(cfg, mirror)
    check_scores_meta(run.path, truth)
    joined = join_truth(run.read_scores(), truth, metric)
    if joined.empty:
        raise StudyError(f"{run.scores_path} has no scores; run `wsnas evaluate {run.path}` first")
    return StudyInput(run, cfg, truth, metric, joined, choose_score_set(run, cfg, joined, score_set))


def load_inputs(path: str | Path, metric: str | None = None, mirror: str | None = None,
                score_set: str | None = None) -> list[StudyInput]:
    """One StudyInput per run of `path` (a replicate group's members, or the run), all on one score set."""
    runs = runs_of(path)
    first = load_input(runs[0].path, metric, mirror, score_set)
    rest = [load_input(run.path, metric, mirror, score_set or first.score_set) for run in runs[1:]]
    return [first, *rest]


def choose_score_set(run: RunDir, cfg: Config, joined: pd.DataFrame, wanted: str | None = None) -> str:
    """The score set studies use: `wanted` when given, else the first score set (in RUN/score_sets.json order)
    made with the run's eval.bn_policy and eval.finetune_batches (the run's own evaluation: rescoring with other
    settings later never changes what the studies show), else the first of the smallest fine-tuning budget under
    the first BN policy scored."""
    present = list(dict.fromkeys(joined[SCORE_SET]))
    if wanted is not None:
        if wanted not in present:
            raise StudyError(f"run {run.path} has no scores in score set {wanted!r}; its score sets: "
                             f"{', '.join(present)} (see {run.path / SCORE_SETS_FILE})")
        return wanted
    order = {k: i for i, k in enumerate(read_score_sets(run.path))}
    sets = joined.drop_duplicates(SCORE_SET)
    sets = sets.assign(order=[order.get(k, -1) for k in sets[SCORE_SET]])
    matching = sets[(sets["bn_policy"] == cfg.eval.bn_policy) & (sets[FINETUNE] == cfg.eval.finetune_batches)]
    if matching.empty:
        policy = sorted(sets["bn_policy"])[0]
        matching = sets[sets["bn_policy"] == policy]
        matching = matching[matching[FINETUNE] == matching[FINETUNE].min()]
    return str(matching.sort_values("order")[SCORE_SET].iloc[0])


def _clean(obj: Any) -> Any:
    """`obj` with NaN/inf floats as None and numpy scalars as Python numbers (strict JSON)."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_study(directory: str | Path, doc: dict[str, Any]) -> Path:
    """Write `doc` atomically to DIRECTORY/studies/<doc['study']>.json and return the path."""
    path = Path(directory) / STUDIES_DIR / f"{doc['study']}.json"
    write_json(path, _clean(doc))
    return path
