"""Queries of the results database: a metric per run, top-k rows, runs, plain SQL."""
from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from typing import Any, Sequence

import pandas as pd

from wsnas.analysis.store.connection import StoreError, connect_readonly
from wsnas.analysis.store.schema import FILTER_COLUMNS, GROUP_COLUMNS, TOPK_COLUMNS


def _where(filters: dict[str, Any], alias: str = "", fixed: dict[str, Any] | None = None) -> tuple[str, list[Any]]:
    """WHERE clause (or "") and its parameters: `column = value` for the user's `filters` (FILTER_COLUMNS only)
    and the caller's own `fixed` conditions; None values are left out."""
    clauses, params = [], []
    for column in filters:
        if column not in FILTER_COLUMNS:
            raise StoreError(f"cannot filter on {column!r}; filters: {', '.join(FILTER_COLUMNS)}")
    for column, value in {**filters, **(fixed or {})}.items():
        if value is not None:
            clauses.append(f"{alias}{column} = ?")
            params.append(value)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _check_by(by: Sequence[str]) -> list[str]:
    unknown = [c for c in by if c not in GROUP_COLUMNS]
    if unknown or not by:
        raise StoreError(f"cannot group by {', '.join(unknown) or 'nothing'}; --by takes a comma-separated list "
                         f"of {', '.join(GROUP_COLUMNS)}")
    return list(dict.fromkeys(by))


def _quote(name: str) -> str:
    """`name` as an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def metric_names(db_path: str | os.PathLike) -> list[str]:
    """The metric names present in the database (kendall, spearman, pearson, mean_truth, ...)."""
    with closing(connect_readonly(db_path)) as conn:
        return [r[0] for r in conn.execute("SELECT DISTINCT metric FROM metrics ORDER BY metric")]


def metric_table(db_path: str | os.PathLike, metric: str, filters: dict[str, Any] | None = None,
                 by: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per run result of `metric` with its interval, or with `by` the mean (min, max) per group."""
    known = metric_names(db_path)
    if metric not in known:
        raise StoreError(f"no metric {metric!r} in {db_path}; metrics there: {', '.join(known) or 'none yet'} "
                         f"(or ask for runs / topk)")
    where, params = _where(filters or {}, fixed={"metric": metric})
    if by:
        cols = ", ".join(_check_by(by))
        sql = (f"SELECT {cols}, COUNT(DISTINCT run_id) AS runs, COUNT(*) AS results, "
               f"AVG(value) AS {_quote('mean_' + metric)}, MIN(value) AS {_quote('min_' + metric)}, "
               f"MAX(value) AS {_quote('max_' + metric)} FROM run_metrics{where} GROUP BY {cols} ORDER BY {cols}")
    else:
        sql = (f"SELECT run_id, kind, space, dataset, epoch, bn_policy, finetune_batches, score_set, score, truth, "
               f"n_archs, replicates, value AS {_quote(metric)}, ci_low, ci_high, ci_conditions FROM run_metrics{where} "
               f"ORDER BY space, run_id, epoch, bn_policy, finetune_batches, score_set, score, truth")
    return _select(db_path, sql, params)


def topk_rows(db_path: str | os.PathLike, filters: dict[str, Any] | None = None,
              by: Sequence[str] | None = None, label: str | None = None) -> pd.DataFrame:
    """Top-k figures per run result and label, or with `by` their means per group and label."""
    where, params = _where(filters or {}, fixed={"label": label})
    figures = TOPK_COLUMNS[2:]
    if by:
        cols = ", ".join(_check_by(by))
        means = ", ".join(f"AVG({c}) AS {c}" for c in figures)
        sql = (f"SELECT {cols}, label, COUNT(DISTINCT run_id) AS runs, COUNT(*) AS results, {means} "
               f"FROM run_topk{where} GROUP BY {cols}, label ORDER BY {cols}, MIN(k), label")
    else:
        sql = (f"SELECT run_id, kind, space, dataset, epoch, bn_policy, finetune_batches, score_set, score, truth, "
               f"label, k, {', '.join(figures)} FROM run_topk{where} "
               f"ORDER BY space, run_id, epoch, bn_policy, finetune_batches, score_set, score, truth, k, label")
    return _select(db_path, sql, params)


def runs_table(db_path: str | os.PathLike, space: str | None = None, kind: str | None = None) -> pd.DataFrame:
    """The indexed runs (groups, audits, benchmark correlations) with what they hold."""
    where, params = _where({"space": space, "kind": kind}, "r.")
    sql = ("SELECT r.run_id, r.kind, r.group_id, r.replicates, r.space, r.dataset, r.preset, r.created, "
           "substr(r.git_commit, 1, 10) AS git, "
           "(SELECT COUNT(*) FROM scores s WHERE s.run_id = r.run_id) AS scores, "
           "(SELECT COUNT(*) FROM metrics m WHERE m.run_id = r.run_id) AS metrics, r.indexed_at "
           f"FROM runs r{where} ORDER BY r.space, r.run_id")
    return _select(db_path, sql, params)


def sql_table(db_path: str | os.PathLike, sql: str) -> pd.DataFrame:
    """The result of one SQL statement on a read-only connection (writes fail with a StoreError)."""
    try:
        return _select(db_path, sql)
    except sqlite3.Error as exc:
        hint = ("--sql is read-only: it answers SELECT queries; the database is written by `wsnas index`"
                if "readonly" in str(exc) else "see docs/results-db.md for the tables and columns")
        raise StoreError(f"SQL {sql!r} failed on {db_path}: {exc}; {hint}") from None


def _select(db_path: str | os.PathLike, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
    """Rows of one statement on a read-only connection, as a DataFrame."""
    with closing(connect_readonly(db_path)) as conn:
        cursor = conn.execute(sql, params)
        columns = [d[0] for d in cursor.description] if cursor.description else []
        return pd.DataFrame(cursor.fetchall(), columns=columns)
