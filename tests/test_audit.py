"""`wsnas audit` on tables made here with pandas (outside wsnas): metrics as scipy computes them, one clear
error per bad input (quoting the file and line that hold it), canonical keys through a registered space, the
output directory as a run, and nothing overwritten."""
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


def _write(tmp_path, scores: pd.DataFrame, truth: pd.DataFrame, sep: str = ","):
    s, t = tmp_path / "scores.csv", tmp_path / "truth.csv"
    scores.to_csv(s, index=False, sep=sep)
    truth.to_csv(t, index=False, sep=sep)
    return s, t


def _audit(tmp_path, s, t, *extra, out="out") -> list[str]:
    return ["audit", "--scores", str(s), "--truth", str(t), "--out", str(tmp_path / out),
            "--db", str(tmp_path / "db.sqlite"), "--n-boot", "200", *extra]


def _error(capsys, argv) -> str:
    capsys.readouterr()  # what earlier commands printed
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
    assert "only" not in captured.err

    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    merged = scores.merge(truth, on="key")
    result = metrics["results"][0]  # then the free baselines of the registered space
    assert [r["score"] for r in metrics["results"]] == ["supernet_acc", "baseline:params", "baseline:flops"]
    assert (result["epoch"], result["bn_policy"], result["n_archs"]) == (0, "n/a", N_SCORED)
    assert (result["score"], result["truth"], result["truth_direction"]) == ("supernet_acc", "accuracy", "higher")
    assert result["kendall"]["value"] == pytest.approx(stats.kendalltau(merged.supernet_acc, merged.accuracy).statistic,
                                                       abs=1e-12)
    assert result["spearman"]["value"] == pytest.approx(stats.spearmanr(merged.supernet_acc, merged.accuracy).statistic,
                                                        abs=1e-12)
    assert result["kendall"]["ci_low"] < result["kendall"]["value"] < result["kendall"]["ci_high"]
    assert result["topk"][0]["oracle_best"] == pytest.approx(merged.accuracy.max())
    assert {"space", "truth", "truth_source", "n_boot", "bootstrap_seed", "results", "config"} <= set(metrics)
    assert (metrics["space"], metrics["truth"], metrics["n_boot"]) == ("nb201", "accuracy", 200)

    config = json.loads((tmp_path / "out" / "config.json").read_text())
    audit = config["audit"]
    assert audit["scores"]["sha256"] == hashlib.sha256(s.read_bytes()).hexdigest()
    assert audit["truth"]["sha256"] == hashlib.sha256(t.read_bytes()).hexdigest()
    assert [c["name"] for c in audit["scores"]["columns"]] == ["supernet_acc"]
    assert [c["name"] for c in audit["truth"]["columns"]] == ["accuracy"]
    assert audit["truth_rows_without_score"] == N_TRUTH - N_SCORED
    joined = pd.read_csv(tmp_path / "out" / "joined.csv")  # the joined table is saved
    assert list(joined.columns) == ["key", "epoch", "bn_policy", "finetune_batches", "score:supernet_acc",
                                    "truth:accuracy", "score:baseline:params", "score:baseline:flops"]
    assert joined["truth:accuracy"].tolist() == pytest.approx(merged.accuracy.tolist())


