"""Tests for wsnas.analysis.ceiling (the seed-noise ceiling) and its place in compare.summarise."""
from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsnas.analysis import metrics as m
from wsnas.analysis.ceiling import no_ceiling_reason, reliability_bound, seed_ceiling
from wsnas.analysis.score_summary import format_summary, join_truth, summarise
from wsnas.benchmarks.groundtruth import GroundTruth, load_ground_truth
from wsnas.benchmarks.spaces.nb201.space import NB201Space

METRIC = "cifar10/test"
SEEDS = [f"{METRIC}#seed{k}" for k in range(3)]
RANK_STATS = ("kendall", "spearman", "weighted_kendall")
SPACE = NB201Space()
KEYS = [SPACE.format(a) for a in SPACE.sample(40, seed=0)]
FAST = settings(max_examples=30, deadline=None)


def synthetic_truth(seeds: np.ndarray) -> GroundTruth:
    """A ground truth for KEYS[:n] with per-seed columns `seeds` (n x 3, NaN = no such run) and their mean."""
    n = seeds.shape[0]
    frame = pd.DataFrame({"key": KEYS[:n], "index": np.arange(n), METRIC: np.nanmean(seeds, axis=1)})
    for k, column in enumerate(SEEDS):
        frame[column] = seeds[:, k]
    return GroundTruth(frame, "nb201", "synthetic")


@st.composite
def seed_tables(draw, min_size=3, max_size=40):
    """n x 3 per-seed accuracies with ties, and runs missing as in NB201 (seed 0 always, seed 2 only with 1)."""
    n = draw(st.integers(min_size, max_size))
    base = np.array(draw(st.lists(st.integers(80, 95), min_size=n, max_size=n)), dtype=float)
    noise = np.array(draw(st.lists(st.integers(-2, 2), min_size=3 * n, max_size=3 * n)), dtype=float)
    seeds = base[:, None] + noise.reshape(n, 3)
    runs = np.array(draw(st.lists(st.integers(1, 3), min_size=n, max_size=n)))
    seeds[runs < 2, 1] = np.nan
    seeds[runs < 3, 2] = np.nan
    return seeds


def _both(a, b):
    known = ~np.isnan(a) & ~np.isnan(b)
    return a[known], b[known]


# ---------------------------------------------------------------------------------------- synthetic truth

@FAST
@given(seed_tables())
def test_identical_seeds_give_a_perfect_ceiling(table):
    seeds = np.repeat(table[:, :1], 3, axis=1)
    seeds[np.isnan(table)] = np.nan  # same missing runs, identical values where present
    ceiling = seed_ceiling(synthetic_truth(seeds), METRIC, KEYS[: len(seeds)], topk=[1, 3, 0.5])
    for part in ("seed_vs_seed", "seed_vs_rest"):
        for c in ceiling[part]["comparisons"]:
            if c["n"] < 3:  # too few archs with both runs: undefined, not an error
                assert all(math.isnan(c[name]) for name in (*m.CORRELATIONS, "regret")) and c["topk"] == []
                continue
            assert c["regret"] == 0 and all(t["best_gap"] == 0 for t in c["topk"])
            i, *j = c["seeds"]  # seed i against seed j, or against the mean of the others
            others = np.delete(seeds, i, axis=1) if not j else seeds[:, j]
            shared = seeds[~np.isnan(seeds[:, i]) & ~np.isnan(others).all(axis=1), 0]
            for name in m.CORRELATIONS:  # perfect, unless all shared archs have one value (nothing to rank)
                assert c[name] == pytest.approx(1) if np.ptp(shared) > 0 else math.isnan(c[name])


def test_identical_distinct_seeds_give_perfect_precision():
    values = np.arange(80.0, 120.0)
    ceiling = seed_ceiling(synthetic_truth(np.column_stack([values] * 3)), METRIC, KEYS, topk=[1, 5, 0.1])
    for part in ("seed_vs_seed", "seed_vs_rest"):
        assert ceiling[part]["n"] == {"min": 40, "max": 40}
        for name in (*m.CORRELATIONS, "regret"):
            expected = 0 if name == "regret" else 1
            assert ceiling[part][name] == pytest.approx({"mean": expected, "min": expected, "max": expected})
        assert [t["label"] for t in ceiling[part]["topk"]] == ["1", "5", "10%"]
        assert all(t["precision_at_k"]["min"] == 1 for t in ceiling[part]["topk"])
    assert ceiling["seed_mean_vs_metric"] == {"n": 40, "kendall": pytest.approx(1)}


