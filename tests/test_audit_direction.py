"""Metric direction, units, tolerances, top-k sizes, several scores and truths, and the seed-noise ceiling of
`wsnas audit`, checked through the CLI against scipy and against the mirror audit of negated columns."""
import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from wsnas.analysis.metrics import kendall_tau, tie_buckets
from wsnas.cli import main

N = 80
CORRELATIONS = ("kendall", "spearman", "pearson", "weighted_kendall", "sparse_kendall")


@pytest.fixture
def tables(tmp_path):
    """A space wsnas does not know (keys 'cell-000'...): a loss (lower is better), a 0-1 similarity, an accuracy
    in % and three per-seed losses as truth; a supernet loss and a cheap proxy as scores."""
    rng = np.random.default_rng(11)
    quality = rng.normal(size=N)
    keys = [f"cell-{i:03d}" for i in range(N)]
    seeds = 1.0 - 0.2 * quality[:, None] + rng.normal(scale=0.08, size=(N, 3))
    seeds[5, 2] = np.nan  # a run the benchmark did not make
    truth = pd.DataFrame({"key": keys, "loss": np.nanmean(seeds, axis=1).round(4),
                          "sim": (0.6 + 0.08 * quality + rng.normal(scale=0.03, size=N)).round(3),
                          "acc (%)": (90 + 2 * quality + rng.normal(scale=0.4, size=N)).round(2),
                          **{f"loss_s{k}": seeds[:, k].round(4) for k in range(3)}})
    truth["negloss"] = -truth["loss"]
    scores = pd.DataFrame({"key": keys, "supernet_loss": (2.0 - 0.3 * quality + rng.normal(scale=0.2, size=N)).round(3),
                           "proxy": rng.integers(1, 9, size=N) + (quality > 0)})
    s, t = tmp_path / "proxies.csv", tmp_path / "multitask.csv"
    scores.to_csv(s, index=False)
    truth.to_csv(t, index=False)
    return tmp_path, s, t, scores, truth


def _run(capsys, tmp_path, s, t, out, *extra) -> tuple[dict, str]:
    capsys.readouterr()
    assert main(["audit", "--scores", str(s), "--truth", str(t), "--out", str(tmp_path / out), "--n-boot", "200",
                 "--db", str(tmp_path / "db.sqlite"), *extra]) == 0
    return json.loads((tmp_path / out / "metrics.json").read_text()), capsys.readouterr().out


def test_a_lower_is_better_truth_mirrors_the_negated_one_exactly(tables, capsys):
    tmp_path, s, t, scores, truth = tables
    common = ("--score-col", "proxy", "--sparse-tol", "0.05")
    low, text = _run(capsys, tmp_path, s, t, "low", "--truth-col", "loss", "--lower-is-better", "loss", *common)
    neg, _ = _run(capsys, tmp_path, s, t, "neg", "--truth-col", "negloss", *common)
    (a,), (b,) = low["results"], neg["results"]
    for name in CORRELATIONS:
        assert a[name] == b[name]  # value and interval: the same figures
    assert a["regret"] == b["regret"] and a["mean_truth"] == -b["mean_truth"]
    for ra, rb in zip(a["topk"], b["topk"]):
        for key in ("supernet_best", "random_expected_best", "oracle_best"):
            assert ra[key] == -rb[key]  # in the loss's own units
        for key in ("k", "supernet_best_true_rank", "worst_true_rank", "precision_at_k", "precision_at_bottom_k"):
            assert ra[key] == rb[key]
    # oracle and regret in loss units: the lowest loss, and the loss of the proxy's pick above it
    assert a["topk"][0]["oracle_best"] == truth["loss"].min()
    picks = truth["loss"][scores["proxy"] == scores["proxy"].max()]
    assert a["regret"] == pytest.approx(picks.mean() - truth["loss"].min())
    assert a["topk"][0]["supernet_best"] == pytest.approx(picks.mean())
    # weighted Kendall weighs the truly best, i.e. the lowest losses
    expected = stats.weightedtau(-truth["loss"], scores["proxy"], rank=None).statistic
    assert a["weighted_kendall"]["value"] == pytest.approx(expected, abs=1e-12)
    assert a["kendall"]["value"] == pytest.approx(stats.kendalltau(scores["proxy"], -truth["loss"]).statistic)
    assert "truth loss (lower is better)" in text and "regret  " in text and "pp" not in text
    assert "%" not in text.replace("95% CI", "").replace("1%", "").replace("10%", "")  # no unit is assumed