def test_the_audit_directory_indexes_like_a_run_with_its_inputs_as_columns(tables, capsys):
    tmp_path, scores, truth = tables
    s, t = _write(tmp_path, scores, truth)
    db = tmp_path / "db.sqlite"
    assert main(_audit(tmp_path, s, t, "--space", "nb201")) == 0  # indexes into --db by itself
    assert f"results database: {db}" in capsys.readouterr().out
    kendall = json.loads((tmp_path / "out" / "metrics.json").read_text())["results"][0]["kendall"]
    again = store.index_run(tmp_path / "other.sqlite", tmp_path / "out")
    assert (again.kind, again.scores, again.topk) == ("audit", 0, 3 * 4)  # supernet_acc, params, flops
    for path in (db, tmp_path / "other.sqlite"):
        with sqlite3.connect(path) as conn:
            rows = conn.execute("SELECT kind, space, epoch, bn_policy, score, truth, n_archs, value, ci_low, ci_high "
                                "FROM run_metrics WHERE metric = 'kendall' AND score = 'supernet_acc'").fetchall()
            files = conn.execute("SELECT role, path, sha256, key_col, sep FROM audit_files ORDER BY role").fetchall()
            columns = conn.execute("SELECT role, name, direction FROM audit_columns ORDER BY role").fetchall()
        assert rows == [("audit", "nb201", 0, "n/a", "supernet_acc", "accuracy", N_SCORED,
                         pytest.approx(kendall["value"]), pytest.approx(kendall["ci_low"]),
                         pytest.approx(kendall["ci_high"]))]
        assert files == [("scores", str(s.resolve()), hashlib.sha256(s.read_bytes()).hexdigest(), "key", ","),
                         ("truth", str(t.resolve()), hashlib.sha256(t.read_bytes()).hexdigest(), "key", ",")]
        assert columns == [("score", "supernet_acc", "higher"), ("truth", "accuracy", "higher")]


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
    assert "truth keys look like" in err and "same parts in another order" in err  # both sides and the cause

    monkeypatch.chdir(tmp_path)  # the defaults: a directory under runs/ named from the inputs, runs/wsnas.sqlite
    monkeypatch.delenv(store.DB_ENV, raising=False)
    assert main(["audit", "--scores", str(s), "--truth", str(t), "--space", "nb201", "--n-boot", "200"]) == 0
    (made,) = (tmp_path / "runs").glob("audit-scores-vs-truth-*")
    canonical = tmp_path / "canonical"
    canonical.mkdir()
    s2, t2 = _write(canonical, scores, truth)
    assert main(["audit", "--scores", str(s2), "--truth", str(t2), "--n-boot", "200", "--out",
                 str(tmp_path / "canonical-out")]) == 0
    respelled_result = json.loads((made / "metrics.json").read_text())["results"]
    canonical_result = json.loads((tmp_path / "canonical-out" / "metrics.json").read_text())["results"]
    assert [r["score"] for r in respelled_result] == ["supernet_acc", "baseline:params", "baseline:flops"]
    assert canonical_result[0]["baselines"] == []  # no space: no free baseline, no other score column

    def plain(result):
        return {k: v for k, v in result.items() if k != "baselines"}

    assert [plain(r) for r in respelled_result[:1]] == [plain(r) for r in canonical_result]
    assert (tmp_path / "runs" / "wsnas.sqlite").is_file()

    twice = pd.concat([scores.iloc[:12], respelled.iloc[:1]])  # one arch, two spellings
    s, t = _write(tmp_path, twice, truth)
    err = _error(capsys, _audit(tmp_path, s, t, "--space", "nb201"))
    assert "1 key(s) (compared after canonicalisation" in err and "on lines 2, 14" in err


def test_every_bad_input_gets_its_own_message(tables, capsys):
    tmp_path, scores, truth = tables
    s, t = _write(tmp_path, scores, truth)

    err = _error(capsys, _audit(tmp_path, tmp_path / "nope.csv", t))
    assert "scores table" in err and "nope.csv does not exist" in err and "--scores" in err
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "is not a readable CSV (the file is empty)" in _error(capsys, _audit(tmp_path, s, empty))
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 8)
    assert "is not a readable CSV" in _error(capsys, _audit(tmp_path, binary, t))

    err = _error(capsys, _audit(tmp_path, s, t, "--score-col", "acc"))
    assert "has no column 'acc' (columns present: 'key', 'supernet_acc')" in err and "--score-col" in err
    err = _error(capsys, _audit(tmp_path, s, t, "--truth-col", "accurasy"))
    assert "truth table" in err and "columns present: 'key', 'accuracy'" in err and "did you mean 'accuracy'" in err

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
    bad.loc[2, "supernet_acc"], bad.loc[6, "supernet_acc"], bad.loc[9, "supernet_acc"] = "abc", None, "inf"
    err = _error(capsys, _audit(tmp_path, *_write(tmp_path, bad, truth)))
    assert "3 of 40 row(s) used have no usable 'supernet_acc' (empty, infinite, not a number)" in err
    assert f"line 4 (key {scores.key[2]!r}): 'abc' (not a number)" in err and "line 8" in err
    assert "'inf' (infinite)" in err and "non-numeric" not in err  # inf is a number, just not a finite one

    err = _error(capsys, _audit(tmp_path, *_write(tmp_path, scores.iloc[:9], truth)))
    assert "only 9 matched arch(s)" in err and "at least 10" in err
    assert not (tmp_path / "out").exists()  # no failed audit wrote anything

    assert main(_audit(tmp_path, *_write(tmp_path, scores.iloc[:20], truth))) == 0
    assert "only 20 matched archs: below 30" in capsys.readouterr().err


