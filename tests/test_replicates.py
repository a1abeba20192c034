"""Replicated supernets and paired comparisons: the two-level bootstrap, `wsnas analyze` / `studies` / `compare` /
`query` on a replicate group. The groups here hold synthetic scores (no training): supernet scores are the truth
plus noise, so the expected verdicts are known."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wsnas.analysis.metrics import bootstrap_ci, bootstrap_values, kendall_tau
from wsnas.analysis.replicated import ScoreSet, paired_difference, replicate_summary, verdict
from wsnas.analysis.studies.inputs import load_inputs
from conftest import synthetic_group
from wsnas.cli import main
from wsnas.core.config import build_config
from wsnas.core.groups import ReplicateGroup, member_config
from wsnas.core.runs import RunDir

METRIC = "cifar10/test"


def _synthetic(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.normal(size=n)
    return truth, truth + noise * rng.normal(size=n)


def test_identical_replicates_give_the_single_run_arch_interval():
    """Replicates without seed spread: only the arch part is left, the single run's bootstrap variance (a normal
    interval on it), while one run keeps its percentile interval and says its seed is fixed."""
    truth, score = _synthetic(60, 1.0, 0)
    keys = tuple(str(i) for i in range(60))
    one = replicate_summary(ScoreSet("one", keys, score[None, :], ("r0",)), truth, topk=(), n_boot=300, seed=3)
    three = replicate_summary(ScoreSet("three", keys, np.stack([score] * 3), ("a", "b", "c")), truth, topk=(),
                              n_boot=300, seed=3)
    low, high = bootstrap_ci(kendall_tau, score, truth, n_boot=300, seed=3)
    assert (one["kendall"]["ci_low"], one["kendall"]["ci_high"]) == pytest.approx((low, high))
    assert one["kendall"]["conditions"] == "seeds fixed, archs resampled"
    sd = np.std(bootstrap_values(kendall_tau, score, truth, n_boot=300, seed=3), ddof=1)
    assert three["kendall"]["se"] == pytest.approx(sd) and three["kendall"]["parts"]["seed"] == 0  # no seed spread: normal
    assert three["kendall"]["ci_high"] - three["kendall"]["ci_low"] == pytest.approx(2 * 1.959964 * sd)
    assert three["kendall"]["conditions"] == "seeds random, archs resampled"
    assert three["kendall"]["sd"] == 0 and three["agreement"]["mean"] == pytest.approx(1)


def test_replicate_spread_widens_the_interval_and_is_reported():
    truth, _ = _synthetic(80, 0, 1)
    rng = np.random.default_rng(2)
    scores = np.stack([truth + s * rng.normal(size=80) for s in (0.3, 1.0, 3.0)])  # very different replicates
    keys = tuple(map(str, range(80)))
    summary = replicate_summary(ScoreSet("s", keys, scores, ("a", "b", "c")), truth, topk=(10,), n_boot=400, seed=0)
    per = [kendall_tau(row, truth) for row in scores]
    assert summary["kendall"]["per_replicate"] == pytest.approx(per)
    assert summary["kendall"]["value"] == pytest.approx(np.mean(per))
    assert summary["kendall"]["sd"] == pytest.approx(np.std(per, ddof=1))
    single = bootstrap_ci(kendall_tau, scores[1], truth, n_boot=400, seed=0)
    assert summary["kendall"]["ci_high"] - summary["kendall"]["ci_low"] > single[1] - single[0]
    assert summary["mean_score"]["kendall"]["value"] == pytest.approx(kendall_tau(scores.mean(axis=0), truth))
    assert "supernet_best@10" in summary and "precision_at_bottom_k@10" in summary


def test_paired_difference_detects_a_better_ranking_and_not_a_copy():
    truth, good = _synthetic(120, 0.5, 4)
    bad = truth + 2.0 * np.random.default_rng(5).normal(size=120)
    keys = tuple(map(str, range(120)))
    a, b = ScoreSet("a", keys, good[None, :], ("a",)), ScoreSet("b", keys, bad[None, :], ("b",))
    better = paired_difference(a, b, truth, topk=(), n_boot=400, seed=0)["kendall"]
    assert better["ci_low"] > 0 and better["p_value"] < 0.01 and verdict(better, "A", "B").startswith("A beats B")
    same = paired_difference(a, a, truth, topk=(), n_boot=400, seed=0)["kendall"]
    assert same["difference"] == 0 and same["ci_low"] == same["ci_high"] == 0 and same["p_value"] == 1
    assert "not distinguishable" in verdict(same, "A", "A")


@pytest.fixture(scope="module")
def group(tmp_path_factory, mirror) -> Path:
    """A synthetic replicate group (conftest.synthetic_group)."""
    return synthetic_group(tmp_path_factory.mktemp("group") / "g", mirror)


def test_analyze_a_group_leads_with_the_replicated_figure_and_the_baselines(group, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("WSNAS_DB", str(tmp_path / "db.sqlite"))
    assert main(["analyze", str(group)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("epoch 1  bn_policy=inherit") and out[1].startswith("  3 replicates: Kendall")
    assert any("the supernet" in line and "params" in line for line in out[:12])
    metrics = json.loads((group / "metrics.json").read_text())
    result = next(r for r in metrics["results"] if r["epoch"] == 2 and r["bn_policy"] == "recalibrate")
    assert result["replicates"] == 3 and len(result["members"]) == 3
    per = result["replicated"]["kendall"]["per_replicate"]
    assert result["kendall"]["value"] == pytest.approx(np.mean(per))
    assert [m["kendall"]["value"] for m in result["members"]] == pytest.approx(per)
    assert {b["name"] for b in result["baselines"]} == {"params", "flops"}
    for r in range(3):  # each member has its own single-run metrics
        assert json.loads((group / f"rep-{r}" / "metrics.json").read_text())["replicates"] == 1

    assert main(["query", "kendall", "--kind", "group", "--csv"]) == 0
    table = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert len(table) == 4 and set(table.replicates) == {3}
    assert set(table.ci_conditions) == {"seeds random, archs resampled"}  # the database says what each CI holds
    assert main(["query", "runs", "--csv"]) == 0
    runs = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert sorted(runs.kind) == ["group", "run", "run", "run"]


def test_compare_two_bn_policies_of_one_group_pairs_the_replicates(group, capsys, tmp_path):
    out = tmp_path / "cmp.json"
    assert main(["compare", f"{group}@bn_policy=recalibrate", f"{group}@bn_policy=inherit", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "A beats B on Kendall tau" in text and "paired (the same supernets)" in text
    doc = json.loads(out.read_text())
    assert doc["n_archs"] == 150 and doc["differences"]["kendall"]["ci_low"] > 0
    assert main(["compare", f"{group}@epoch=1,bn_policy=recalibrate", f"{group}@epoch=2,bn_policy=recalibrate"]) == 0
    assert "A loses to B" in capsys.readouterr().out
    assert main(["compare", str(group), "baseline:params"]) == 0
    assert "B = free baseline params" in capsys.readouterr().out


def test_a_later_partial_score_set_in_one_member_changes_no_default(group, capsys, tmp_path):
    """Rescoring part of one replicate with other settings (a new score set) leaves the default score set of the
    group, and so every comparison and study, where it was: one set, the run's own, for every member."""
    copy = tmp_path / "g"
    shutil.copytree(group, copy)
    last = RunDir(copy / "rep-2")
    scores = pd.read_csv(last.scores_path)
    late = scores[(scores.score_set == "set-recalibrate") & (scores.epoch == 2)].head(20).assign(score_set="set-late")
    last.write_table(last.scores_path, pd.concat([scores, late]))
    out = tmp_path / "cmp.json"
    assert main(["compare", f"{copy}@bn_policy=recalibrate", f"{copy}@bn_policy=inherit", "--out", str(out)]) == 0
    assert "score set set-recalibrate" in capsys.readouterr().out
    assert json.loads(out.read_text())["n_archs"] == 150
    assert {i.score_set for i in load_inputs(copy)} == {"set-recalibrate"}


