"""The results database: every analysed run and audit in one SQLite file, for questions across runs (no torch).

wsnas creates and migrates the file itself: PRAGMA user_version counts the MIGRATIONS applied, and opening
the file applies the missing ones in one transaction. WAL mode and a busy timeout let several processes
index at once (a writer waits for the lock instead of failing). The schema is documented in
docs/results-db.md; `wsnas index` fills it, `wsnas query` reads it.

Default location: $WSNAS_DB, else runs/wsnas.sqlite relative to the current directory.
"""
from __future__ import annotations

import json
import math
import os
import sqlite3
import time
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import pandas as pd

from wsnas.analysis.compare import FINETUNE, SCORE_SET, finetune_batches
from wsnas.analysis.inference import SEEDS_FIXED
from wsnas.core.errors import WsnasError
from wsnas.core.groups import ReplicateGroup, is_group
from wsnas.core.runs import RunDir
from wsnas.core.score_sets import LEGACY

DB_ENV = "WSNAS_DB"
BUSY_TIMEOUT_S = 60.0


def _rebuild(table: str, create: str, columns: str, score_set: str | None = None) -> tuple[str, ...]:
    """Statements that replace `table` by the one `create` makes (as {table}_new), keeping its rows' `columns`
    (and filling a new score_set column with the SQL expression `score_set`); SQLite cannot alter a primary key,
    so the table is rebuilt (its indexes go with the old one)."""
    into, values = (f"{columns}, score_set", f"{columns}, {score_set}") if score_set else (columns, columns)
    return (create, f"INSERT INTO {table}_new ({into}) SELECT {values} FROM {table}", f"DROP TABLE {table}",
            f"ALTER TABLE {table}_new RENAME TO {table}")


# the score set of rows indexed before score sets existed (wsnas.core.score_sets.legacy_score_set)
_LEGACY_SET = "'legacy-' || bn_policy || '-ft' || finetune_batches"


_RUN_VIEWS = (  # metrics and topk with the run's columns (migration 2, made again by 3 over the rebuilt tables)
    """CREATE VIEW run_metrics AS
            SELECT m.*, r.kind, r.space, r.dataset, r.preset FROM metrics m JOIN runs r USING (run_id)""",
    """CREATE VIEW run_topk AS
            SELECT t.*, r.kind, r.space, r.dataset, r.preset FROM topk t JOIN runs r USING (run_id)""",
)

_GROUP_VIEWS = (  # metrics and topk with the run's columns, replicate groups' too (migrations 4 and 5)
    """CREATE VIEW run_metrics AS
            SELECT m.*, r.kind, r.space, r.dataset, r.preset, r.group_id, r.replicates
            FROM metrics m JOIN runs r USING (run_id)""",
    """CREATE VIEW run_topk AS
            SELECT t.*, r.kind, r.space, r.dataset, r.preset, r.group_id, r.replicates
            FROM topk t JOIN runs r USING (run_id)""",
)

