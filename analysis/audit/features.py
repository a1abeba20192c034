"""An audit's `--features` table: the archs' features for a space wsnas does not know (no torch).

A registered space computes its archs' features (SearchSpace.features); for any other space the user gives them
as a table with the arch key column and feature columns named as SearchSpace.features names its keys
(wsnas.analysis.features):

    params_M, flops_M   parameters and FLOPs (any one unit per column): the size-bias study's costs and the
                        free baselines baseline:params, baseline:flops
    n_ops:<op>          how many slots carry <op>: the operator study's op model
    edge:<slot>         the op at slot <slot> (text): the operator study's per-slot (edge) model
    anything else       any numeric feature, kept with the audit

Every feature but edge:<slot> must be a finite number for every audited arch. The features join the audit's
joined.csv as columns feature:<name>; the studies and the free baselines read them from there (features_of), so
an unregistered space gets the size and operator studies exactly as a registered one does.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import pandas as pd

from wsnas.analysis.audit.tables import (AuditError, Joined, Table, check_unique, examples, keys_of, numbers,
                                         require)
from wsnas.analysis.features import EDGE, FLOPS, OP_COUNT, PARAMS
from wsnas.benchmarks.sources import file_sha256

FEATURE = "feature:"  # prefix of the joined table's feature columns
KNOWN = f"{PARAMS}, {FLOPS}, {OP_COUNT}<op> (op counts), {EDGE}<slot> (the op at each slot)"


@dataclass(frozen=True)
class FeatureSpec:
    """A features table and its key column."""

    table: Table
    key_col: str

    def identity(self) -> dict[str, Any]:
        """What the audit's numbers depend on: the file's sha256, key column and separator."""
        assert self.table.path is not None
        return {"sha256": file_sha256(self.table.path), "key_col": self.key_col, "sep": self.table.sep}

    def record(self) -> dict[str, Any]:
        """config.json's audit.features: the file, its key column and feature columns."""
        assert self.table.path is not None
        return {**self.identity(), "path": str(self.table.path.resolve()), "columns": self.columns}

    @property
    def columns(self) -> list[str]:
        return [c for c in self.table.frame.columns if c != self.key_col]


def check_features(spec: FeatureSpec) -> None:
    """An error when the table has no key column or no feature column."""
    require(spec.table, spec.key_col, "--features-key-col")
    if not spec.columns:
        raise AuditError(f"{spec.table.label} has only its key column {spec.key_col!r}; add feature columns: "
                         f"{KNOWN}, or any numeric feature")


def add_features(joined: Joined, spec: FeatureSpec, space: str | None) -> Joined:
    """The joined table with a feature:<name> column per feature of the audited archs (keys canonicalised through
    a registered `space`, as the scores'); an error naming audited archs without a row or unusable values."""
    table = spec.table
    keys = keys_of(table, spec.key_col, space)
    check_unique(table, [keys], space is not None)
    row_of = {k: p for p, k in enumerate(keys)}
    audited = list(dict.fromkeys(joined.table["key"]))
    missing = [k for k in audited if k not in row_of]
    if missing:
        raise AuditError(f"{table.label}: {len(missing)} of {len(audited)} audited arch(s) have no row, e.g. "
                         f"{examples([repr(k) for k in missing])}; its keys look like "
                         f"{examples([repr(k) for k in keys])} (column {spec.key_col!r}, --features-key-col); give "
                         f"every audited arch a row, keyed as in the scores")
    rows = [row_of[k] for k in audited]
    columns: dict[str, Any] = {}
    for column in spec.columns:
        if column.startswith(EDGE):
            ops = [table.frame[column].iloc[p].strip() for p in rows]
            empty = [k for k, op in zip(audited, ops) if not op]
            if empty:
                raise AuditError(f"{table.label}: {len(empty)} audited arch(s) have no op in {column!r}, e.g. "
                                 f"{examples([repr(k) for k in empty])}; each {EDGE}<slot> cell names the op at "
                                 f"that slot")
            columns[column] = ops
        else:
            columns[column] = numbers(table, column, rows, audited)
    by_key = pd.DataFrame({FEATURE + c: v for c, v in columns.items()}, index=audited)
    frame = joined.table.join(by_key, on="key")
    return dataclasses.replace(joined, table=frame)


def features_of(joined: pd.DataFrame) -> pd.DataFrame | None:
    """The features of a joined table's archs (one row per key, indexed by key, named as SearchSpace.features
    names them; edge:<slot> as text), None when it holds none."""
    names = [c for c in joined.columns if c.startswith(FEATURE)]
    if not names:
        return None
    unique = joined.drop_duplicates("key").set_index("key")[names]
    frame = unique.rename(columns=lambda c: c[len(FEATURE):])
    edges = [c for c in frame.columns if c.startswith(EDGE)]
    return frame.astype({c: str for c in edges})
