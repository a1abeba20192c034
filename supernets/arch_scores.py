"""Score a chosen list of a run's archs, under one or more fine-tuning budgets, into a table of its own.

The studies use this rather than `wsnas evaluate`: they choose the archs (a pruned pool) or score every arch
several times (fine-tuning budgets), and they keep those scores out of RUN/scores.csv, so `wsnas analyze` never
mixes them with the run's plain scores. Scoring is `score_subnet` as in `wsnas evaluate`, at the newest
checkpoint (or the last of eval.epochs); each row also holds the seconds its subnet took. Resumable: rows
already in the table are not recomputed.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd
from tqdm.auto import tqdm

from wsnas.benchmarks.registry import get_space
from wsnas.config import Config
from wsnas.runs import RunDir
from wsnas.supernets.checkpoints import checkpoint_path, load_checkpoint
from wsnas.supernets.data import prepare_split
from wsnas.supernets.evaluate import SCORE_KEY, eval_epochs, materialize, score_subnet
from wsnas.supernets.finetune import FineTuning
from wsnas.supernets.runtime import resolve_runtime
from wsnas.supernets.train import build_model

_SAVE_EVERY = 50  # rows between intermediate writes of the table


def score_archs(cfg: Config, run: RunDir, archs: Sequence[Any], table: Path, finetune_batches: Sequence[int],
                index_of: Callable[[str], int] | None = None, log=print) -> pd.DataFrame:
    """Rows of `table` (scores.csv columns plus `seconds`) for every arch x budget, scoring what is missing."""
    rt = resolve_runtime(cfg.runtime)
    space = get_space(cfg.space)
    e = cfg.eval
    epoch = eval_epochs(cfg, run)[-1]
    wanted = pd.DataFrame([(space.format(a), epoch, e.bn_policy, n) for n in finetune_batches for a in archs],
                          columns=SCORE_KEY)
    saved = pd.read_csv(table) if table.is_file() else pd.DataFrame(columns=[*SCORE_KEY, "supernet_acc"])
    done = set(map(tuple, saved[SCORE_KEY].itertuples(index=False)))
    todo = [(n, a) for n in finetune_batches for a in archs if (space.format(a), epoch, e.bn_policy, n) not in done]
    if todo:
        train_set, valid_set = prepare_split(cfg.data, rt.device)
        calib = materialize(train_set, cfg.train.batch_size, e.calib_batches, e.seed, rt, shuffle=True)
        evaluation = materialize(valid_set, e.batch_size, None, e.seed, rt, shuffle=False)
        finetunes = {n: FineTuning.from_config(cfg, train_set, n) for n in set(finetune_batches)}
        model = build_model(cfg, rt)
        model.load_state_dict(load_checkpoint(checkpoint_path(run.checkpoint_dir, epoch), rt.device)["model"])
        log(f"[score] {run.path}: {len(todo)} subnet scores to compute ({len(archs)} archs, fine-tuning batches "
            f"{list(finetune_batches)}, epoch {epoch}, bn_policy={e.bn_policy})")
        pending: list[dict[str, Any]] = []
        for n, arch in tqdm(todo, desc="score", unit="subnet", disable=not cfg.runtime.progress, dynamic_ncols=True):
            began = time.perf_counter()
            acc, loss = score_subnet(model, arch, calib, evaluation, rt, e.bn_policy, finetunes[n])
            key = space.format(arch)
            pending.append({"key": key, "index": index_of(key) if index_of else None,
                            "function_key": str(space.function_key(arch)), "epoch": epoch, "bn_policy": e.bn_policy,
                            "calib_batches": len(calib) if e.bn_policy == "recalibrate" else 0, "finetune_batches": n,
                            "n_eval": len(valid_set), "supernet_acc": acc, "supernet_loss": loss,
                            "seconds": time.perf_counter() - began})
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
    merged = merged.sort_values(["epoch", "bn_policy", "finetune_batches", "key"])
    run.write_table(table, merged)
    return merged
