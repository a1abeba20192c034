"""The results database: migration, indexing a smoke study, queries against metrics.json, idempotent
re-indexing, concurrent writers, a read-only --sql, and fine-tuned beside plain scores of one run."""
import io
import json
import multiprocessing
import shutil
import sqlite3
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from wsnas.analysis import store
from wsnas.analysis.score_summary import join_truth, summarise
from wsnas.analysis.store import schema
from wsnas.benchmarks.groundtruth import load_ground_truth
from wsnas.benchmarks.registry import get_space
from wsnas.cli import main
from wsnas.core.atomic import write_json
from wsnas.core.config import build_config
from wsnas.core.runs import RunDir


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, mirror):
    """A `wsnas study --preset smoke` run, analysed with $WSNAS_DB pointing at hook.sqlite."""
    pytest.importorskip("torch")
    root = tmp_path_factory.mktemp("store")
    run, db = root / "smoke", root / "hook.sqlite"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(store.DB_ENV, str(db))
        assert main(["study", "--preset", "smoke", "--run-dir", str(run), "--data-mirror", str(mirror), "--quiet",
                     "--set", "runtime.threads=1"]) == 0
    return run, db


def _query(capsys, *argv) -> pd.DataFrame:
    assert main(["query", *argv, "--csv"]) == 0
    return pd.read_csv(io.StringIO(capsys.readouterr().out))


def _error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("wsnas: error: ") and "Traceback" not in err
    return err


def _dump(db) -> dict[str, list[tuple]]:
    """Every row of every table, sorted (indexed_at left out: it records when)."""
    with sqlite3.connect(db) as conn:
        tables = {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
                  for t in ("scores", "metrics", "topk")}
        tables["runs"] = conn.execute("SELECT run_id, kind, space, dataset, preset, created, git_commit, config_json "
                                      "FROM runs ORDER BY run_id").fetchall()
    return tables


