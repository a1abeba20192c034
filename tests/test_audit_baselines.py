"""Free baselines in an audit: with a registered space, parameter count and FLOPs are audited as score columns on
the same archs, and the first score column is compared with every other column and baseline by a paired bootstrap,
its verdicts printed first, saved in metrics.json, indexed into the database and drawn by the report.

The truth here follows parameter count (as NB201's does) plus noise; a score that sees the truth plus large noise
must be told that it loses to counting parameters, one that sees it plus tiny noise that it beats them."""
import io
import json
import re
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wsnas.analysis.free_baselines import cost_baselines
from wsnas.analysis.report.render import render_report
from wsnas.benchmarks.registry import get_space
from wsnas.cli import main

N = 120


@pytest.fixture
def tables(tmp_path):
    """N NB201 archs: truth = standardised params + noise; scores: truth + large noise, truth + tiny noise."""
    space = get_space("nb201")
    keys = [space.format(a) for a in space.sample(N, seed=11)]
    params = cost_baselines("nb201", keys)[0].scores[0]
    rng = np.random.default_rng(5)
    truth = (params - params.mean()) / params.std() + rng.normal(scale=0.5, size=N)
    pd.DataFrame({"key": keys, "accuracy": 90 + truth, "loss": 1 - 0.1 * truth}).to_csv(tmp_path / "truth.csv",
                                                                                      index=False)
    noisy = truth + rng.normal(scale=4.0, size=N)
    sharp = truth + rng.normal(scale=0.02, size=N)
    pd.DataFrame({"key": keys, "noisy": noisy, "sharp": sharp, "sharp_loss": -sharp}).to_csv(tmp_path / "scores.csv",
                                                                                           index=False)
    return tmp_path


def _audit(capsys, d, out, *extra) -> tuple[list[str], dict]:
    capsys.readouterr()
    assert main(["audit", "--scores", str(d / "scores.csv"), "--truth", str(d / "truth.csv"), "--out", str(d / out),
                 "--db", str(d / "db.sqlite"), "--n-boot", "300", "--quiet", *extra]) == 0
    return capsys.readouterr().out.splitlines(), json.loads((d / out / "metrics.json").read_text())


def _baseline(result: dict, name: str) -> dict:
    return next(b for b in result["baselines"] if b["name"] == name)


def test_a_noisy_score_is_told_first_that_it_loses_to_params(tables, capsys):
    out, metrics = _audit(capsys, tables, "noisy", "--score-col", "noisy", "--space", "nb201")
    assert out[0].startswith(f"[audit] truth accuracy: noisy ranks {N} archs at Kendall ")
    assert out[0].endswith("paired on the same archs against free baselines params, flops:")
    assert out[1].startswith("  noisy loses to params on Kendall tau by -")
    assert out[2].startswith("  noisy loses to flops on Kendall tau by -")
    assert out[3].startswith("[audit] scores: ")  # the verdicts come before anything else

    assert [(r["score"], r["score_direction"]) for r in metrics["results"]] == [
        ("noisy", "higher"), ("baseline:params", "higher"), ("baseline:flops", "higher")]
    assert metrics["columns"]["scores"][1] == {"name": "baseline:params", "direction": "higher", "unit": "M params",
                                              "sparse_tol": None, "free_baseline": True}
    first, params_pair = metrics["results"][0], metrics["results"][1]
    params = _baseline(first, "params")
    diff = params["supernet_minus_baseline"]["kendall"]
    assert params["kind"] == "free baseline" and diff["ci_high"] < 0 and diff["p_value"] < 0.05
    # the same archs: the comparison's two sides are the pair results' Kendall of each column
    assert diff["a"] == pytest.approx(first["kendall"]["value"])
    assert diff["b"] == pytest.approx(params_pair["kendall"]["value"]) == pytest.approx(params["kendall"]["value"])
    assert diff["difference"] == pytest.approx(diff["a"] - diff["b"])
    assert "baselines" not in params_pair  # only the first score column is compared
    config = json.loads((tables / "noisy" / "config.json").read_text())
    assert [c["name"] for c in config["audit"]["scores"]["columns"]] == ["noisy"]  # what the scores file holds