@FAST
@given(seed_tables(), st.lists(st.floats(-5, 5), min_size=3, max_size=3))
def test_ceiling_matches_direct_computation_and_ignores_run_offsets(seeds, offsets):
    n = len(seeds)
    ceiling = seed_ceiling(synthetic_truth(seeds), METRIC, KEYS[:n], topk=[1])
    pairs = {tuple(c["seeds"]): c for c in ceiling["seed_vs_seed"]["comparisons"]}
    assert list(pairs) == [(0, 1), (0, 2), (1, 2)]
    for (i, j), c in pairs.items():
        a, b = _both(seeds[:, i], seeds[:, j])
        assert c["n"] == a.size
        assert c["kendall"] == pytest.approx(m.stat_or_nan(m.kendall_tau, a, b) if a.size >= 3 else math.nan,
                                             nan_ok=True)
    for c in ceiling["seed_vs_rest"]["comparisons"]:
        i = c["seeds"][0]
        others = np.delete(seeds, i, axis=1)
        rest = np.array([np.mean(row[~np.isnan(row)]) if (~np.isnan(row)).any() else np.nan for row in others])
        a, b = _both(seeds[:, i], rest)
        assert c["n"] == a.size
        assert c["spearman"] == pytest.approx(m.stat_or_nan(m.spearman_rho, a, b) if a.size >= 3 else math.nan,
                                              nan_ok=True)
    # a run that is uniformly better or worse than another does not change the ranking statistics
    shifted = seed_ceiling(synthetic_truth(seeds + np.array(offsets)), METRIC, KEYS[:n], topk=[1])
    for name in RANK_STATS:
        for c, d in zip(ceiling["seed_vs_seed"]["comparisons"], shifted["seed_vs_seed"]["comparisons"]):
            assert d[name] == pytest.approx(c[name], abs=1e-12, nan_ok=True)
    for name in (*m.CORRELATIONS, "regret"):
        spread = ceiling["seed_vs_seed"][name]
        assert math.isnan(spread["mean"]) or spread["min"] - 1e-12 <= spread["mean"] <= spread["max"] + 1e-12


def test_no_ceiling_without_per_seed_columns():
    truth = synthetic_truth(np.column_stack([np.arange(80.0, 120.0)] * 3))
    truth.frame["cifar100/test"] = truth.frame[METRIC]
    assert seed_ceiling(truth, "cifar100/test", KEYS) is None
    reason = no_ceiling_reason(truth, "cifar100/test")
    assert "cifar100/test has 0 per-seed column(s)" in reason and "exist for cifar10/test" in reason
    one_seed = GroundTruth(truth.frame.drop(columns=SEEDS[1:]), "nb201", "synthetic")
    assert seed_ceiling(one_seed, METRIC, KEYS) is None
    assert "has 1 per-seed column(s)" in no_ceiling_reason(one_seed, METRIC)
    assert no_ceiling_reason(truth, METRIC) is None


def test_too_few_shared_archs_are_undefined_not_an_error():
    seeds = np.column_stack([np.arange(80.0, 90.0)] * 3)
    seeds[2:, 2] = np.nan  # seed 2 for two archs only
    ceiling = seed_ceiling(synthetic_truth(seeds), METRIC, KEYS[:10], topk=[1, 5])
    by_pair = {tuple(c["seeds"]): c for c in ceiling["seed_vs_seed"]["comparisons"]}
    assert by_pair[(0, 2)]["n"] == 2 and math.isnan(by_pair[(0, 2)]["kendall"]) and by_pair[(0, 2)]["topk"] == []
    assert by_pair[(0, 1)]["kendall"] == pytest.approx(1)
    assert ceiling["seed_vs_seed"]["kendall"]["mean"] == pytest.approx(1)  # over the defined pairs only
    assert ceiling["seed_vs_seed"]["n"] == {"min": 2, "max": 10}


# ----------------------------------------------------------------------------------------- real benchmark

@pytest.fixture(scope="module")
def nb201(mirror) -> GroundTruth:
    return load_ground_truth("nb201", mirror)