def test_store_modules_do_not_import_torch():
    code = ("import sys, wsnas.analysis.store, wsnas.analysis.audit.run, wsnas.commands.results; "
            "sys.exit('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_an_older_database_is_migrated_and_keeps_its_rows(tmp_path):
    db = tmp_path / "old.sqlite"
    conn = sqlite3.connect(db, isolation_level=None)
    assert store.migrate(conn, upto=1) == 1  # the schema as version 1 left it: no runs.kind, no views
    conn.execute("INSERT INTO runs (run_id, space, config_json, indexed_at) VALUES ('r', 'nb201', '{}', 'then')")
    conn.execute("INSERT INTO metrics VALUES ('r', 5, 'inherit', 'cifar10/test', 20, 'kendall', 0.25, 0.1, 0.4)")
    assert "kind" not in [r[1] for r in conn.execute("PRAGMA table_info(runs)")]
    conn.close()

    conn = store.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION == len(schema.MIGRATIONS) > 1
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT run_id, kind, space FROM runs").fetchall() == [("r", "run", "nb201")]
    assert conn.execute("SELECT space, metric, value FROM run_metrics").fetchall() == [("nb201", "kendall", 0.25)]
    conn.close()
    assert store.migrate(sqlite3.connect(db, isolation_level=None)) == store.SCHEMA_VERSION  # nothing left to do


def test_migration_3_puts_finetune_batches_in_the_keys_and_keeps_the_rows(tmp_path):
    db = tmp_path / "v2.sqlite"
    conn = sqlite3.connect(db, isolation_level=None)
    assert store.migrate(conn, upto=2) == 2
    conn.execute("INSERT INTO runs (run_id, space, config_json, indexed_at) VALUES ('r', 'nb201', '{}', 'then')")
    conn.execute("INSERT INTO scores VALUES ('r', 'k', 7, 'f', 5, 'inherit', 0, 256, 41.5, 1.75)")
    conn.execute("INSERT INTO metrics VALUES ('r', 5, 'inherit', 'cifar10/test', 20, 'kendall', 0.25, 0.1, 0.4)")
    conn.execute("INSERT INTO topk (run_id, epoch, bn_policy, truth, label, k, supernet_best) "
                 "VALUES ('r', 5, 'inherit', 'cifar10/test', '10', 10, 93.5)")
    conn.close()

    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    assert store.migrate(conn, upto=3) == 3
    assert _primary_keys(conn) == {"scores": ["run_id", "key", "epoch", "bn_policy", "finetune_batches"],
                                   "metrics": ["run_id", "epoch", "bn_policy", "finetune_batches", "truth", "metric"],
                                   "topk": ["run_id", "epoch", "bn_policy", "finetune_batches", "truth", "label"]}
    assert conn.execute("SELECT key, arch_index, epoch, bn_policy, finetune_batches, calib_batches, n_eval, "
                        "supernet_acc, supernet_loss FROM scores").fetchall() == [
        ("k", 7, 5, "inherit", 0, 0, 256, 41.5, 1.75)]
    assert conn.execute("SELECT space, metric, finetune_batches, value, ci_low FROM run_metrics").fetchall() == [
        ("nb201", "kendall", 0, 0.25, 0.1)]
    assert conn.execute("SELECT space, label, finetune_batches, k, supernet_best FROM run_topk").fetchall() == [
        ("nb201", "10", 0, 10, 93.5)]
    assert conn.execute("SELECT name FROM sqlite_master WHERE name LIKE '%_new'").fetchall() == []
    # the rebuilt tables still belong to their run, and the metric index is back
    assert conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'metrics_by_name'").fetchone()[0] == 1
    conn.execute("DELETE FROM runs WHERE run_id = 'r'")
    assert [conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("scores", "metrics", "topk")] == [0] * 3
    conn.close()


def _primary_keys(conn: sqlite3.Connection) -> dict[str, list[str]]:
    return {table: [r[1] for r in sorted(conn.execute(f"PRAGMA table_info({table})"), key=lambda r: r[5]) if r[5]]
            for table in ("scores", "metrics", "topk")}


def test_migration_4_puts_score_sets_in_the_keys_with_the_legacy_set_of_each_row(tmp_path):
    db = tmp_path / "v3.sqlite"
    conn = sqlite3.connect(db, isolation_level=None)
    assert store.migrate(conn, upto=3) == 3
    conn.execute("INSERT INTO runs (run_id, space, config_json, indexed_at) VALUES ('r', 'nb201', '{}', 'then')")
    for policy in ("inherit", "recalibrate"):  # one arch and epoch under two BN policies: two legacy score sets
        conn.execute(f"INSERT INTO scores VALUES ('r', 'k', 7, 'f', 5, '{policy}', 0, 0, 256, 41.5, 1.75)")
    conn.execute("INSERT INTO metrics VALUES ('r', 5, 'inherit', 0, 'cifar10/test', 20, 'kendall', 0.25, 0.1, 0.4)")
    conn.close()

    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    assert store.migrate(conn, upto=4) == 4
    assert _primary_keys(conn) == {
        "scores": ["run_id", "key", "epoch", "score_set"],
        "metrics": ["run_id", "epoch", "bn_policy", "finetune_batches", "score_set", "truth", "metric"],
        "topk": ["run_id", "epoch", "bn_policy", "finetune_batches", "score_set", "truth", "label"]}
    assert sorted(conn.execute("SELECT bn_policy, score_set FROM scores").fetchall()) == [
        ("inherit", "legacy-inherit-ft0"), ("recalibrate", "legacy-recalibrate-ft0")]
    assert conn.execute("SELECT score_set, kind, replicates FROM run_metrics").fetchall() == [
        ("legacy-inherit-ft0", "run", 1)]
    conn.close()


def test_migration_5_puts_the_score_column_in_the_keys_and_adds_the_audit_inputs(tmp_path):
    db = tmp_path / "v4.sqlite"
    conn = sqlite3.connect(db, isolation_level=None)
    assert store.migrate(conn, upto=4) == 4
    audit = json.dumps({"kind": "audit", "audit": {"scores": {"score_col": "proxy"}}})
    conn.execute("INSERT INTO runs (run_id, kind, space, config_json, indexed_at) VALUES "
                 "('r', 'run', 'nb201', '{}', 'then'), ('a', 'audit', 'custom', ?, 'then')", (audit,))
    for run in ("r", "a"):
        conn.execute("INSERT INTO metrics VALUES (?, 0, 'n/a', 0, 'legacy', 'acc', 20, 'kendall', 0.25, 0.1, 0.4)",
                     (run,))
        conn.execute("INSERT INTO topk (run_id, epoch, bn_policy, score_set, truth, label, k) "
                     "VALUES (?, 0, 'n/a', 'legacy', 'acc', '1', 1)", (run,))
    conn.close()

    conn = store.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION >= 5
    assert _primary_keys(conn)["metrics"] == ["run_id", "epoch", "bn_policy", "finetune_batches", "score_set",
                                              "score", "truth", "metric"]
    assert sorted(conn.execute("SELECT run_id, score, truth, value FROM run_metrics")) == [
        ("a", "proxy", "acc", 0.25), ("r", "supernet_acc", "acc", 0.25)]  # an old audit's score from its config
    assert sorted(conn.execute("SELECT run_id, score FROM run_topk")) == [("a", "proxy"), ("r", "supernet_acc")]
    conn.execute("INSERT INTO metrics VALUES ('a', 0, 'n/a', 0, 'legacy', 'other', 'acc', 20, 'kendall', 0.5, NULL, NULL, "
                 "NULL)")
    assert conn.execute("SELECT COUNT(*) FROM metrics WHERE run_id = 'a'").fetchone()[0] == 2  # two scores, one truth
    assert {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} >= {
        "audit_files", "audit_columns"}
    assert conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'metrics_by_name'").fetchone()[0] == 1
    conn.execute("DELETE FROM runs")
    assert [conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("metrics", "topk")] == [0, 0]
    conn.close()


@pytest.fixture
def finetuned_run(tmp_path, mirror):
    """A run directory whose scores.csv holds plain (0) and fine-tuned (5) scores of the same 30 NB201 archs, and
    whose metrics.json summarises both; the supernet accuracies are random draws, independent of the truth."""
    run = RunDir(tmp_path / "finetuned")
    run.init(build_config("smoke"))
    space, truth = get_space("nb201"), load_ground_truth("nb201", mirror)
    archs = space.sample(30, seed=1)
    rng = np.random.default_rng(1)
    scores = pd.DataFrame([{"key": space.format(a), "index": truth.index_of(space.format(a)),
                            "function_key": space.function_key(a), "epoch": 2, "bn_policy": "recalibrate",
                            "calib_batches": 1, "finetune_batches": n, "n_eval": 256, "supernet_acc": acc,
                            "supernet_loss": loss}
                           for n in (0, 5)
                           for a, acc, loss in zip(archs, rng.uniform(10, 60, 30), rng.uniform(1, 2, 30))])
    run.write_table(run.scores_path, scores)
    results = summarise(join_truth(scores, truth, "cifar10/test"), topk=[1, 10], n_boot=20, seed=0)
    write_json(run.metrics_path, {"space": "nb201", "truth": "cifar10/test", "results": results})
    return run.path, results


def test_finetuned_and_plain_scores_of_one_run_are_indexed_side_by_side(finetuned_run, tmp_path, capsys):
    run, results = finetuned_run
    db = str(tmp_path / "ft.sqlite")
    indexed = store.index_run(db, run)
    assert indexed.scores == 60 and indexed.topk == 4  # nothing replaced: (key, epoch, policy, 0) != (..., 5)
    with sqlite3.connect(db) as conn:
        counts = dict(conn.execute("SELECT finetune_batches, COUNT(*) FROM scores GROUP BY finetune_batches"))
        metric_counts = dict(conn.execute("SELECT finetune_batches, COUNT(*) FROM metrics GROUP BY finetune_batches"))
    assert counts == {0: 30, 5: 30} and metric_counts[0] == metric_counts[5] == indexed.metrics / 2

    kendall = _query(capsys, "kendall", "--db", db)
    assert kendall.finetune_batches.tolist() == [0, 5] and kendall.n_archs.tolist() == [30, 30]
    assert kendall.kendall.to_numpy() == pytest.approx([r["kendall"]["value"] for r in results], abs=1e-12)
    assert kendall.kendall[0] != kendall.kendall[1]
    tuned = _query(capsys, "kendall", "--finetune-batches", "5", "--db", db)
    assert tuned.finetune_batches.tolist() == [5] and tuned.kendall[0] == pytest.approx(results[1]["kendall"]["value"])
    assert _query(capsys, "kendall", "--finetune-batches", "2", "--db", db).empty
    topk = _query(capsys, "topk", "--finetune-batches", "0", "--db", db)
    assert topk.finetune_batches.tolist() == [0, 0] and topk.supernet_best.tolist() == pytest.approx(
        [t["supernet_best"] for t in results[0]["topk"]])
    by = _query(capsys, "kendall", "--by", "finetune_batches", "--db", db)
    assert by.finetune_batches.tolist() == [0, 5] and by.runs.tolist() == [1, 1]
    assert "`wsnas query runs` takes only --space" in _error(
        capsys, ["query", "runs", "--finetune-batches", "5", "--db", db])


def test_a_newer_or_foreign_database_is_refused(tmp_path):
    newer = tmp_path / "newer.sqlite"
    with sqlite3.connect(newer) as conn:
        conn.execute(f"PRAGMA user_version = {store.SCHEMA_VERSION + 1}")
    with pytest.raises(store.StoreError, match="newer than this wsnas knows"):
        store.connect(newer)
    text = tmp_path / "notes.sqlite"
    text.write_text("not a database, just notes\n" * 100)
    with pytest.raises(store.StoreError, match="cannot be opened.*pass another --db"):
        store.connect(text)


def test_analyze_indexes_the_run_into_wsnas_db(smoke_run):
    run, db = smoke_run
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT run_id, kind, space, dataset, preset FROM runs").fetchall()
        n_scores = conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0]
    assert rows == [(str(run.resolve()), "run", "nb201", "cifar10", "smoke")]
    assert n_scores == len(pd.read_csv(run / "scores.csv"))


