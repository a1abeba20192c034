"""The results database's schema: the migrations that build it, and the columns of its tables."""
from __future__ import annotations

from typing import Any

from wsnas.core.run_files import FINETUNE, SCORE_SET
from wsnas.core.score_sets import LEGACY, legacy_score_set


def _rebuild(table: str, create: str, columns: str, score_set: str | None = None) -> tuple[str, ...]:
    """Statements that replace `table` by the one `create` makes (as {table}_new), keeping its rows' `columns`
    (and filling a new score_set column with the SQL expression `score_set`); SQLite cannot alter a primary key,
    so the table is rebuilt (its indexes go with the old one)."""
    into, values = (f"{columns}, score_set", f"{columns}, {score_set}") if score_set else (columns, columns)
    return (create, f"INSERT INTO {table}_new ({into}) SELECT {values} FROM {table}", f"DROP TABLE {table}",
            f"ALTER TABLE {table}_new RENAME TO {table}")


# the score set of rows indexed before score sets existed (wsnas.core.score_sets.legacy_score_set)
_LEGACY_SET = f"'{LEGACY}-' || bn_policy || '-ft' || finetune_batches"
OUTSIDE_KINDS = ("audit", "correlate")  # directories whose scores were made outside `wsnas evaluate`


def score_set_label(result: dict[str, Any], kind: str, score: str) -> str:
    """The score set a result is indexed under: its own; for a result without one, an audit's or a benchmark
    correlation's '<kind>: <score column>' (e.g. 'audit: supernet_loss'), a run's scored before score sets its
    legacy set (wsnas.core.score_sets.legacy_score_set, as its scores.csv rows get)."""
    found = result.get(SCORE_SET)
    if found is not None and found != LEGACY:
        return str(found)
    if kind in OUTSIDE_KINDS:
        return f"{kind}: {score}"
    return legacy_score_set(result["bn_policy"], result.get(FINETUNE) or 0)


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
    (  # 6: what each interval holds fixed ("seeds random, archs resampled" / "seeds fixed, archs resampled")
        "ALTER TABLE metrics ADD COLUMN ci_conditions TEXT",
        "DROP VIEW run_metrics",
        "DROP VIEW run_topk",
        *_GROUP_VIEWS,
    ),
    (  # 7: results without a score set of their own, indexed as 'legacy', get their true label: an audit's or a
       # benchmark correlation's '<kind>: <score column>' (score_set_label), a run's scored before score sets
       # its legacy set, as its scores have
        *(f"""UPDATE {table} SET score_set = COALESCE((SELECT r.kind || ': ' || {table}.score FROM runs r
            WHERE r.run_id = {table}.run_id AND r.kind IN {OUTSIDE_KINDS!r}), {_LEGACY_SET})
            WHERE score_set = '{LEGACY}'""" for table in ("metrics", "topk")),
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

SCORE_COLUMNS = ("key", "arch_index", "function_key", "epoch", SCORE_SET, "bn_policy", FINETUNE, "calib_batches",
                 "n_eval", "supernet_acc", "supernet_loss")
RESULT_KEY = ("epoch", "bn_policy", FINETUNE, SCORE_SET, "score", "truth")  # after run_id: a result in metrics, topk
RUN_SCORE = "supernet_acc"  # the score column of a run's results (an audit names its own in each result)
TOPK_COLUMNS = ("label", "k", "supernet_best", "random_expected_best", "oracle_best", "supernet_best_true_rank",
                "worst_true_rank", "precision_at_k", "precision_at_bottom_k", "kendall_in_topk")
FILTER_COLUMNS = ("space", "kind", "bn_policy", "epoch", FINETUNE, SCORE_SET, "score", "truth", "group_id")
GROUP_COLUMNS = ("space", "dataset", "preset", "kind", "epoch", "bn_policy", FINETUNE, SCORE_SET, "score", "truth",
                 "n_archs", "group_id", "replicates")
AUDIT_FILE_COLUMNS = ("role", "path", "sha256", "source", "key_col", "sep")
AUDIT_COLUMN_COLUMNS = ("role", "name", "position", "direction", "unit", "sparse_tol", "seed_of")