@pytest.fixture(scope="module")
def keys500(nb201) -> list[str]:
    return list(np.random.default_rng(0).choice(nb201.frame["key"].to_numpy(), 500, replace=False))


def test_real_ceiling_is_high_but_not_perfect(nb201, keys500):
    ceiling = seed_ceiling(nb201, METRIC, keys500, topk=[1, 10, 0.1])
    pairs, rest = ceiling["seed_vs_seed"], ceiling["seed_vs_rest"]
    print(f"\nNB201 {METRIC} seed ceiling over 500 random archs: kendall {pairs['kendall']['mean']:.3f} "
          f"({pairs['kendall']['min']:.3f}..{pairs['kendall']['max']:.3f}), spearman {pairs['spearman']['mean']:.3f}, "
          f"archs per pair {pairs['n']['min']}-{pairs['n']['max']}; run vs mean of others kendall "
          f"{rest['kendall']['mean']:.3f}; runs' mean vs {METRIC} kendall "
          f"{ceiling['seed_mean_vs_metric']['kendall']:.3f}")
    for part in (pairs, rest):
        for name in (*RANK_STATS, "sparse_kendall"):
            assert 0.5 < part[name]["min"] <= part[name]["max"] < 1
        assert part["spearman"]["mean"] > part["kendall"]["mean"]
        assert 0 <= part["regret"]["min"] and part["regret"]["max"] < 1  # pp
    # seed 0 exists for every arch, seed 1 for 86% and seed 2 for 51% of NB201: the pairs shrink accordingly
    assert 300 < pairs["n"]["max"] < 500 and 150 < pairs["n"]["min"] < pairs["n"]["max"]
    assert ceiling["seed_mean_vs_metric"]["n"] == 500 and 0.95 < ceiling["seed_mean_vs_metric"]["kendall"] < 1


def test_summarise_puts_the_ceiling_beside_every_correlation(nb201, keys500):
    keys = keys500[:60]
    rng = np.random.default_rng(1)
    scores = pd.DataFrame({"key": keys * 2, "epoch": [1] * 60 + [2] * 60, "bn_policy": "recalibrate",
                           "supernet_acc": rng.uniform(10, 60, 120)})  # random scores: nothing from the truth
    joined = join_truth(scores, nb201, METRIC)
    results = summarise(joined, topk=[1, 10], n_boot=50, seed=0, truth=nb201, metric=METRIC)
    assert [r["epoch"] for r in results] == [1, 2]
    expected = seed_ceiling(nb201, METRIC, keys, topk=[1, 10])
    for r in results:
        assert r["ceiling"] == expected
        assert set(m.CORRELATIONS) <= set(r) and r["sparse_kendall"]["tol"] == m.SPARSE_TOL
        assert r["regret"] == pytest.approx(r["topk"][0]["oracle_best"] - r["topk"][0]["supernet_best"])
        assert {"worst_true_rank", "precision_at_bottom_k", "kendall_in_topk"} <= set(r["topk"][1])
    text = format_summary(results, METRIC)
    print("\n" + text)
    assert text.count("ceiling: run vs run") == 2 and "weighted kendall" in text and "sparse kendall 0.1pp" in text
    kendall_line = next(line for line in text.splitlines() if line.strip().startswith("kendall "))
    assert f"{expected['seed_vs_seed']['kendall']['mean']:+.3f}" in kendall_line
    assert "of 60 archs" in text

    valid = summarise(join_truth(scores, nb201, "cifar10-valid/valid"), topk=[1], n_boot=20, seed=0,
                      truth=nb201, metric="cifar10-valid/valid")
    assert "per-seed column" in valid[0]["ceiling"]["undefined_because"]
    text = format_summary(valid, "cifar10-valid/valid")
    assert "no seed ceiling: cifar10-valid/valid has 0 per-seed column(s)" in text
    assert "ceiling" not in summarise(joined, topk=[1], n_boot=20, seed=0)[0]
    with pytest.raises(TypeError, match="both truth and metric"):
        summarise(joined, topk=[1], n_boot=20, seed=0, truth=nb201)


def test_ceiling_module_does_not_import_torch():
    code = "import sys, wsnas.analysis.ceiling, wsnas.analysis.score_summary; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------------------------- reliability bound

