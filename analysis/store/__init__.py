"""The results database: every analysed run and audit in one SQLite file, for questions across runs (no torch).

wsnas creates and migrates the file itself: PRAGMA user_version counts the MIGRATIONS applied, and opening
the file applies the missing ones in one transaction. WAL mode and a busy timeout let several processes
index at once (a writer waits for the lock instead of failing). The schema is documented in
docs/results-db.md; `wsnas index` fills it, `wsnas query` reads it.

Default location: $WSNAS_DB, else runs/wsnas.sqlite relative to the current directory.

    schema.py      the migrations and the tables' columns
    connection.py  opening, migrating, waiting while another process writes
    indexing.py    a run, group, audit or correlation directory into the database
    queries.py     a metric per run, top-k rows, runs, SQL
"""
from wsnas.analysis.store.connection import DB_ENV, StoreError, connect, connect_readonly, default_db_path, migrate
from wsnas.analysis.store.indexing import IndexResult, index_and_report, index_run
from wsnas.analysis.store.queries import metric_names, metric_table, runs_table, sql_table, topk_rows
from wsnas.analysis.store.schema import GROUP_COLUMNS, SCHEMA_VERSION

__all__ = ["DB_ENV", "GROUP_COLUMNS", "SCHEMA_VERSION", "IndexResult", "StoreError", "connect", "connect_readonly",
           "default_db_path", "index_and_report", "index_run", "metric_names", "metric_table", "migrate",
           "runs_table", "sql_table", "topk_rows"]