# Each entry takes the schema from version i to i + 1; append new ones, never edit an applied one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: runs, their scores, their metrics and top-k figures
        """CREATE TABLE runs (
            run_id TEXT PRIMARY KEY, space TEXT, dataset TEXT, preset TEXT, created TEXT, git_commit TEXT,
            config_json TEXT NOT NULL, indexed_at TEXT NOT NULL)""",
        """CREATE TABLE scores (
            run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE, key TEXT NOT NULL,
            arch_index INTEGER, function_key TEXT, epoch INTEGER NOT NULL, bn_policy TEXT NOT NULL,
            calib_batches INTEGER, n_eval INTEGER, supernet_acc REAL, supernet_loss REAL,
            PRIMARY KEY (run_id, key, epoch, bn_policy))""",
        """CREATE TABLE metrics (
            run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE, epoch INTEGER NOT NULL,
            bn_policy TEXT NOT NULL, truth TEXT NOT NULL, n_archs INTEGER, metric TEXT NOT NULL,
            value REAL, ci_low REAL, ci_high REAL,
            PRIMARY KEY (run_id, epoch, bn_policy, truth, metric))""",
        """CREATE TABLE topk (
            run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE, epoch INTEGER NOT NULL,
            bn_policy TEXT NOT NULL, truth TEXT NOT NULL, label TEXT NOT NULL, k INTEGER,
            supernet_best REAL, random_expected_best REAL, oracle_best REAL, supernet_best_true_rank REAL,
            worst_true_rank REAL, precision_at_k REAL, precision_at_bottom_k REAL, kendall_in_topk REAL,
            PRIMARY KEY (run_id, epoch, bn_policy, truth, label))""",
    ),
    (  # 2: what made a run (a wsnas study or an audit of outside tables); views with the run's columns
        "ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'run'",
        "CREATE INDEX metrics_by_name ON metrics(metric, epoch, bn_policy)",
        *_RUN_VIEWS,
    ),
    (  # 3: finetune_batches (fine-tuning steps before scoring, 0 = plain) in the primary keys of scores,
       # metrics and topk, so fine-tuned and plain results of one run sit side by side; the views follow
        "DROP VIEW run_metrics",
        "DROP VIEW run_topk",
        *_rebuild("scores", """CREATE TABLE scores_new (
            run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE, key TEXT NOT NULL,
            arch_index INTEGER, function_key TEXT, epoch INTEGER NOT NULL, bn_policy TEXT NOT NULL,
            finetune_batches INTEGER NOT NULL DEFAULT 0, calib_batches INTEGER, n_eval INTEGER, supernet_acc REAL,
            supernet_loss REAL, PRIMARY KEY (run_id, key, epoch, bn_policy, finetune_batches))""",
                  "run_id, key, arch_index, function_key, epoch, bn_policy, calib_batches, n_eval, supernet_acc, "
                  "supernet_loss"),
        *_rebuild("metrics", """CREATE TABLE metrics_new (
            run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE, epoch INTEGER NOT NULL,
            bn_policy TEXT NOT NULL, finetune_batches INTEGER NOT NULL DEFAULT 0, truth TEXT NOT NULL,
            n_archs INTEGER, metric TEXT NOT NULL, value REAL, ci_low REAL, ci_high REAL,
            PRIMARY KEY (run_id, epoch, bn_policy, finetune_batches, truth, metric))""",
                  "run_id, epoch, bn_policy, truth, n_archs, metric, value, ci_low, ci_high"),
        *_rebuild("topk", """CREATE TABLE topk_new (
            run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE, epoch INTEGER NOT NULL,
            bn_policy TEXT NOT NULL, finetune_batches INTEGER NOT NULL DEFAULT 0, truth TEXT NOT NULL,
            label TEXT NOT NULL, k INTEGER, supernet_best REAL, random_expected_best REAL, oracle_best REAL,
            supernet_best_true_rank REAL, worst_true_rank REAL, precision_at_k REAL, precision_at_bottom_k REAL,
            kendall_in_topk REAL, PRIMARY KEY (run_id, epoch, bn_policy, finetune_batches, truth, label))""",
                  "run_id, epoch, bn_policy, truth, label, k, supernet_best, random_expected_best, oracle_best, "
                  "supernet_best_true_rank, worst_true_rank, precision_at_k, precision_at_bottom_k, kendall_in_topk"),
        "CREATE INDEX metrics_by_name ON metrics(metric, epoch, bn_policy, finetune_batches)",
        *_RUN_VIEWS,
    ),
    (  # 4: score sets (every setting that made a score, hashed) in the primary keys; replicate groups: a group
       # is a row of kind 'group' holding the replicated figures, its members name it in group_id
        "DROP VIEW run_metrics",
        "DROP VIEW run_topk",
        "ALTER TABLE runs ADD COLUMN group_id TEXT",
        "ALTER TABLE runs ADD COLUMN replicates INTEGER NOT NULL DEFAULT 1",
        *_rebuild("scores", """CREATE TABLE scores_new (
            run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE, key TEXT NOT NULL,
            arch_index INTEGER, function_key TEXT, epoch INTEGER NOT NULL, score_set TEXT NOT NULL,
            bn_policy TEXT NOT NULL, finetune_batches INTEGER NOT NULL DEFAULT 0, calib_batches INTEGER,
            n_eval INTEGER, supernet_acc REAL, supernet_loss REAL,
            PRIMARY KEY (run_id, key, epoch, score_set))""",
                  "run_id, key, arch_index, function_key, epoch, bn_policy, finetune_batches, calib_batches, n_eval, "
                  "supernet_acc, supernet_loss", _LEGACY_SET),
        *_rebuild("metrics", """CREATE TABLE metrics_new (
            run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE, epoch INTEGER NOT NULL,
            bn_policy TEXT NOT NULL, finetune_batches INTEGER NOT NULL DEFAULT 0, score_set TEXT NOT NULL,
            truth TEXT NOT NULL, n_archs INTEGER, metric TEXT NOT NULL, value REAL, ci_low REAL, ci_high REAL,
            PRIMARY KEY (run_id, epoch, bn_policy, finetune_batches, score_set, truth, metric))""",
                  "run_id, epoch, bn_policy, finetune_batches, truth, n_archs, metric, value, ci_low, ci_high",
                  _LEGACY_SET),
        *_rebuild("topk", """CREATE TABLE topk_new (
            run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE, epoch INTEGER NOT NULL,
            bn_policy TEXT NOT NULL, finetune_batches INTEGER NOT NULL DEFAULT 0, score_set TEXT NOT NULL,
            truth TEXT NOT NULL, label TEXT NOT NULL, k INTEGER, supernet_best REAL, random_expected_best REAL,
            oracle_best REAL, supernet_best_true_rank REAL, worst_true_rank REAL, precision_at_k REAL,
            precision_at_bottom_k REAL, kendall_in_topk REAL,
            PRIMARY KEY (run_id, epoch, bn_policy, finetune_batches, score_set, truth, label))""",
                  "run_id, epoch, bn_policy, finetune_batches, truth, label, k, supernet_best, random_expected_best, "
                  "oracle_best, supernet_best_true_rank, worst_true_rank, precision_at_k, precision_at_bottom_k, "
                  "kendall_in_topk", _LEGACY_SET),
        "CREATE INDEX metrics_by_name ON metrics(metric, epoch, bn_policy, finetune_batches, score_set)",
        *_GROUP_VIEWS,
    ),
    (  # 5: the score column a result ranks (a run's supernet_acc; an audit's or a benchmark correlation's named
       # column) in the keys of metrics and topk, filled in for audits indexed before; an audit's files and
       # columns (direction, unit, sparse tolerance, per-seed runs) as rows of their own
        "DROP VIEW run_metrics",
        "DROP VIEW run_topk",
        *_rebuild("metrics", """CREATE TABLE metrics_new (
            run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE, epoch INTEGER NOT NULL,
            bn_policy TEXT NOT NULL, finetune_batches INTEGER NOT NULL DEFAULT 0, score_set TEXT NOT NULL,
            score TEXT NOT NULL DEFAULT 'supernet_acc', truth TEXT NOT NULL, n_archs INTEGER, metric TEXT NOT NULL,
            value REAL, ci_low REAL, ci_high REAL,
            PRIMARY KEY (run_id, epoch, bn_policy, finetune_batches, score_set, score, truth, metric))""",
                  "run_id, epoch, bn_policy, finetune_batches, score_set, truth, n_archs, metric, value, ci_low, "
                  "ci_high"),
        *_rebuild("topk", """CREATE TABLE topk_new (
            run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE, epoch INTEGER NOT NULL,
            bn_policy TEXT NOT NULL, finetune_batches INTEGER NOT NULL DEFAULT 0, score_set TEXT NOT NULL,
            score TEXT NOT NULL DEFAULT 'supernet_acc', truth TEXT NOT NULL, label TEXT NOT NULL, k INTEGER,
            supernet_best REAL, random_expected_best REAL, oracle_best REAL, supernet_best_true_rank REAL,
            worst_true_rank REAL, precision_at_k REAL, precision_at_bottom_k REAL, kendall_in_topk REAL,
            PRIMARY KEY (run_id, epoch, bn_policy, finetune_batches, score_set, score, truth, label))""",
                  "run_id, epoch, bn_policy, finetune_batches, score_set, truth, label, k, supernet_best, "
                  "random_expected_best, oracle_best, supernet_best_true_rank, worst_true_rank, precision_at_k, "
                  "precision_at_bottom_k, kendall_in_topk"),
        *(f"""UPDATE {table} SET score = COALESCE((SELECT json_extract(r.config_json,
            '$.audit.scores.score_col') FROM runs r WHERE r.run_id = {table}.run_id AND r.kind = 'audit'), score)"""
          for table in ("metrics", "topk")),
        "CREATE INDEX metrics_by_name ON metrics(metric, epoch, bn_policy, finetune_batches, score_set)",
        *_GROUP_VIEWS,
        """CREATE TABLE audit_files (
            run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE, role TEXT NOT NULL, path TEXT,
            sha256 TEXT, source TEXT, key_col TEXT, sep TEXT, PRIMARY KEY (run_id, role))""",
        """CREATE TABLE audit_columns (
            run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE, role TEXT NOT NULL, name TEXT NOT NULL,
            position INTEGER, direction TEXT, unit TEXT, sparse_tol REAL, seed_of TEXT,
            PRIMARY KEY (run_id, role, name))""",
    ),
    (  # 7: what each interval holds fixed ("seeds random, archs resampled" / "seeds fixed, archs resampled")
        "ALTER TABLE metrics ADD COLUMN ci_conditions TEXT",
        "DROP VIEW run_metrics",
        "DROP VIEW run_topk",
        *_GROUP_VIEWS,
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

SCORE_COLUMNS = ("key", "arch_index", "function_key", "epoch", SCORE_SET, "bn_policy", FINETUNE, "calib_batches",
                 "n_eval", "supernet_acc", "supernet_loss")
RESULT_KEY = ("epoch", "bn_policy", FINETUNE, SCORE_SET, "score", "truth")  # after run_id: a result in metrics, topk
RUN_SCORE = "supernet_acc"  # the score column of a run's results (an audit names its own in each result)
TOPK_COLUMNS = ("label", "k", "supernet_best", "random_expected_best", "oracle_best", "supernet_best_true_rank",
                "worst_true_rank", "precision_at_k", "precision_at_bottom_k", "kendall_in_topk")
_RESULT_IDENTITY = ("epoch", "bn_policy", FINETUNE, SCORE_SET, "n_archs", "topk", "score", "truth", "members",
                    "replicated", "baselines")  # result entries that are not metrics (members: their own runs)
FILTER_COLUMNS = ("space", "kind", "bn_policy", "epoch", FINETUNE, SCORE_SET, "score", "truth", "group_id")
GROUP_COLUMNS = ("space", "dataset", "preset", "kind", "epoch", "bn_policy", FINETUNE, SCORE_SET, "score", "truth",
                 "n_archs", "group_id", "replicates")
AUDIT_FILE_COLUMNS = ("role", "path", "sha256", "source", "key_col", "sep")
AUDIT_COLUMN_COLUMNS = ("role", "name", "position", "direction", "unit", "sparse_tol", "seed_of")


class StoreError(WsnasError):
    """A results database that cannot be opened, migrated, written or queried as asked."""


@dataclass(frozen=True)
class IndexResult:
    """What index_run stored for one run."""

    run_id: str
    kind: str
    scores: int
    metrics: int
    topk: int


def default_db_path() -> Path:
    """$WSNAS_DB, else runs/wsnas.sqlite relative to the current directory."""
    return Path(os.environ.get(DB_ENV) or Path("runs") / "wsnas.sqlite")


# ------------------------------------------------------------------------------------------------ opening

def connect(db_path: str | os.PathLike) -> sqlite3.Connection:
    """Open (creating and migrating if needed) the database for reading and writing, in autocommit mode."""
    path = Path(db_path)
    if path.is_dir():
        raise StoreError(f"results database {path} is a directory; pass a file path with --db or ${DB_ENV}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"results database {path} cannot be opened ({exc}); check that its folder is "
                         f"writable, or pass another --db") from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        _retry_while_busy(lambda: _prepare(conn))
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(f"results database {path} cannot be opened ({exc}); it may not be a wsnas results "
                         f"database: pass another --db, or move the file away and re-index the runs") from None
    except BaseException:
        conn.close()
        raise
    return conn


def _prepare(conn: sqlite3.Connection) -> None:
    """Switch to WAL (once per database file) and migrate."""
    if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        conn.execute("PRAGMA journal_mode = WAL")
    migrate(conn)


def _retry_while_busy(step: Callable[[], None]) -> None:
    """Run step, retrying for up to BUSY_TIMEOUT_S while SQLite reports the database busy or locked.

    SQLite does not call its busy handler for every lock: switching a new database to WAL, and reading a WAL
    database while another process is creating its index, fail at once with "database is locked" when two
    processes open a fresh database together.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.005
    while True:
        try:
            step()
            return
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() > deadline:
                raise
        time.sleep(delay)
        delay = min(2 * delay, 0.25)


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    message = str(exc).lower()
    return "locked" in message or "busy" in message


def connect_readonly(db_path: str | os.PathLike) -> sqlite3.Connection:
    """A read-only connection (SQLite URI mode=ro) to an existing database, migrated first if it is older."""
    path = _existing(db_path)
    if _user_version(path) < SCHEMA_VERSION:
        connect(path).close()
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
    conn.execute("PRAGMA query_only = ON")
    return conn


def _existing(db_path: str | os.PathLike) -> Path:
    path = Path(db_path)
    if not path.is_file():
        raise StoreError(f"no results database at {path}; fill one with `wsnas index RUN --db {path}` (or "
                         f"`wsnas analyze`, which indexes into ${DB_ENV} or runs/wsnas.sqlite), or pass --db")
    return path


def _user_version(path: Path) -> int:
    try:
        with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S) as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"results database {path} cannot be read ({exc}); pass another --db") from None


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE (take the write lock now, waiting up to the busy timeout) ... COMMIT, or ROLLBACK."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def migrate(conn: sqlite3.Connection, upto: int = SCHEMA_VERSION) -> int:
    """Apply the migrations after the database's user_version, up to version `upto`; the new version."""
    if int(conn.execute("PRAGMA user_version").fetchone()[0]) >= upto:
        return _check_version(conn)
    with _transaction(conn):
        version = _check_version(conn)  # another process may have migrated while we waited for the lock
        for statements in MIGRATIONS[version:upto]:
            for statement in statements:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {max(version, upto)}")
    return max(version, upto)


def _check_version(conn: sqlite3.Connection) -> int:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise StoreError(f"the results database has schema version {version}, newer than this wsnas knows "
                         f"({SCHEMA_VERSION}); upgrade wsnas, or use another --db")
    return version


# ----------------------------------------------------------------------------------------------- indexing

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


def _result_rows(run_id: str, metrics: dict[str, Any], score: str = RUN_SCORE) -> tuple[list[tuple], list[tuple]]:
    """(metrics rows, topk rows) of a metrics.json: every scalar or interval of every result; `score` names the
    score column of results that do not (a run's, or an audit written before audits named theirs)."""
    metric_rows, topk_rows = [], []
    for result in metrics.get("results", []):
        score_col = str(result.get("score", metrics.get("score", score)))
        truth = str(result.get("truth", metrics.get("truth")))
        where = (run_id, int(result["epoch"]), str(result["bn_policy"]), int(result.get(FINETUNE, 0)),
                 str(result.get(SCORE_SET, LEGACY)), score_col, truth)
        n_archs = result.get("n_archs")
        held = SEEDS_FIXED if result.get("replicates", 1) == 1 else None  # a group's entries say their own
        for name, entry in [*result.items(), *_baseline_entries(result)]:
            if name not in _RESULT_IDENTITY:
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
    metric_rows, topk_rows = _result_rows(run_id, _read_metrics(run), old_audit_score)
    return _Entry(_run_row(run_id, tree, **row), scores, metric_rows, topk_rows, *_audit_rows(run_id, tree))


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
        with _transaction(conn):
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


# ------------------------------------------------------------------------------------------------ queries

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
