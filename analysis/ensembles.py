"""Checkpoint ensembles (eval.ensemble_epochs; the record: wsnas.benchmarks.ranking_methods.checkpoint_ensemble):
a score set computed from a run's per-checkpoint scores, no torch.

An arch's ensemble score is its mean rank over the chosen checkpoints: at each checkpoint the archs scored at every
chosen checkpoint are ranked by their supernet accuracy (1 = the lowest, ties share their mean rank, so a higher
score is better as with accuracy), and the ranks are averaged. The ensemble is built from one score set, the one
`wsnas studies` uses (the run's own evaluation settings: wsnas.analysis.studies.inputs.choose_score_set), chosen on
the first member of a group and the same for every member. Its rows carry the score set label
`ensemble:E1+E2+...` (say `wsnas compare RUN@score_set=ensemble:10+15+20 RUN`), the last chosen checkpoint as
their epoch, no loss, and the score set they are built from (column BASE); the analysis treats them as any result. Its cost is the scoring of each chosen
checkpoint once: nothing beyond the per-checkpoint score sets it reads.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from wsnas.core.errors import WsnasError
from wsnas.core.run_files import EPOCH, KEY, SCORE_SET, SUPERNET_ACC, SUPERNET_LOSS

PREFIX = "ensemble:"
BASE = "ensemble_of"  # a column of the ensemble's rows (in memory only): the score set it is built from


def ensemble_label(epochs: Sequence[int]) -> str:
    """The score set label of the ensemble of `epochs`: 'ensemble:10+15+20'."""
    return PREFIX + "+".join(str(int(e)) for e in epochs)


def ensemble_epochs(label: str) -> list[int] | None:
    """The checkpoints of an ensemble label, None for any other score set."""
    if not label.startswith(PREFIX):
        return None
    parts = label[len(PREFIX):].split("+")
    if not all(part.strip().isdecimal() for part in parts):
        raise WsnasError(f"score set {label!r}: an ensemble names its checkpoints as {PREFIX}E1+E2+..., e.g. "
                         f"{PREFIX}10+15+20")
    return [int(part) for part in parts]


def check_epochs(epochs: Sequence[int]) -> list[int]:
    """The ensemble's checkpoints in order; one clear error for fewer than two, or a repeated one."""
    chosen = sorted(int(e) for e in epochs)
    if len(chosen) < 2 or len(set(chosen)) != len(chosen):
        raise WsnasError(f"eval.ensemble_epochs={list(epochs)}: an ensemble needs two or more distinct checkpoints, "
                         f"e.g. eval.ensemble_epochs=[10,15,20]")
    return chosen


def ensemble_rows(table: pd.DataFrame, epochs: Sequence[int], score_set: str, where: str) -> pd.DataFrame:
    """The ensemble's rows of one member's joined scores (`table`) in score set `score_set`: per arch scored at
    every checkpoint of `epochs`, its mean rank over them (module docstring). `where` names the run in errors."""
    chosen = check_epochs(epochs)
    scores = table[(table[SCORE_SET] == score_set) & table[EPOCH].isin(chosen)]
    missing = sorted(set(chosen) - set(scores[EPOCH].astype(int)))
    if missing:
        raise WsnasError(f"{where} has no scores at epochs {missing} in score set {score_set}, so no "
                         f"{ensemble_label(chosen)}; score them with `wsnas evaluate {where} --set "
                         f"eval.epochs=[{','.join(map(str, chosen))}]` (the checkpoints must be kept: "
                         f"train.checkpoint_every)")
    wide = scores.pivot_table(index=KEY, columns=EPOCH, values=SUPERNET_ACC, aggfunc="first").dropna()
    if wide.empty:
        raise WsnasError(f"{where}: no arch is scored at every one of epochs {chosen} in score set {score_set}")
    ranks = np.column_stack([rankdata(wide[e].to_numpy(dtype=float)) for e in chosen])
    last = scores[scores[EPOCH] == chosen[-1]].drop_duplicates(KEY).set_index(KEY).loc[wide.index].reset_index()
    return last.assign(**{SCORE_SET: ensemble_label(chosen), SUPERNET_ACC: ranks.mean(axis=1),
                          SUPERNET_LOSS: np.nan, BASE: score_set})