def test_queries_match_metrics_json(smoke_run, tmp_path, capsys):
    run, _ = smoke_run
    db = tmp_path / "q.sqlite"
    assert main(["index", str(run), "--db", str(db)]) == 0
    assert str(db) in capsys.readouterr().out
    metrics = json.loads((run / "metrics.json").read_text())
    result = metrics["results"][0]

    for name in ("kendall", "spearman", "pearson"):
        table = _query(capsys, name, "--db", str(db))
        assert len(table) == 1
        row = table.iloc[0]
        assert (row.run_id, row.space, row.epoch, row.bn_policy, row.truth, row.n_archs) == (
            str(run.resolve()), "nb201", result["epoch"], result["bn_policy"], metrics["truth"], result["n_archs"])
        assert (row[name], row.ci_low, row.ci_high) == pytest.approx(
            (result[name]["value"], result[name]["ci_low"], result[name]["ci_high"]), abs=1e-12)

    topk = _query(capsys, "topk", "--db", str(db)).set_index("label")
    assert sorted(topk.index) == sorted(t["label"] for t in result["topk"])
    for t in result["topk"]:
        for column in ("k", "supernet_best", "random_expected_best", "oracle_best", "supernet_best_true_rank",
                       "precision_at_k"):
            assert topk.loc[t["label"], column] == pytest.approx(t[column], abs=1e-12)

    runs = _query(capsys, "runs", "--db", str(db))
    provenance = json.loads((run / "config.json").read_text())["provenance"]
    assert runs.preset.tolist() == ["smoke"] and runs.scores.tolist() == [result["n_archs"]]
    assert runs.created.tolist() == [provenance["created"]]
    scores = _query(capsys, "--sql", "SELECT key, arch_index, supernet_acc FROM scores ORDER BY key", "--db", str(db))
    expected = pd.read_csv(run / "scores.csv").sort_values("key", ignore_index=True)
    assert scores.key.tolist() == expected.key.tolist() and (scores.arch_index == expected["index"]).all()
    assert scores.supernet_acc.to_numpy() == pytest.approx(expected.supernet_acc.to_numpy(), abs=1e-12)

    assert main(["query", "kendall", "--db", str(db)]) == 0  # the aligned table
    header, line = capsys.readouterr().out.splitlines()
    assert header.split() == ["run_id", "kind", "space", "dataset", "epoch", "bn_policy", "finetune_batches",
                              "score_set", "score", "truth", "n_archs", "replicates", "kendall", "ci_low", "ci_high",
                              "ci_conditions"]
    assert len(header) == len(line) and f"{result['kendall']['value']:.4f}" in line
    assert line.endswith("seeds fixed, archs resampled")  # one run: its interval holds the training seed fixed


