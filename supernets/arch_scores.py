"""Score a chosen list of a run's archs, under one or more fine-tuning budgets, into a table of its own.

The studies use this rather than `wsnas evaluate`: they choose the archs (a pruned pool) or score every arch
several times (fine-tuning budgets), and they keep those scores out of RUN/scores.csv, so `wsnas analyze` never
mixes them with the run's plain scores. Scoring is `score_subnet` as in `wsnas evaluate`, at the newest
checkpoint (or the last of eval.epochs), through the same SubnetScorer. Resumable: rows
already in the table are not recomputed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd
from tqdm.auto import tqdm

from wsnas.benchmarks.registry import get_space
from wsnas.core.config import Config
from wsnas.core.run_files import BN_POLICY, EPOCH, FINETUNE, KEY, SCORE_KEY, SUPERNET_ACC
from wsnas.core.runs import RunDir, read_scores_table
from wsnas.supernets.evaluate import SubnetScorer, eval_epochs
from wsnas.supernets.finetune import FineTuning
from wsnas.supernets.autotune import autotuned_runtime

_SAVE_EVERY = 50  # rows between intermediate writes of the table


def score_archs(cfg: Config, run: RunDir, archs: Sequence[Any], table: Path, finetune_batches: Sequence[int],
                index_of: Callable[[str], int] | None = None, log=print) -> pd.DataFrame:
    """Rows of `table` (scores.csv columns) for every arch x budget, scoring what is missing.

    Each budget is its own score set (registered in RUN/score_sets.json like `wsnas evaluate`'s)."""
    rt = autotuned_runtime(cfg, "evaluate", run, log)  # the run's recorded choice, as `wsnas evaluate` uses
    space = get_space(cfg.space)
    epoch = eval_epochs(cfg, run)[-1]
    scorer = SubnetScorer(cfg, rt, index_of)
    finetunes = {n: FineTuning.from_config(cfg, scorer.train_set, n) for n in set(finetune_batches)}
    sets = {n: scorer.register(run, finetunes[n]) for n in finetunes}
    wanted = pd.DataFrame([(space.format(a), epoch, sets[n]) for n in finetune_batches for a in archs],
                          columns=SCORE_KEY)
    saved = read_scores_table(table) if table.is_file() else pd.DataFrame(columns=[*SCORE_KEY, SUPERNET_ACC])
    done = set(map(tuple, saved[SCORE_KEY].itertuples(index=False)))
    todo = [(n, a) for n in finetune_batches for a in archs if (space.format(a), epoch, sets[n]) not in done]
    if todo:
        scorer.load(run, epoch)
        log(f"[score] {run.path}: {len(todo)} subnet scores to compute ({len(archs)} archs, fine-tuning batches "
            f"{list(finetune_batches)}, epoch {epoch}), {scorer.describe()}")
        pending: list[dict[str, Any]] = []
        rows = (row for n in dict.fromkeys(n for n, _ in todo)
                for row in scorer.score_many([a for m, a in todo if m == n], finetunes[n]))
        for row in tqdm(rows, total=len(todo), desc="score", unit="subnet", disable=not cfg.runtime.progress,
                        dynamic_ncols=True):
            pending.append(row)
            if len(pending) == _SAVE_EVERY:
                saved, pending = _merge(run, table, saved, pending), []
        if pending:
            saved = _merge(run, table, saved, pending)
    else:
        log(f"[score] {run.path}: all {len(archs)} archs x fine-tuning batches {list(finetune_batches)} already "
            f"scored in {table}")
    return saved.merge(wanted, on=SCORE_KEY)


def _merge(run: RunDir, table: Path, saved: pd.DataFrame, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """`saved` plus `rows` (new rows win), written atomically to `table`."""
    merged = pd.concat([saved, pd.DataFrame(rows)], ignore_index=True) if len(saved) else pd.DataFrame(rows)
    # the order of `wsnas evaluate`'s scores.csv within a budget, so bootstrap intervals match `wsnas analyze`
    merged = merged.drop_duplicates(SCORE_KEY, keep="last")
    merged = merged.sort_values([EPOCH, BN_POLICY, FINETUNE, KEY])
    run.write_table(table, merged)
    return merged
