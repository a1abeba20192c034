"""Indexing: a run, replicate group, audit or correlation directory into the results database."""
from __future__ import annotations

import json
import math
import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

import pandas as pd

from wsnas.analysis.inference import SEEDS_FIXED
from wsnas.analysis.score_summary import finetune_batches
from wsnas.analysis.store.connection import StoreError, connect, default_db_path, transaction
from wsnas.analysis.store.schema import (AUDIT_COLUMN_COLUMNS, AUDIT_FILE_COLUMNS, RESULT_KEY, RUN_SCORE,
                                         SCORE_COLUMNS, TOPK_COLUMNS, score_set_label)
from wsnas.core.errors import WsnasError
from wsnas.core.groups import ReplicateGroup, is_group
from wsnas.core.run_files import FINETUNE, SCORE_SET
from wsnas.core.runs import RunDir


RESULT_IDENTITY = ("epoch", "bn_policy", FINETUNE, SCORE_SET, "n_archs", "topk", "score", "truth", "members",
                   "replicated", "baselines")  # result entries that are not metrics (members: their own runs)


@dataclass(frozen=True)
class IndexResult:
    """What index_run stored for one run."""

    run_id: str
    kind: str
    scores: int
    metrics: int
    topk: int



def _run_row(run_id: str, tree: dict[str, Any], kind: str | None = None, group_id: str | None = None,
             replicates: int = 1) -> dict[str, Any]:
    config = tree.get("config") or {}
    provenance = tree.get("provenance") or {}
    return {"run_id": run_id, "kind": kind or tree.get("kind", "run"), "group_id": group_id,
            "replicates": replicates, "space": config.get("space"),
            "dataset": (config.get("data") or {}).get("dataset"), "preset": config.get("preset"),
            "created": provenance.get("created"), "git_commit": provenance.get("git_commit"),
            "config_json": json.dumps(tree, sort_keys=True),
            "indexed_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def _score_rows(run_id: str, scores: pd.DataFrame) -> list[tuple]:
    table = scores.rename(columns={"index": "arch_index"}).assign(**{FINETUNE: finetune_batches(scores)})
    table = table.reindex(columns=list(SCORE_COLUMNS))
    table = table.astype(object).where(table.notna(), None)
    for column in ("arch_index", "epoch", "calib_batches", "n_eval"):
        table[column] = [None if v is None else int(v) for v in table[column]]
    return [(run_id, *row) for row in table.itertuples(index=False, name=None)]


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _metric_values(name: str, entry: Any, held: str | None
                   ) -> Iterator[tuple[str, float | None, float | None, float | None, str | None]]:
    """(metric, value, ci_low, ci_high, ci_conditions) of one result entry: a scalar, a {value, ci_low, ci_high}
    interval, or a nested dict whose scalars are named by their dotted path (ceiling.seed_vs_seed.kendall.mean).
    An interval's conditions are its own "conditions", else `held` (what the result's intervals hold fixed)."""
    if _is_scalar(entry):
        yield name, _number(entry), None, None, None
    elif isinstance(entry, dict):
        if "value" in entry:
            low = _number(entry.get("ci_low"))
            yield (name, _number(entry["value"]), low, _number(entry.get("ci_high")),
                   entry.get("conditions", held) if low is not None else None)
        for key, value in entry.items():
            if key not in ("value", "ci_low", "ci_high", "conditions"):
                yield from _metric_values(f"{name}.{key}", value, held)


def _result_rows(run_id: str, metrics: dict[str, Any], kind: str,
                 score: str = RUN_SCORE) -> tuple[list[tuple], list[tuple]]:
    """(metrics rows, topk rows) of a metrics.json of a directory of `kind`: every scalar or interval of every
    result; `score` names the score column of results that do not (a run's, or an audit written before audits
    named theirs)."""
    metric_rows, topk_rows = [], []
    for result in metrics.get("results", []):
        score_col = str(result.get("score", metrics.get("score", score)))
        truth = str(result.get("truth", metrics.get("truth")))
        where = (run_id, int(result["epoch"]), str(result["bn_policy"]), int(result.get(FINETUNE, 0)),
                 score_set_label(result, kind, score_col), score_col, truth)
        n_archs = result.get("n_archs")
        held = SEEDS_FIXED if result.get("replicates", 1) == 1 else None  # a group's entries say their own
        for name, entry in [*result.items(), *_baseline_entries(result)]:
            if name not in RESULT_IDENTITY:
                metric_rows.extend((*where, n_archs, *values) for values in _metric_values(name, entry, held))
        for t in result.get("topk", []):
            topk_rows.append((*where, *(_number(t.get(c)) if c != "label" else t[c] for c in TOPK_COLUMNS)))
    return metric_rows, topk_rows


def _baseline_entries(result: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Metrics of the free baselines: baseline:<name> (its own figures) and baseline:<name>.diff (the supernet
    minus the baseline, with CI and p-value), e.g. baseline:params.kendall, baseline:params.diff.kendall."""
    for b in result.get("baselines", []):
        own = {k: v for k, v in b.items() if k not in ("name", "supernet_minus_baseline")}
        diff = {stat: {"value": d["difference"], "ci_low": d["ci_low"], "ci_high": d["ci_high"],
                       "p_value": d["p_value"], **({"conditions": d["conditions"]} if "conditions" in d else {})}
                for stat, d in b.get("supernet_minus_baseline", {}).items()}
        yield f"baseline:{b['name']}", {**own, "diff": diff}


def _audit_rows(run_id: str, tree: dict[str, Any]) -> tuple[list[tuple], list[tuple]]:
    """(audit_files rows, audit_columns rows) of an audit's config.json; none for anything else."""
    audit = tree.get("audit") or {}
    files, columns = [], []
    for role, side in (("scores", "score"), ("truth", "truth")):
        record = audit.get(role)
        if not isinstance(record, dict):
            continue
        files.append((run_id, role, *(record.get(c) for c in AUDIT_FILE_COLUMNS[1:])))
        for position, c in enumerate(record.get("columns") or []):
            columns.append((run_id, side, c["name"], position, c.get("direction"), c.get("unit"),
                            _number(c.get("sparse_tol")), None))
        for truth, seeds in (record.get("seeds") or {}).items():
            columns += [(run_id, "truth_seed", seed, k, None, None, None, truth) for k, seed in enumerate(seeds)]
    return files, columns


def _read_metrics(run: RunDir) -> dict[str, Any]:
    if not run.metrics_path.is_file():
        return {}
    try:
        return json.loads(run.metrics_path.read_text())
    except (OSError, ValueError) as exc:
        raise StoreError(f"{run.metrics_path} cannot be read ({exc}); rerun `wsnas analyze {run.path}`") from None


def _insert(conn: sqlite3.Connection, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
    marks = ", ".join("?" * len(columns))
    conn.executemany(f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


@dataclass(frozen=True)
class _Entry:
    """What one directory contributes: its runs row, scores, metrics and top-k rows."""

    row: dict[str, Any]
    scores: list[tuple]
    metrics: list[tuple]
    topk: list[tuple]
    audit_files: list[tuple]
    audit_columns: list[tuple]


def _entry(run: RunDir, tree: dict[str, Any], **row: Any) -> _Entry:
    run_id = str(run.path)
    scores = _score_rows(run_id, run.read_scores()) if run.scores_path.is_file() else []
    old_audit_score = ((tree.get("audit") or {}).get("scores") or {}).get("score_col", RUN_SCORE)
    run_row = _run_row(run_id, tree, **row)
    metric_rows, topk_rows = _result_rows(run_id, _read_metrics(run), run_row["kind"], old_audit_score)
    return _Entry(run_row, scores, metric_rows, topk_rows, *_audit_rows(run_id, tree))


def _entries(directory: Path) -> list[_Entry]:
    """A run's entry; for a replicate group, the group's (kind 'group', its replicated figures) and each member's
    (group_id = the group)."""
    if not is_group(directory):
        run = RunDir(directory)
        return [_entry(run, run.saved_tree())]
    group = ReplicateGroup(directory)
    members = group.members()
    entries = [_entry(RunDir(directory), group.saved(), kind="group", replicates=len(members))]
    return entries + [_entry(m, m.saved_tree(), group_id=str(directory)) for m in members]


def index_run(db_path: str | os.PathLike, run_dir: str | os.PathLike) -> IndexResult:
    """Store a run (or audit, or replicate group) directory's config, scores.csv and metrics.json in the database.

    Everything is written in one transaction, replacing the run's earlier rows: indexing is idempotent. A group
    is stored as a run of kind 'group' (its replicated figures) and its members (group_id = the group).
    """
    entries = _entries(Path(run_dir).resolve())
    conn = connect(db_path)
    try:
        with transaction(conn):
            for e in entries:
                run_id = e.row["run_id"]
                conn.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))  # cascades to scores, metrics, topk
                _insert(conn, "runs", list(e.row), [tuple(e.row.values())])
                _insert(conn, "scores", ("run_id", *SCORE_COLUMNS), e.scores)
                _insert(conn, "metrics", ("run_id", *RESULT_KEY, "n_archs", "metric", "value", "ci_low", "ci_high",
                                          "ci_conditions"), e.metrics)
                _insert(conn, "topk", ("run_id", *RESULT_KEY, *TOPK_COLUMNS), e.topk)
                _insert(conn, "audit_files", ("run_id", *AUDIT_FILE_COLUMNS), e.audit_files)
                _insert(conn, "audit_columns", ("run_id", *AUDIT_COLUMN_COLUMNS), e.audit_columns)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"could not index {run_dir} into {db_path} ({exc}); check the file and rerun "
                         f"`wsnas index {run_dir} --db {db_path}`") from None
    finally:
        conn.close()
    first = entries[0]
    return IndexResult(first.row["run_id"], first.row["kind"], sum(len(e.scores) for e in entries),
                       sum(len(e.metrics) for e in entries), sum(len(e.topk) for e in entries))


def index_and_report(run_dir: str | os.PathLike, db_path: str | os.PathLike | None = None) -> str:
    """Index a freshly written run into `db_path` (default: default_db_path()); a line saying where.

    The run's files are the record, the database an index of them: a failure is reported, not raised.
    """
    db = Path(db_path) if db_path is not None else default_db_path()
    try:
        index_run(db, run_dir)
    except WsnasError as exc:
        return f"results database: NOT indexed into {db} ({exc}); fix that, then `wsnas index {run_dir} --db {db}`"
    return f"results database: {db}"