def test_grouping_and_filters(smoke_run, tmp_path, capsys):
    run, _ = smoke_run
    other = tmp_path / "other"
    shutil.copytree(run, other, ignore=shutil.ignore_patterns("checkpoints"))
    metrics = json.loads((other / "metrics.json").read_text())
    metrics["results"][0]["kendall"]["value"] = 0.5  # as if a second run had ranked better
    (other / "metrics.json").write_text(json.dumps(metrics))
    db = str(tmp_path / "g.sqlite")
    assert main(["index", str(run), str(other), "--db", db]) == 0
    capsys.readouterr()
    first = json.loads((run / "metrics.json").read_text())["results"][0]

    grouped = _query(capsys, "kendall", "--by", "space,epoch", "--db", db)
    assert grouped[["space", "epoch", "runs"]].values.tolist() == [["nb201", first["epoch"], 2]]
    assert grouped.mean_kendall[0] == pytest.approx((first["kendall"]["value"] + 0.5) / 2)
    assert grouped.max_kendall[0] == pytest.approx(max(0.5, first["kendall"]["value"]))
    assert len(_query(capsys, "kendall", "--space", "nb201", "--bn-policy", first["bn_policy"],
                      "--epoch", str(first["epoch"]), "--truth", "cifar10/test", "--db", db)) == 2
    assert _query(capsys, "kendall", "--epoch", "999", "--db", db).empty
    assert _query(capsys, "kendall", "--bn-policy", "inherit", "--db", db).empty
    means = _query(capsys, "topk", "--by", "space", "--label", "10", "--db", db)
    assert means.runs.tolist() == [2] and means.label.astype(str).tolist() == ["10"]

    assert "cannot group by colour" in _error(capsys, ["query", "kendall", "--by", "colour", "--db", db])
    err = _error(capsys, ["query", "tau", "--db", db])
    assert "no metric 'tau'" in err and "kendall" in err and "spearman" in err
    assert "no results database at" in _error(capsys, ["query", "runs", "--db", str(tmp_path / "none.sqlite")])


