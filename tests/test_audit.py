"""`wsnas audit` on tables made here with pandas (outside wsnas): metrics as scipy computes them, one clear
error per bad input, canonical keys through a registered space, and the output directory as a run."""
import hashlib
import json
import sqlite3

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from wsnas.analysis import store
from wsnas.benchmarks.registry import get_space
from wsnas.cli import main

N_TRUTH, N_SCORED = 60, 40


@pytest.fixture
def tables(tmp_path):
    """60 NB201 archs with a true accuracy, 40 of them scored; both noisy views of one hidden quality."""
    space = get_space("nb201")
    keys = [space.format(a) for a in space.sample(N_TRUTH, seed=3)]
    rng = np.random.default_rng(7)
    quality = rng.normal(size=N_TRUTH)
    truth = pd.DataFrame({"key": keys, "accuracy": 90 + 2 * quality + rng.normal(scale=0.5, size=N_TRUTH)})
    scores = pd.DataFrame({"key": keys[:N_SCORED],
                           "supernet_acc": 40 + 5 * quality[:N_SCORED] + rng.normal(scale=3, size=N_SCORED)})
    return tmp_path, scores, truth


def _write(tmp_path, scores: pd.DataFrame, truth: pd.DataFrame):
    s, t = tmp_path / "scores.csv", tmp_path / "truth.csv"
    scores.to_csv(s, index=False)
    truth.to_csv(t, index=False)
    return s, t


def _audit(tmp_path, s, t, *extra) -> list[str]:
    return ["audit", "--scores", str(s), "--truth", str(t), "--out", str(tmp_path / "out"),
            "--db", str(tmp_path / "db.sqlite"), "--n-boot", "200", *extra]


def _error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("wsnas: error: ") and "Traceback" not in err and "\n" not in err
    return err


def test_a_good_pair_gives_scipys_kendall_and_a_run_like_directory(tables, capsys):
    tmp_path, scores, truth = tables
    s, t = _write(tmp_path, scores, truth)
    assert main(_audit(tmp_path, s, t, "--space", "nb201")) == 0
    captured = capsys.readouterr()
    assert f"{N_SCORED} matched archs; {N_TRUTH - N_SCORED} truth rows have no score" in captured.out
    assert "warning" not in captured.err

    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    merged = scores.merge(truth, on="key")
    (result,) = metrics["results"]
    assert (result["epoch"], result["bn_policy"], result["n_archs"]) == (0, "n/a", N_SCORED)
    assert result["kendall"]["value"] == pytest.approx(stats.kendalltau(merged.supernet_acc, merged.accuracy).statistic,
                                                       abs=1e-12)
    assert result["spearman"]["value"] == pytest.approx(stats.spearmanr(merged.supernet_acc, merged.accuracy).statistic,
                                                        abs=1e-12)
    assert result["kendall"]["ci_low"] < result["kendall"]["value"] < result["kendall"]["ci_high"]
    assert result["topk"][0]["oracle_best"] == pytest.approx(merged.accuracy.max())
    assert {"space", "truth", "truth_source", "n_boot", "bootstrap_seed", "results", "config"} <= set(metrics)
    assert (metrics["space"], metrics["truth"], metrics["n_boot"]) == ("nb201", "accuracy", 200)

    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert config["audit"]["scores"]["sha256"] == hashlib.sha256(s.read_bytes()).hexdigest()
    assert config["audit"]["truth"]["sha256"] == hashlib.sha256(t.read_bytes()).hexdigest()
    assert (config["audit"]["scores"]["score_col"], config["audit"]["truth"]["truth_col"]) == ("supernet_acc",
                                                                                               "accuracy")
    assert config["audit"]["truth_rows_without_score"] == N_TRUTH - N_SCORED


def test_the_audit_directory_indexes_like_a_run(tables, capsys):
    tmp_path, scores, truth = tables
    s, t = _write(tmp_path, scores, truth)
    db = tmp_path / "db.sqlite"
    assert main(_audit(tmp_path, s, t, "--space", "nb201")) == 0  # indexes into --db by itself
    assert f"results database: {db}" in capsys.readouterr().out
    kendall = json.loads((tmp_path / "out" / "metrics.json").read_text())["results"][0]["kendall"]
    again = store.index_run(tmp_path / "other.sqlite", tmp_path / "out")
    assert (again.kind, again.scores, again.topk) == ("audit", 0, 4)
    for path in (db, tmp_path / "other.sqlite"):
        with sqlite3.connect(path) as conn:
            rows = conn.execute("SELECT kind, space, epoch, bn_policy, truth, n_archs, value, ci_low, ci_high "
                                "FROM run_metrics WHERE metric = 'kendall'").fetchall()
        assert rows == [("audit", "nb201", 0, "n/a", "accuracy", N_SCORED, pytest.approx(kendall["value"]),
                         pytest.approx(kendall["ci_low"]), pytest.approx(kendall["ci_high"]))]


def _reorder_inputs(key: str) -> str:
    """The same NB201 arch with each node's inputs listed last to first."""
    return "+".join("|" + "|".join(node.strip("|").split("|")[::-1]) + "|" for node in key.split("+"))