def test_bound_is_what_the_best_predictor_reaches_against_a_mean_of_runs():
    """Simulated benchmark: expected accuracy mu plus seed noise per run; the truth column is the mean of the
    runs. The bound, computed from the runs alone, matches Kendall(mu, column), which run vs run falls short of."""
    rng = np.random.default_rng(0)
    n, reached, bounds = 300, [], []
    for _ in range(20):
        mu = rng.normal(90, 1.0, n)
        runs = mu[:, None] + rng.normal(0, 0.8, (n, 3))
        runs[rng.random(n) < 0.3, 2] = np.nan  # some archs have two runs only
        column = np.round(np.nanmean(runs, axis=1), 2)
        bound = reliability_bound(runs, column, topk=[10])
        reached.append(m.kendall_tau(mu, column))
        bounds.append(bound["kendall"])
        assert bound["runs_per_arch"] == pytest.approx(1 / np.mean(1 / (~np.isnan(runs)).sum(axis=1)))
        assert bound["kendall_ci_low"] <= bound["kendall"] <= bound["kendall_ci_high"]
        run_vs_run = np.nanmean([m.kendall_tau(*_both(runs[:, i], runs[:, j])) for i, j in ((0, 1), (0, 2), (1, 2))])
        assert run_vs_run < bound["kendall"]
        check = bound["check"]
        assert check["seed_vs_rest_predicted"] > run_vs_run
    # a seeded float64 simulation (the same on every CPU): 0.01 is the estimate's accuracy, not a rounding bound
    assert np.mean(bounds) == pytest.approx(np.mean(reached), abs=0.01)


def test_bound_precision_uses_the_supernets_archs_and_k(nb201, keys500):
    keys = keys500[:250]
    ceiling = seed_ceiling(nb201, METRIC, keys, topk=[1, 10, 0.1])
    bound = ceiling["reliability"]
    assert bound["n"] == 250 and [(t["label"], t["k"]) for t in bound["topk"]] == [("1", 1), ("10", 10), ("10%", 25)]
    assert all(0 < t["precision_at_k"] <= 1 for t in bound["topk"])
    # run vs run compares fewer archs (those with both runs): not the supernet's pool
    assert ceiling["seed_vs_seed"]["n"]["max"] < 250
    pairs = ceiling["seed_vs_seed"]["kendall"]["mean"]
    assert pairs < ceiling["seed_vs_rest"]["kendall"]["mean"] < bound["kendall"] < 1
    # a prediction checked on real seeds (float64, deterministic): 0.02 is its accuracy, not a rounding bound
    assert bound["check"]["seed_vs_rest_predicted"] == pytest.approx(bound["check"]["seed_vs_rest_observed"], abs=0.02)
    text = format_summary(summarise(join_truth(pd.DataFrame({"key": keys, "epoch": 1, "bn_policy": "recalibrate",
                                                             "supernet_acc": np.arange(250.0)}), nb201, METRIC),
                                    topk=[10], n_boot=20, seed=0, truth=nb201, metric=METRIC), METRIC)
    assert "bound: any predictor" in text and "prec@k on the same 250 archs and k" in text


def test_flops_beats_run_vs_run_but_not_the_bound_on_channel_resnet(mirror):
    """The issue's example: FLOPs alone ranks Channel-Bench-Macro ResNet above the old run-vs-run ceiling."""
    from wsnas.analysis.features import feature_table

    truth = load_ground_truth("channel-resnet", mirror)
    keys = list(np.random.default_rng(0).choice(truth.frame["key"].to_numpy(), 1000, replace=False))
    flops = feature_table("channel-resnet", keys)["flops_M"].to_numpy(dtype=float)
    tau_flops = m.kendall_tau(flops, truth.values(METRIC, keys))
    ceiling = seed_ceiling(truth, METRIC, keys)
    print(f"\nchannel-resnet, 1000 archs: FLOPs {tau_flops:+.3f}, run vs run "
          f"{ceiling['seed_vs_seed']['kendall']['mean']:+.3f}, bound {ceiling['reliability']['kendall']:+.3f}")
    assert ceiling["seed_vs_seed"]["kendall"]["mean"] < tau_flops < ceiling["reliability"]["kendall_ci_low"]