def test_a_sharp_score_beats_params_whichever_way_its_columns_point(tables, capsys):
    out, metrics = _audit(capsys, tables, "sharp", "--score-col", "sharp", "--space", "nb201")
    assert out[1].startswith("  sharp beats params on Kendall tau by +")
    assert _baseline(metrics["results"][0], "params")["supernet_minus_baseline"]["kendall"]["ci_low"] > 0

    # a lower-is-better score and a lower-is-better truth are compared on their oriented values: the same verdicts
    out, mirrored = _audit(capsys, tables, "sharp-loss", "--score-col", "sharp_loss", "--truth-col", "loss",
                           "--lower-is-better", "sharp_loss,loss", "--space", "nb201")
    assert out[1].startswith("  sharp_loss beats params on Kendall tau by +")
    for name in ("params", "flops"):
        ours, theirs = _baseline(metrics["results"][0], name), _baseline(mirrored["results"][0], name)
        numbers = ("a", "b", "difference", "ci_low", "ci_high", "se", "p_value")
        assert ([theirs["supernet_minus_baseline"]["kendall"][k] for k in numbers]
                == pytest.approx([ours["supernet_minus_baseline"]["kendall"][k] for k in numbers]))
        assert theirs["kendall"] == pytest.approx(ours["kendall"])


def test_every_other_score_column_is_compared_too(tables, capsys):
    out, metrics = _audit(capsys, tables, "both", "--score-col", "noisy,sharp", "--space", "nb201")
    first = metrics["results"][0]
    assert [(b["name"], b["kind"]) for b in first["baselines"]] == [
        ("sharp", "score column"), ("params", "free baseline"), ("flops", "free baseline")]
    assert out[0].endswith("against score columns sharp; free baselines params, flops:")
    assert out[1].startswith("  noisy loses to sharp on Kendall tau by -")
    assert [r["score"] for r in metrics["results"]] == ["noisy", "sharp", "baseline:params", "baseline:flops"]
    assert "baseline:params" in "\n".join(out)  # its own table and its row of the Kendall matrix


def test_without_a_registered_space_the_output_says_there_is_no_free_baseline(tables, capsys):
    out, metrics = _audit(capsys, tables, "unknown", "--score-col", "noisy")
    assert metrics["results"][0]["baselines"] == []
    assert out[1].startswith("[audit] no free baseline to compare noisy with: the space 'custom' is not registered")