def test_compare_names_what_is_wrong(group, capsys):
    for argv, expected in (([f"{group}@policy=inherit", str(group)], "KEY=VALUE with KEY one of"),
                           ([f"{group}@bn_policy=batch", str(group)], "has no scores with bn_policy=batch"),
                           ([str(group), "baseline:synflow"], "no free baseline 'synflow'"),
                           (["baseline:params", str(group)], "put the supernet first")):
        assert main(["compare", *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith("wsnas: error: ") and expected in err and "Traceback" not in err


def test_studies_of_a_group_report_the_mean_over_replicates(group, capsys):
    assert main(["studies", str(group), "--only", "epochs,topk", "--quiet", "--draws", "20"]) == 0
    epochs = json.loads((group / "studies" / "epochs.json").read_text())
    assert epochs["replicates"] == 3 and [r["epoch"] for r in epochs["rows"]] == [1, 2]
    last = epochs["rows"][-1]
    assert last["kendall"] == pytest.approx(np.mean(last["kendall_per_replicate"]))
    assert epochs["change"]["peak_is_last"] and epochs["change"]["kendall"]["ci_low"] > 0  # less noise at epoch 2
    topk = json.loads((group / "studies" / "topk.json").read_text())
    assert len(topk["per_replicate"]) == 3 and "supernet_best_mean_sd" in topk["rows"][0]


def test_noise_components_vanish_where_a_source_does_not_vary():
    from wsnas.analysis.studies.noise import components, design_table, predicted_width

    rng = np.random.default_rng(0)
    truth = rng.normal(size=40)
    p = 1 / (1 + np.exp(-truth))  # better archs classify more images right
    hits = rng.random((1, 1, 40, 300)) < p[None, None, :, None]
    same = np.broadcast_to(hits, (3, 2, 40, 300))  # every replicate and calibration draw gives the same hits
    comp = components(np.ascontiguousarray(same), truth, n_boot=50, seed=0)
    variance = {r["source"]: r["variance"] for r in comp["rows"]}
    assert variance["training seed (net)"] == 0 and variance["calibration batches"] == 0
    assert variance["arch sample (shared)"] > 0 and variance["held-out images (shared)"] > 0
    assert variance["seed x arch"] == pytest.approx(0, abs=1e-12)  # identical replicates share all of their errors
    assert variance["seed x images"] == pytest.approx(0, abs=1e-12)
    # with identical replicates more of them buy nothing; more archs and images do
    assert predicted_width(comp, 10, 40, 300) == pytest.approx(predicted_width(comp, 1, 40, 300))
    assert predicted_width(comp, 1, 160, 1200) == pytest.approx(predicted_width(comp, 1, 40, 300) / 2)
    answers = design_table(comp)["answers"]
    assert [a["target_width"] for a in answers] == [0.05, 0.1, 0.15, 0.2]


@pytest.fixture(scope="module")
def trained_group(tmp_path_factory, mirror) -> Path:
    """`wsnas study --replicates 2` at the smoke size (two real supernets)."""
    path = tmp_path_factory.mktemp("study") / "group"
    assert main(["study", "--preset", "smoke", "--replicates", "2", "--archs", "8", "--run-dir", str(path),
                 "--data-mirror", str(mirror), "--quiet"]) == 0
    return path


def test_study_with_replicates_trains_members_that_differ_only_in_their_seed(trained_group):
    group = json.loads((trained_group / "group.json").read_text())
    assert group["members"] == ["rep-0", "rep-1"] and group["seeds"] == [0, 1]
    configs = [json.loads((trained_group / m / "config.json").read_text())["config"] for m in group["members"]]
    assert [c["train"]["seed"] for c in configs] == [0, 1]
    configs[1]["train"]["seed"] = 0
    assert configs[0] == configs[1]
    scores = [pd.read_csv(trained_group / m / "scores.csv") for m in group["members"]]
    assert list(scores[0].key) == list(scores[1].key) and not scores[0].supernet_acc.equals(scores[1].supernet_acc)
    assert json.loads((trained_group / "metrics.json").read_text())["results"][0]["replicates"] == 2


def test_noise_study_scores_calibration_draws_and_writes_the_budget(trained_group, capsys):
    assert main(["noise-study", str(trained_group), "--archs", "6", "--calib-draws", "2", "--n-boot", "20",
                 "--quiet"]) == 0
    doc = json.loads((trained_group / "studies" / "noise.json").read_text())
    assert [r["source"] for r in doc["rows"]] == ["training seed (net)", "calibration batches", "arch sample (shared)",
                                                  "seed x arch", "held-out images (shared)", "seed x images"]
    assert doc["config"]["archs"] == 6 and doc["config"]["calib_seeds"] == [0, 1]
    assert len(doc["components"]["kendall"]) == 2 and len(doc["answers"]) == 4
    from wsnas.analysis.studies.noise import load_hits

    keys, hits = load_hits(trained_group / "studies" / "noise" / "hits-r1-c0.npz")  # draw 0 = evaluate's calibration
    scores = pd.read_csv(trained_group / "rep-1" / "scores.csv").set_index("key")
    assert np.allclose(100 * hits.mean(axis=1), scores.loc[keys, "supernet_acc"])
    assert "noise budget" not in capsys.readouterr().err


def test_more_replicates_extend_a_group_and_fewer_are_refused(tmp_path, mirror):
    from wsnas.core.groups import GroupError

    cfg = build_config("smoke", overrides={"data.mirror": str(mirror), "replicates": 2})
    group = ReplicateGroup(tmp_path / "g")
    group.init(cfg)
    for r in range(2):
        group.member(r).init(member_config(cfg, r))
    group.init(build_config("smoke", overrides={"data.mirror": str(mirror), "replicates": 3}))
    saved = group.saved()
    assert saved["members"] == ["rep-0", "rep-1", "rep-2"] and saved["seeds"] == [0, 1, 2]
    assert group.config().replicates == 3
    group.member(0).init(member_config(group.config(), 0))  # an existing member still matches
    with pytest.raises(GroupError, match="has 3 replicates; --replicates 2 would leave some out"):
        group.init(cfg)
    with pytest.raises(GroupError, match="train.lr: saved 0.05, now 0.1"):
        group.init(build_config("smoke", overrides={"replicates": 3, "train.lr": 0.1}))


def test_group_misuse_gets_one_clear_error(trained_group, mirror, capsys):
    base = ["study", "--preset", "smoke", "--run-dir", str(trained_group), "--data-mirror", str(mirror), "--quiet"]
    for argv, expected in (([*base, "--replicates", "2", "--set", "train.lr=0.1"],
                            "was made with a different config (train.lr: saved 0.05, now 0.1)"),
                           ([*base, "--replicates", "1"], "has 2 replicates; --replicates 1 would leave some out"),
                           ([*base, "--replicates", "0"], "--replicates 0: train at least 1 supernet"),
                           (["noise-study", str(trained_group), "--calib-draws", "0"],
                            "--calib-draws 0: score at least 1 calibration draw")):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("wsnas: error: ") and expected in err and "Traceback" not in err, err


def test_members_side_by_side_score_as_they_do_one_after_the_other(tmp_path, mirror):
    """runtime.replicate_jobs=2 trains the two members in two processes; with the same threads per member the
    scores are byte-identical to training them in turn."""
    base = ["study", "--preset", "smoke", "--replicates", "2", "--archs", "8", "--data-mirror", str(mirror),
            "--quiet", "--set", "runtime.threads=1"]
    assert main([*base, "--run-dir", str(tmp_path / "turn")]) == 0
    assert main([*base, "--run-dir", str(tmp_path / "side"), "--set", "runtime.replicate_jobs=2"]) == 0
    for member in ("rep-0", "rep-1"):
        turn, side = tmp_path / "turn" / member, tmp_path / "side" / member
        assert (side / "scores.csv").read_bytes() == (turn / "scores.csv").read_bytes()
        assert "[train]" in (side / "worker.log").read_text() and not (turn / "worker.log").exists()
    timing = json.loads((tmp_path / "side" / "study_time.json").read_text())
    assert timing["replicate_jobs"] == 2 and len(timing["members_side_by_side"]) == 2
    assert timing["seconds"]["training + scoring, side by side"] > 0 and timing["seconds"]["training"] == 0


def test_jobs_below_one_is_one_clear_error(tmp_path, mirror, capsys):
    assert main(["study", "--preset", "smoke", "--jobs", "0", "--data-mirror", str(mirror), "--quiet",
                 "--run-dir", str(tmp_path / "g")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("wsnas: error: --jobs 0") and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "g").exists()