def test_a_lower_is_better_score_is_negated_too(tables, capsys):
    tmp_path, s, t, scores, truth = tables
    result, text = _run(capsys, tmp_path, s, t, "both", "--score-col", "supernet_loss", "--truth-col", "loss",
                        "--lower-is-better", "supernet_loss,loss")
    (r,) = result["results"]
    assert r["kendall"]["value"] == pytest.approx(stats.kendalltau(scores.supernet_loss, truth.loss).statistic)
    assert r["kendall"]["value"] > 0.3  # a loss ranked by a loss: both oriented, the ranking agrees
    assert r["mean_supernet_acc"] == pytest.approx(scores.supernet_loss.mean())
    assert (r["score_direction"], r["truth_direction"]) == ("lower", "lower")
    assert f"mean supernet_loss {scores.supernet_loss.mean():.3f}\n" in text
    assert "score supernet_loss (lower is better)" in text


def test_units_come_from_names_or_options_and_set_the_sparse_tolerance(tables, capsys):
    tmp_path, s, t, scores, truth = tables
    result, text = _run(capsys, tmp_path, s, t, "units", "--score-col", "proxy", "--truth-col", "loss,sim,acc (%)",
                        "--lower-is-better", "loss", "--unit", "loss=nats", "--sparse-tol", "loss=0.05")
    by_truth = {r["truth"]: r for r in result["results"]}
    assert by_truth["loss"]["truth_unit"] == "nats" and by_truth["acc (%)"]["truth_unit"] == "%"
    assert by_truth["sim"]["truth_unit"] is None
    assert by_truth["loss"]["sparse_kendall"]["tol"] == 0.05 and by_truth["acc (%)"]["sparse_kendall"]["tol"] == 0.1
    assert by_truth["sim"]["sparse_kendall"]["tol"] is None and by_truth["sim"]["sparse_kendall"]["value"] is None
    blocks = {b.split("\n")[0]: b for b in text.split("== score ")[1:]}
    loss = next(b for h, b in blocks.items() if "truth loss" in h)
    sim = next(b for h, b in blocks.items() if "truth sim" in h)
    acc = next(b for h, b in blocks.items() if "truth acc (%)" in h)
    assert "regret (nats)" in loss and "sparse kendall 0.05 nats" in loss and "pp" not in loss
    assert "regret (pp)" in acc and "sparse kendall 0.1pp" in acc
    assert "sparse kendall (no tol)" in sim and "regret  " in sim and "pp" not in sim
    assert re.search(r"mean proxy \d\.\d+\n", text)  # a count: no unit, no percentage

    result, _ = _run(capsys, tmp_path, s, t, "sim", "--score-col", "proxy", "--truth-col", "sim", "--sparse-tol",
                     "0.01")
    (r,) = result["results"]
    assert r["sparse_kendall"]["value"] == pytest.approx(kendall_tau(scores.proxy, tie_buckets(truth.sim, 0.01)))
    assert r["sparse_kendall"]["value"] != pytest.approx(r["kendall"]["value"])