def test_keys_are_canonicalised_through_a_registered_space(tables, capsys, monkeypatch):
    tmp_path, scores, truth = tables
    respelled = scores.assign(key=scores.key.map(_reorder_inputs))
    assert (respelled.key != scores.key).all()
    s, t = _write(tmp_path, respelled, truth)
    err = _error(capsys, _audit(tmp_path, s, t))
    assert f"{N_SCORED} of {N_SCORED} scored arch(s)" in err and "pass --space (" in err and "nb201" in err

    monkeypatch.chdir(tmp_path)  # the defaults: --out runs/audit-<stem>, database runs/wsnas.sqlite
    monkeypatch.delenv(store.DB_ENV, raising=False)
    assert main(["audit", "--scores", str(s), "--truth", str(t), "--space", "nb201", "--n-boot", "200"]) == 0
    canonical = tmp_path / "canonical"
    canonical.mkdir()
    s2, t2 = _write(canonical, scores, truth)
    assert main(["audit", "--scores", str(s2), "--truth", str(t2), "--n-boot", "200", "--out", str(canonical)]) == 0
    respelled_result = json.loads((tmp_path / "runs" / "audit-scores" / "metrics.json").read_text())["results"]
    canonical_result = json.loads((canonical / "metrics.json").read_text())["results"]
    assert respelled_result == canonical_result
    assert (tmp_path / "runs" / "wsnas.sqlite").is_file()

    twice = pd.concat([scores.iloc[:12], respelled.iloc[:1]])  # one arch, two spellings
    s, t = _write(tmp_path, twice, truth)
    err = _error(capsys, _audit(tmp_path, s, t, "--space", "nb201"))
    assert "1 key(s) (compared after canonicalisation" in err and "lines 2, 14" in err


def test_every_bad_input_gets_its_own_message(tables, capsys):
    tmp_path, scores, truth = tables
    s, t = _write(tmp_path, scores, truth)

    err = _error(capsys, _audit(tmp_path, tmp_path / "nope.csv", t))
    assert "scores table" in err and "nope.csv does not exist" in err and "--scores" in err
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "is not a readable CSV" in _error(capsys, _audit(tmp_path, s, empty))
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 8)
    assert "is not a readable CSV" in _error(capsys, _audit(tmp_path, binary, t))

    err = _error(capsys, _audit(tmp_path, s, t, "--score-col", "acc"))
    assert "has no column 'acc' (columns present: 'key', 'supernet_acc')" in err and "--score-col" in err
    err = _error(capsys, _audit(tmp_path, s, t, "--truth-col", "cifar10/test"))
    assert "truth table" in err and "columns present: 'key', 'accuracy'" in err

    dup = pd.concat([scores, scores.iloc[[3, 3, 5]]], ignore_index=True)
    err = _error(capsys, _audit(tmp_path, *_write(tmp_path, dup, truth)))
    assert "scores table" in err and "2 key(s) appear more than once (5 rows)" in err
    assert f"on lines 5, {N_SCORED + 2}, {N_SCORED + 3}" in err
    err = _error(capsys, _audit(tmp_path, *_write(tmp_path, scores, pd.concat([truth, truth.iloc[:1]]))))
    assert "truth table" in err and "1 key(s) appear more than once (2 rows)" in err

    foreign = pd.concat([scores, pd.DataFrame({"key": ["arch-a", "arch-b"], "supernet_acc": [1.0, 2.0]})])
    err = _error(capsys, _audit(tmp_path, *_write(tmp_path, foreign, truth)))
    assert f"2 of {N_SCORED + 2} scored arch(s)" in err and "'arch-a', 'arch-b'" in err
    assert f"{N_TRUTH - N_SCORED} of {N_TRUTH} truth rows have no score" in err

    bad = scores.astype({"supernet_acc": object})
    bad.loc[2, "supernet_acc"], bad.loc[6, "supernet_acc"] = "abc", None
    err = _error(capsys, _audit(tmp_path, *_write(tmp_path, bad, truth)))
    assert "2 of 40 row(s) have a missing or non-numeric 'supernet_acc'" in err
    assert f"line 4 (key {scores.key[2]!r}): 'abc'" in err and "line 8" in err
    bad_truth = truth.astype({"accuracy": object})
    bad_truth.loc[1, "accuracy"], bad_truth.loc[N_TRUTH - 1, "accuracy"] = "n/a", "junk"  # the last is unscored
    err = _error(capsys, _audit(tmp_path, *_write(tmp_path, scores, bad_truth)))
    assert "truth table" in err and "1 of 40 row(s) have a missing or non-numeric 'accuracy'" in err

    err = _error(capsys, _audit(tmp_path, *_write(tmp_path, scores.iloc[:9], truth)))
    assert "only 9 matched arch(s)" in err and "at least 10" in err
    assert not (tmp_path / "out").exists()  # no failed audit wrote anything

    assert main(_audit(tmp_path, *_write(tmp_path, scores.iloc[:20], truth))) == 0
    assert "warning: only 20 matched archs: below 30" in capsys.readouterr().err


def test_a_bn_policy_column_gives_one_result_per_policy(tables):
    tmp_path, scores, truth = tables
    other = scores.assign(supernet_acc=scores.supernet_acc[::-1].to_numpy(), bn_policy="inherit")
    both = pd.concat([scores.assign(bn_policy="recalibrate"), other])
    assert main(_audit(tmp_path, *_write(tmp_path, both, truth))) == 0
    results = json.loads((tmp_path / "out" / "metrics.json").read_text())["results"]
    assert [(r["bn_policy"], r["n_archs"]) for r in results] == [("inherit", N_SCORED), ("recalibrate", N_SCORED)]
    merged = scores.merge(truth, on="key")
    assert results[1]["kendall"]["value"] == pytest.approx(
        stats.kendalltau(merged.supernet_acc, merged.accuracy).statistic, abs=1e-12)