def test_reindexing_replaces_a_runs_rows(smoke_run, tmp_path):
    run, _ = smoke_run
    db = tmp_path / "i.sqlite"
    first = store.index_run(db, run)
    before = _dump(db)
    again = store.index_run(db, run)
    assert _dump(db) == before and again == first
    assert first.scores == len(pd.read_csv(run / "scores.csv")) and first.metrics > 3 and first.topk == 4

    copy = tmp_path / "copy"
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("checkpoints"))
    store.index_run(db, copy)
    (copy / "scores.csv").unlink()
    store.index_run(db, copy)  # the copy's old scores go; the original run is untouched
    with sqlite3.connect(db) as conn:
        counts = dict(conn.execute("SELECT run_id, COUNT(*) FROM scores GROUP BY run_id").fetchall())
    assert counts == {str(run.resolve()): first.scores}


def _index_repeatedly(db: str, run: str, barrier, times: int) -> None:
    barrier.wait()  # both processes start writing at the same moment
    for _ in range(times):
        store.index_run(db, run)


def test_concurrent_writers_lose_nothing(smoke_run, tmp_path):
    run, _ = smoke_run
    runs = [tmp_path / "a", tmp_path / "b"]
    for copy in runs:
        shutil.copytree(run, copy, ignore=shutil.ignore_patterns("checkpoints"))
    db = tmp_path / "shared.sqlite"  # does not exist yet: the two processes also race to create it
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    workers = [ctx.Process(target=_index_repeatedly, args=(str(db), str(r), barrier, 5)) for r in runs]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0]

    alone = store.index_run(tmp_path / "alone.sqlite", run)
    with sqlite3.connect(db) as conn:
        for table, expected in (("scores", alone.scores), ("metrics", alone.metrics), ("topk", alone.topk)):
            counts = dict(conn.execute(f"SELECT run_id, COUNT(*) FROM {table} GROUP BY run_id").fetchall())
            assert counts == {str(r.resolve()): expected for r in runs}, table