def test_the_topk_sizes_are_set_from_the_command_line(tables, capsys):
    tmp_path, s, t, *_ = tables
    result, text = _run(capsys, tmp_path, s, t, "topk", "--score-col", "proxy", "--truth-col", "sim",
                        "--topk", "1,5,25%")
    assert [(row["label"], row["k"]) for row in result["results"][0]["topk"]] == [("1", 1), ("5", 5), ("25%", 20)]
    assert "archs with equal truth share the best rank of their tie" in text
    capsys.readouterr()
    assert main(["audit", "--scores", str(s), "--truth", str(t), "--truth-col", "sim", "--topk", "500",
                 "--score-col", "proxy",
                 "--out", str(tmp_path / "big")]) == 2
    assert "more than the 80 matched archs" in capsys.readouterr().err


def test_several_scores_and_truths_give_a_table_per_pair_and_a_kendall_matrix(tables, capsys):
    tmp_path, s, t, scores, truth = tables
    result, text = _run(capsys, tmp_path, s, t, "grid", "--score-col", "supernet_loss", "--score-col", "proxy",
                        "--truth-col", "loss,sim", "--lower-is-better", "supernet_loss,loss")
    pairs = [(r["score"], r["truth"]) for r in result["results"]]
    assert pairs == [("supernet_loss", "loss"), ("supernet_loss", "sim"), ("proxy", "loss"), ("proxy", "sim")]
    sign = {"supernet_loss": -1, "loss": -1, "proxy": 1, "sim": 1}
    for r in result["results"]:
        expected = stats.kendalltau(sign[r["score"]] * scores[r["score"]], sign[r["truth"]] * truth[r["truth"]])
        assert r["kendall"]["value"] == pytest.approx(expected.statistic, abs=1e-12)
    assert text.count("== score ") == 4 and "of every score (rows) against every truth (columns)" in text
    matrix = text.split("against every truth (columns)")[1]
    kendall = {(r["score"], r["truth"]): r["kendall"] for r in result["results"]}
    row = next(line for line in matrix.splitlines() if line.strip().startswith("proxy"))
    assert f"{kendall[('proxy', 'sim')]['value']:+.3f} [{kendall[('proxy', 'sim')]['ci_low']:+.3f}," in row
    with pytest.raises(AssertionError):
        _run(capsys, tmp_path, s, t, "bad", "--truth-col", "loss", "--lower-is-better", "los")
    assert "neither a --score-col" in capsys.readouterr().err


def test_truth_seeds_give_the_seed_noise_ceiling(tables, capsys):
    tmp_path, s, t, scores, truth = tables
    result, text = _run(capsys, tmp_path, s, t, "seeds", "--score-col", "supernet_loss", "--truth-col", "loss",
                        "--lower-is-better", "supernet_loss,loss", "--truth-seeds", "loss_s0,loss_s1,loss_s2")
    ceiling = result["results"][0]["ceiling"]
    assert ceiling["seed_columns"] == ["loss#seed0", "loss#seed1", "loss#seed2"]
    comparison = {tuple(c["seeds"]): c for c in ceiling["seed_vs_seed"]["comparisons"]}
    known = truth[["loss_s0", "loss_s2"]].dropna()
    assert comparison[(0, 2)]["n"] == N - 1
    assert comparison[(0, 2)]["kendall"] == pytest.approx(stats.kendalltau(known.loss_s0, known.loss_s2).statistic)
    assert "ceiling: run vs run" in text and "kendall of the runs' mean vs truth" in text

    named = truth.rename(columns={f"loss_s{k}": f"loss#seed{k}" for k in range(3)})  # found without the option
    named.to_csv(t, index=False)
    again, _ = _run(capsys, tmp_path, s, t, "seeds-by-name", "--score-col", "supernet_loss", "--truth-col", "loss",
                    "--lower-is-better", "supernet_loss,loss")
    assert again["results"][0]["ceiling"]["seed_vs_seed"] == ceiling["seed_vs_seed"]
    assert not math.isnan(again["results"][0]["ceiling"]["seed_vs_rest"]["kendall"]["mean"])