def test_a_bad_truth_value_is_quoted_with_the_truth_files_line(tables, capsys):
    tmp_path, scores, truth = tables
    order = truth.iloc[::-1].reset_index(drop=True)  # the truth file lists the archs in another order
    bad = order.astype({"accuracy": object})
    row = int(np.flatnonzero(bad.key == scores.key[1])[0])
    bad.loc[row, "accuracy"] = "n/a"
    bad.loc[len(bad) - 1 - N_SCORED, "accuracy"] = "junk"  # an unscored arch: never used, never reported
    s, t = _write(tmp_path, scores, bad)
    text = t.read_text().splitlines()
    t.write_text("\n".join([text[0], "", *text[1:]]) + "\n")  # a blank line after the header shifts every row
    err = _error(capsys, _audit(tmp_path, s, t))
    assert "truth table" in err and "1 of 40 row(s) used have no usable 'accuracy' (not a number)" in err
    assert f"line {row + 3} (key {scores.key[1]!r}): 'n/a'" in err and "junk" not in err


def test_separators_are_sniffed_or_named(tables, capsys):
    tmp_path, scores, truth = tables
    merged = scores.merge(truth, on="key")
    expected = stats.kendalltau(merged.supernet_acc, merged.accuracy).statistic
    for sep in (";", "\t", "|"):  # NB201 keys hold '|' themselves: the header decides
        s, t = _write(tmp_path, scores, truth, sep=sep)
        out = f"out-{ord(sep)}"
        assert main(_audit(tmp_path, s, t, out=out)) == 0
        assert f"separator {sep!r}" in capsys.readouterr().out
        kendall = json.loads((tmp_path / out / "metrics.json").read_text())["results"][0]["kendall"]["value"]
        assert kendall == pytest.approx(expected, abs=1e-12)
    s, t = _write(tmp_path, scores, truth, sep=";")
    err = _error(capsys, _audit(tmp_path, s, t, "--sep", ",", out="forced"))
    assert "has no column 'key' (columns present: 'key;supernet_acc')" in err and "pass --sep ';'" in err
    assert main(_audit(tmp_path, s, t, "--sep", "semicolon", out="named")) == 0
    (tmp_path / "comma").mkdir()
    comma, _ = _write(tmp_path / "comma", scores, truth, sep=",")  # the scores split, the truth does not: its flag
    err = _error(capsys, _audit(tmp_path, comma, t, "--sep", ",", out="forced-truth"))
    assert "pass --truth-sep ';'" in err  # --truth-sep overrides --sep for the truth table
    assert main(_audit(tmp_path, comma, t, "--sep", ",", "--truth-sep", ";", out="split")) == 0
    spaced = tmp_path / "spaced.csv"
    spaced.write_text("key  supernet_acc\n" + "".join(f"{k}  {v}\n" for k, v in zip(scores.key, scores.supernet_acc)))
    assert main(_audit(tmp_path, spaced, t, "--sep", "space", "--truth-sep", ";", out="spaced")) == 0
    assert "--sep 'ab' is not one character" in _error(capsys, _audit(tmp_path, s, t, "--sep", "ab", out="x"))

    bom = tmp_path / "bom.csv"  # a BOM and CRLF line ends, as spreadsheets write them
    bom.write_bytes(b"\xef\xbb\xbf" + scores.to_csv(index=False, lineterminator="\r\n").encode())
    assert main(_audit(tmp_path, bom, t, "--truth-sep", ";", out="bom")) == 0