def test_sql_is_read_only(smoke_run, tmp_path, capsys):
    run, _ = smoke_run
    db = tmp_path / "ro.sqlite"
    store.index_run(db, run)
    before = _dump(db)
    insert = "INSERT INTO runs (run_id, config_json, indexed_at) VALUES ('x', '{}', 'now')"
    err = _error(capsys, ["query", "--sql", insert, "--db", str(db)])
    assert "read-only" in err and "INSERT INTO runs" in err
    assert "read-only" in _error(capsys, ["query", "--sql", "DROP TABLE scores", "--db", str(db)])
    assert "no such table: nope" in _error(capsys, ["query", "--sql", "SELECT * FROM nope", "--db", str(db)])
    assert _dump(db) == before
    assert _query(capsys, "--sql", "SELECT COUNT(*) AS n FROM runs", "--db", str(db)).n.tolist() == [1]


def test_migration_7_gives_legacy_score_sets_their_true_label(tmp_path):
    """Results indexed under the score set 'legacy': an audit's become 'audit: <score column>', a benchmark
    correlation's 'correlate: <column>', a run's scored before score sets its legacy set, as its scores have."""
    db = tmp_path / "v6.sqlite"
    conn = sqlite3.connect(db, isolation_level=None)
    assert store.migrate(conn, upto=6) == 6
    conn.execute("INSERT INTO runs (run_id, kind, space, config_json, indexed_at) VALUES ('r', 'run', 'nb201', '{}', "
                 "'then'), ('a', 'audit', 'custom', '{}', 'then'), ('c', 'correlate', 'nb201', '{}', 'then')")
    for run, policy, score in (("r", "inherit", "supernet_acc"), ("a", "n/a", "proxy"), ("c", "n/a", "cifar10/valid")):
        conn.execute("INSERT INTO metrics (run_id, epoch, bn_policy, finetune_batches, score_set, score, truth, "
                     "metric, value) VALUES (?, 0, ?, 0, 'legacy', ?, 'acc', 'kendall', 0.25)", (run, policy, score))
        conn.execute("INSERT INTO topk (run_id, epoch, bn_policy, score_set, score, truth, label, k) "
                     "VALUES (?, 0, ?, 'legacy', ?, 'acc', '1', 1)", (run, policy, score))
    conn.execute("INSERT INTO metrics (run_id, epoch, bn_policy, finetune_batches, score_set, score, truth, metric, "
                 "value) VALUES ('r', 5, 'recalibrate', 0, 'c5859330e6', 'supernet_acc', 'acc', 'kendall', 0.5)")
    conn.close()

    conn = store.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION >= 7
    expected = [("a", "audit: proxy"), ("c", "correlate: cifar10/valid"), ("r", "c5859330e6"),
                ("r", "legacy-inherit-ft0")]
    assert sorted(conn.execute("SELECT run_id, score_set FROM run_metrics")) == expected
    assert sorted(conn.execute("SELECT run_id, score_set FROM run_topk")) == [e for e in expected if e[1] != "c5859330e6"]
    conn.close()


def test_query_labels_an_audits_score_sets_by_their_score_column(tmp_path, capsys, monkeypatch):
    """`wsnas query` of an audit: each result's score set reads 'audit: <score column>', not 'legacy'."""
    space = get_space("nb201")
    keys = [space.format(a) for a in space.sample(30, seed=2)]
    rng = np.random.default_rng(0)
    truth = rng.normal(size=30)
    pd.DataFrame({"key": keys, "acc": 90 + truth}).to_csv(tmp_path / "truth.csv", index=False)
    pd.DataFrame({"key": keys, "val_acc": 40 + truth + rng.normal(size=30), "synflow": rng.normal(size=30)}).to_csv(
        tmp_path / "scores.csv", index=False)
    db = tmp_path / "db.sqlite"
    assert main(["audit", "--scores", str(tmp_path / "scores.csv"), "--truth", str(tmp_path / "truth.csv"),
                 "--score-col", "val_acc,synflow", "--truth-col", "acc", "--n-boot", "50", "--out",
                 str(tmp_path / "audit"), "--db", str(db)]) == 0
    capsys.readouterr()
    table = _query(capsys, "kendall", "--kind", "audit", "--db", str(db))
    assert sorted(zip(table["score"], table["score_set"])) == [("synflow", "audit: synflow"),
                                                               ("val_acc", "audit: val_acc")]
    assert not table["score_set"].str.contains("legacy").any()