def test_the_database_and_query_hold_the_paired_comparisons(tables, capsys):
    _, metrics = _audit(capsys, tables, "noisy", "--score-col", "noisy", "--space", "nb201")
    diff = _baseline(metrics["results"][0], "params")["supernet_minus_baseline"]["kendall"]
    with sqlite3.connect(tables / "db.sqlite") as conn:
        rows = dict(conn.execute("SELECT metric, value FROM metrics WHERE score = 'noisy' AND metric LIKE "
                                 "'baseline:params.%'").fetchall())
        interval = conn.execute("SELECT value, ci_low, ci_high FROM metrics WHERE score = 'noisy' AND metric = "
                                "'baseline:params.diff.kendall'").fetchone()
    assert rows["baseline:params.kendall"] == pytest.approx(_baseline(metrics["results"][0], "params")["kendall"]
                                                            ["value"])
    assert interval == pytest.approx((diff["difference"], diff["ci_low"], diff["ci_high"]))
    assert rows["baseline:params.diff.kendall.p_value"] == pytest.approx(diff["p_value"])
    assert main(["query", "baseline:params.diff.kendall", "--kind", "audit", "--db", str(tables / "db.sqlite"),
                 "--csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert table["baseline:params.diff.kendall"].tolist() == pytest.approx([diff["difference"]])
    assert (table.ci_low[0], table.ci_high[0]) == pytest.approx((diff["ci_low"], diff["ci_high"]))

    # the documented query: the supernet against parameter count, one row per result
    page = (Path(__file__).resolve().parents[1] / "docs" / "results-db.md").read_text()
    sql = re.search(r"<!-- results-db:baselines -->\n```sql\n(.*?)```", page, re.S).group(1)
    assert main(["query", "--sql", sql, "--db", str(tables / "db.sqlite"), "--csv"]) == 0
    (row,) = pd.read_csv(io.StringIO(capsys.readouterr().out)).to_dict("records")
    assert (row["kind"], row["score"], row["truth"]) == ("audit", "noisy", "accuracy")
    assert row["supernet"] == round(metrics["results"][0]["kendall"]["value"], 3)
    assert (row["difference"], row["ci_low"], row["ci_high"], row["p"]) == pytest.approx(
        (diff["difference"], diff["ci_low"], diff["ci_high"], diff["p_value"]), abs=5e-4)  # the query rounds to 3


def test_the_report_of_an_audit_draws_its_verdicts(tables, capsys):
    _audit(capsys, tables, "both", "--score-col", "noisy,sharp", "--space", "nb201")
    report = render_report([tables / "both"], name="both", out_root=tables / "reports", progress=False)
    item = report.sections[0].items[0]  # the verdicts first
    assert item.png.name == "baselines.png" and item.title.startswith("The supernet against free baselines: noisy")
    assert item.findings[0].startswith(f"noisy vs truth accuracy, {N} archs: noisy ranks at Kendall ")
    assert [f.split(" on Kendall")[0] for f in item.findings[1:]] == [
        "noisy loses to sharp", "noisy loses to params", "noisy loses to flops"]
    assert not report.sections[0].missing


def test_replicate_columns_are_audited_as_one_replicated_method(tables, capsys):
    """`--replicate-cols`: three noisy replicate columns get the replicated figure (mean Kendall over the columns,
    replicate-level interval, agreement) and paired verdicts on the per-replicate differences, printed first; a
    lower-is-better replicate column is oriented like any other; bad groups get one clear error."""
    frame = pd.read_csv(tables / "scores.csv")
    truth = pd.read_csv(tables / "truth.csv")["accuracy"].to_numpy() - 90
    rng = np.random.default_rng(8)
    for r, scale in enumerate((1.0, 1.5, 2.0)):
        frame[f"seed{r}"] = truth + rng.normal(scale=scale, size=N)
    frame["seed2"] = -frame["seed2"]  # a loss-like column: lower is better
    frame.to_csv(tables / "scores.csv", index=False)
    out, metrics = _audit(capsys, tables, "reps", "--replicate-cols", "seed0,seed1,seed2", "--score-col", "sharp",
                          "--lower-is-better", "seed2", "--space", "nb201")
    assert out[0] == f"[audit] truth accuracy: replicate columns seed0, seed1, seed2 on {N} archs"
    assert out[1].startswith("  3 replicates: Kendall ") and "seeds random, archs resampled" in out[1]
    group = metrics["replicated"][0]
    per = [stats_kendall(frame[c] * (-1 if c == "seed2" else 1), truth) for c in ("seed0", "seed1", "seed2")]
    assert group["replicated"]["kendall"]["per_replicate"] == pytest.approx(per)
    assert group["kendall"]["value"] == pytest.approx(np.mean(per)) and group["kendall"]["conditions"] == (
        "seeds random, archs resampled")
    sharp = _baseline(group, "sharp")["supernet_minus_baseline"]["kendall"]
    assert sharp["design"] == "fixed B" and sharp["ci_high"] < 0 and len(sharp["per_replicate"]) == 3
    assert any(line.startswith("  the replicate group loses to sharp on Kendall tau by -") for line in out[:8])
    assert {b["name"] for b in group["baselines"]} == {"sharp", "params", "flops"}
    for bad, message in (("seed0", "name at least two score columns"), ("seed0,nope", "has no column 'nope'")):
        capsys.readouterr()
        assert main(["audit", "--scores", str(tables / "scores.csv"), "--truth", str(tables / "truth.csv"),
                     "--replicate-cols", bad, "--out", str(tables / "bad"), "--quiet"]) != 0
        assert message in capsys.readouterr().err


def stats_kendall(a, b) -> float:
    from scipy import stats
    return float(stats.kendalltau(np.asarray(a, dtype=float), b).statistic)