def test_unmatched_keys_show_both_sides_and_the_likely_cause(tmp_path, capsys):
    rng = np.random.default_rng(0)
    ids = np.arange(100, 160)
    truth = pd.DataFrame({"arch_id": [f"{i}.0" for i in ids], "name": [f"net{i:05d}" for i in ids],
                          "accuracy": rng.normal(90, 2, ids.size)})
    scores = pd.DataFrame({"arch_id": [str(i) for i in ids[:40]], "supernet_acc": rng.normal(40, 5, 40)})
    s, t = _write(tmp_path, scores, truth)
    err = _error(capsys, _audit(tmp_path, s, t, "--key-col", "arch_id"))
    assert "40 of 40 scored arch(s)" in err and "'100', '101', '102'" in err
    assert "truth keys look like '100.0', '101.0', '102.0'" in err
    assert "same numbers spelled differently" in err and "'100' vs '100.0'" in err

    padded = scores.assign(arch_id=[f"NET{i}" for i in ids[:40]])
    err = _error(capsys, _audit(tmp_path, *_write(tmp_path, padded, truth), "--key-col", "arch_id",
                                "--truth-key-col", "name"))
    assert "differ only in case, spaces or zero padding" in err and "'NET100' vs 'net00100'" in err

    named = scores.assign(arch_id=[f"net{i:05d}" for i in ids[:40]])
    s, t = _write(tmp_path, named, truth)
    err = _error(capsys, _audit(tmp_path, s, t, "--key-col", "arch_id"))
    assert "values of the truth table's column 'name': pass --truth-key-col name" in err
    assert main(_audit(tmp_path, s, t, "--key-col", "arch_id", "--truth-key-col", "name")) == 0


def test_nothing_is_overwritten(tables, capsys, monkeypatch):
    tmp_path, scores, truth = tables
    monkeypatch.chdir(tmp_path)
    s, t = _write(tmp_path, scores, truth.assign(other=truth.accuracy[::-1].to_numpy()))
    base = ["audit", "--scores", str(s), "--truth", str(t), "--db", str(tmp_path / "db.sqlite"), "--n-boot", "50"]
    assert main(base) == 0
    assert main([*base, "--truth-col", "other"]) == 0  # same scores file, another truth: another directory
    made = sorted((tmp_path / "runs").glob("audit-scores-vs-truth-*"))
    assert len(made) == 2
    assert {json.loads((d / "metrics.json").read_text())["truth"] for d in made} == {"accuracy", "other"}
    with sqlite3.connect(tmp_path / "db.sqlite") as conn:
        assert sorted(r[0] for r in conn.execute("SELECT DISTINCT truth FROM metrics")) == ["accuracy", "other"]

    assert main([*base, "--name", "mine"]) == 0
    assert main([*base, "--name", "mine"]) == 0  # the same inputs again: the same numbers, rewritten
    err = _error(capsys, [*base, "--name", "mine", "--truth-col", "other"])
    assert "runs/audit-mine holds an audit of other inputs" in err
    assert "truth_columns.0.name: 'accuracy' -> 'other'" in err
    err = _error(capsys, [*base, "--name", "mine", "--n-boot", "60"])
    assert "n_boot: 50 -> 60" in err
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    assert "is not empty and holds no audit" in _error(capsys, [*base, "--out", str(tmp_path / "taken")])
    assert "must be a plain folder name" in _error(capsys, [*base, "--name", "../up"])


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


def test_drop_unmatched_audits_the_matched_archs_and_lists_the_rest(tables, capsys):
    """A scored arch without a truth row stops the audit with one error that names --drop-unmatched; with it, the
    matched archs are audited, the rest counted in a note and listed in config.json."""
    tmp_path, scores, truth = tables
    strays = pd.DataFrame({"key": ["not-an-arch-1", "not-an-arch-2"], "supernet_acc": [41.0, 42.0]})
    s, t = _write(tmp_path, pd.concat([scores, strays], ignore_index=True), truth)
    err = _error(capsys, _audit(tmp_path, s, t, out="strict"))
    assert "2 of 42 scored arch(s)" in err and "--drop-unmatched" in err
    capsys.readouterr()
    assert main(_audit(tmp_path, s, t, "--drop-unmatched", out="lenient")) == 0
    captured = capsys.readouterr()
    assert "--drop-unmatched: 2 of 42 scored arch(s) have no truth row and are left out" in captured.err
    metrics = json.loads((tmp_path / "lenient" / "metrics.json").read_text())
    assert metrics["results"][0]["n_archs"] == N_SCORED
    config = json.loads((tmp_path / "lenient" / "config.json").read_text())
    assert config["audit"]["dropped_unmatched"] == ["not-an-arch-1", "not-an-arch-2"]
    assert config["audit"]["identity"]["drop_unmatched"] is True
