"""Tests for wsnas.analysis.metrics: correlations, bootstrap intervals and top-k metrics."""
from __future__ import annotations

import itertools
import math
import subprocess
import sys
from functools import partial

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.special import gammaln

from wsnas.analysis import metrics as m
from wsnas.analysis.metrics import bootstrap
from wsnas.analysis.metrics.bootstrap import _resample_stats
from wsnas.core.errors import WsnasError

RANK_STATS = [m.kendall_tau, m.spearman_rho, m.weighted_kendall]
ALL_STATS = [*RANK_STATS, m.pearson_r, m.sparse_kendall]
INCREASING = [lambda v: v**3 + v, lambda v: np.exp(v / 5), lambda v: 2 * v - 7]
FAST = settings(max_examples=40, deadline=None)


@st.composite
def paired_ints(draw, min_size=3, max_size=25, lo=-15, hi=15):
    """Two aligned integer-valued float arrays, neither constant (ties likely)."""
    n = draw(st.integers(min_size, max_size))
    x = np.array(draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n)), dtype=float)
    y = np.array(draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n)), dtype=float)
    assume(np.ptp(x) > 0 and np.ptp(y) > 0)
    return x, y


def brute_tau_b(x, y):
    """O(n^2) tau-b straight from the definition."""
    n = len(x)
    s = tied_x = tied_y = 0
    for i, j in itertools.combinations(range(n), 2):
        dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
        s += dx * dy
        tied_x += dx == 0
        tied_y += dy == 0
    pairs = n * (n - 1) / 2
    return s / math.sqrt((pairs - tied_x) * (pairs - tied_y))


def tie_orders(values):
    """Every order of the indices by decreasing value, one per permutation used as the tie-breaker."""
    n = len(values)
    for perm in itertools.permutations(range(n)):
        yield sorted(range(n), key=lambda i: (-values[i], perm[i]))


# ------------------------------------------------------------------------------------------- correlations

@FAST
@given(paired_ints(), st.sampled_from(INCREASING))
def test_rank_stats_invariant_under_increasing_transforms(pair, f):
    x, y = pair
    for fn in RANK_STATS:
        base = fn(x, y)
        assert fn(f(x), y) == pytest.approx(base, abs=1e-12)
        assert fn(x, f(y)) == pytest.approx(base, abs=1e-12)


@FAST
@given(st.lists(st.integers(-1000, 1000), min_size=3, max_size=40, unique=True))
def test_identity_and_reversal_without_ties(values):
    x = np.array(values, dtype=float)
    for fn in ALL_STATS:
        assert fn(x, x) == pytest.approx(1.0)
    for fn in (*RANK_STATS, m.sparse_kendall):
        assert fn(x, -x) == pytest.approx(-1.0)
    assert m.pearson_r(x, -x) == pytest.approx(-1.0)


@FAST
@given(paired_ints())
def test_bounds_symmetry_and_tau_b_brute_force(pair):
    x, y = pair
    for fn in ALL_STATS:
        assert -1 - 1e-12 <= fn(x, y) <= 1 + 1e-12
    for fn in (m.kendall_tau, m.spearman_rho, m.pearson_r):
        assert fn(x, y) == pytest.approx(fn(y, x), abs=1e-12)
    assert m.kendall_tau(x, y) == pytest.approx(brute_tau_b(x, y), abs=1e-12)


def test_pearson_and_spearman_reference_values():
    x = np.array([1.0, 2, 2, 4, 7])
    y = np.array([2.0, 1, 3, 3, 9])
    assert m.pearson_r(x, y) == pytest.approx(np.corrcoef(x, y)[0, 1])
    rx, ry = np.array([1, 2.5, 2.5, 4, 5]), np.array([2, 1, 3.5, 3.5, 5])
    assert m.spearman_rho(x, y) == pytest.approx(np.corrcoef(rx, ry)[0, 1])


def test_weighted_kendall_stresses_truly_best():
    truth = np.arange(10.0)
    swap_top, swap_bottom = truth.copy(), truth.copy()
    swap_top[[9, 8]] = swap_top[[8, 9]]
    swap_bottom[[0, 1]] = swap_bottom[[1, 0]]
    assert m.kendall_tau(swap_top, truth) == pytest.approx(m.kendall_tau(swap_bottom, truth))
    assert m.weighted_kendall(swap_top, truth) < m.weighted_kendall(swap_bottom, truth) < 1


# ------------------------------------------------------------------------------------------ sparse Kendall

@FAST
@given(paired_ints(), st.sampled_from([0.1, 0.5, 1.0, 2.5, 7.0]))
def test_sparse_kendall_is_tau_b_of_the_tolerance_buckets(pair, tol):
    x, y = pair
    buckets = np.floor(np.round(y / tol, 9))
    if np.ptp(buckets) == 0:
        with pytest.raises(m.MetricInputError, match=f"one tol={tol:g} bucket"):
            m.sparse_kendall(x, y, tol)
        return
    value = m.sparse_kendall(x, y, tol)
    assert value == pytest.approx(brute_tau_b(x, buckets), abs=1e-12)
    assert -1 - 1e-12 <= value <= 1 + 1e-12
    for f in INCREASING:  # only the score's order matters ...
        assert m.sparse_kendall(f(x), y, tol) == pytest.approx(value, abs=1e-12)
    # ... and the truth's buckets: shifting the truth by whole buckets changes nothing
    assert m.sparse_kendall(x, y + 3 * tol, tol) == pytest.approx(value, abs=1e-9)


@FAST
@given(paired_ints())
def test_sparse_kendall_without_tolerance_is_tau_b(pair):
    x, y = pair
    assert m.sparse_kendall(x, y, 0) == m.kendall_tau(x, y)
    gaps = np.diff(np.unique(y))
    assert m.sparse_kendall(x, y, gaps.min() * 0.99) == pytest.approx(m.kendall_tau(x, y), abs=1e-12)


def test_sparse_kendall_ties_close_truth():
    truth = np.array([93.71, 93.74, 93.78, 92.0, 91.5])  # the first three within one 0.1 pp bucket
    reversed_close = np.array([3.0, 2, 1, 0, -1])  # orders the close three against their truth
    perfect = np.array([1.0, 2, 3, 0, -1])
    assert m.kendall_tau(reversed_close, truth) == pytest.approx(0.4)  # (7 - 3) / 10 pairs
    # the 3 pairs inside the bucket count neither way; tau-b's denominator keeps the score's untied pairs
    assert m.sparse_kendall(reversed_close, truth) == m.sparse_kendall(perfect, truth) == pytest.approx(7 / 70**0.5)
    assert m.tie_buckets([93.7, 93.79, 93.8], 0.1).tolist() == [937, 937, 938]  # edges land in their own bucket


def test_sparse_kendall_with_a_huge_tolerance_is_an_error():
    truth = np.array([90.0, 91, 92, 93])
    with pytest.raises(m.MetricInputError, match="fall in one tol=1000 bucket.*use a smaller tol"):
        m.sparse_kendall(np.arange(4.0), truth, 1000)
    summary = m.correlation_summary(np.arange(4.0), truth, n_boot=20, tol=1000)
    assert math.isnan(summary["sparse_kendall"]["value"]) and summary["sparse_kendall"]["tol"] == 1000
    assert "one tol=1000 bucket" in summary["sparse_kendall"]["undefined_because"]
    assert summary["kendall"]["value"] == 1.0
    for tol in (-0.1, float("nan"), float("inf"), "0.1", True):
        with pytest.raises(m.MetricInputError, match="must be a finite number >= 0"):
            m.sparse_kendall(np.arange(4.0), truth, tol)
        with pytest.raises(m.MetricInputError, match="must be a finite number >= 0"):
            m.correlation_summary(np.arange(4.0), truth, n_boot=20, tol=tol)


# ---------------------------------------------------------------------------------------------- bootstrap

def correlated(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return x, x + rng.normal(size=n)


@pytest.mark.parametrize("fn", [m.kendall_tau, m.spearman_rho, m.pearson_r])
@pytest.mark.parametrize("data", ["ties", "tiny"])
def test_vectorised_bootstrap_matches_per_resample_loop(fn, data):
    rng = np.random.default_rng(1)
    if data == "ties":
        x = rng.integers(0, 6, 40).astype(float)
        y = x + rng.integers(0, 4, 40)
    else:  # many constant resamples, which both paths must mark undefined
        x, y = np.array([0.0, 0, 1, 1]), np.array([1.0, 0, 0, 1])
    fast = _resample_stats(fn, x, y, 300, seed=3)
    loop = _resample_stats(lambda s, t: fn(s, t), x, y, 300, seed=3)
    assert np.array_equal(np.isnan(fast), np.isnan(loop))
    np.testing.assert_allclose(fast, loop, atol=1e-12)
    if data == "tiny":
        assert np.isnan(fast).any()


def test_vectorised_kendall_in_blocks(monkeypatch):
    x, y = correlated(50)
    whole = _resample_stats(m.kendall_tau, x, y, 20, seed=0)
    monkeypatch.setattr(bootstrap, "_BLOCK_ELEMENTS", 7 * 50)
    np.testing.assert_allclose(_resample_stats(m.kendall_tau, x, y, 20, seed=0), whole, atol=1e-12)


@pytest.mark.parametrize("fn", ALL_STATS)
def test_bootstrap_contains_estimate_and_is_deterministic(fn):
    x, y = correlated(150)
    low, high = m.bootstrap_ci(fn, x, y, n_boot=300, seed=7)
    assert low < fn(x, y) < high
    assert (low, high) == m.bootstrap_ci(fn, x, y, n_boot=300, seed=7)
    assert (low, high) != m.bootstrap_ci(fn, x, y, n_boot=300, seed=8)
    narrow = m.bootstrap_ci(fn, x, y, n_boot=300, alpha=0.5, seed=7)
    assert low <= narrow[0] <= narrow[1] <= high


def test_bootstrap_kendall_is_fast():
    x, y = correlated(500)
    m.bootstrap_ci(m.kendall_tau, x, y, n_boot=1000)  # a timing check lives in the report, not here


def test_bootstrap_bad_parameters():
    x, y = correlated(20)
    for kwargs in ({"n_boot": 0}, {"n_boot": 2.5}, {"n_boot": True}, {"alpha": 0}, {"alpha": 1.5}):
        with pytest.raises(m.MetricInputError):
            m.bootstrap_ci(m.kendall_tau, x, y, **kwargs)
    with pytest.raises(m.MetricInputError, match="score is constant"):
        m.bootstrap_ci(m.kendall_tau, np.ones(20), y)


def test_correlation_summary():
    x, y = correlated(100)
    y = np.round(y * 4, 1)  # ties within the 0.1 tolerance of sparse Kendall
    summary = m.correlation_summary(x, y, n_boot=200, seed=1, tol=0.3)
    assert summary["n"] == 100
    assert list(summary) == ["n", *m.CORRELATIONS]
    sparse = partial(m.sparse_kendall, tol=0.3)
    for name, fn in {**m.CORRELATIONS, "sparse_kendall": sparse}.items():
        row = summary[name]
        assert row["value"] == pytest.approx(fn(x, y), abs=1e-12)
        # sparse Kendall's interval comes from tau-b of the bucketed truth: the same as resampling it directly
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(m.bootstrap_ci(fn, x, y, n_boot=200, seed=1))
        assert row["ci_low"] < row["value"] < row["ci_high"]
    assert summary["sparse_kendall"]["tol"] == 0.3
    assert summary["sparse_kendall"]["value"] != summary["kendall"]["value"]


# ------------------------------------------------------------------------------------------------- top-k

@FAST
@given(st.lists(st.integers(0, 5), min_size=3, max_size=8), st.data())
def test_random_expected_best_matches_all_subsets(values, data):
    truth = np.array(values, dtype=float)
    k = data.draw(st.integers(1, len(values)))
    brute = np.mean([max(c) for c in itertools.combinations(values, k)])
    assert m.random_expected_best(truth, k) == pytest.approx(brute, abs=1e-12)


def test_random_expected_best_extremes_and_large_n():
    truth = np.random.default_rng(0).normal(size=100_000)
    assert m.random_expected_best(truth, 1) == pytest.approx(truth.mean(), abs=1e-9)
    assert m.random_expected_best(truth, truth.size) == pytest.approx(truth.max())
    k, n = 50, truth.size
    i = np.arange(k, n + 1)
    log_p = gammaln(i) - gammaln(k) - gammaln(i - k + 1) - (gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1))
    assert m.random_expected_best(truth, k) == pytest.approx(np.exp(log_p) @ np.sort(truth)[k - 1:], rel=1e-9)


@settings(max_examples=30, deadline=None)
@given(paired_ints(max_size=5, lo=0, hi=2))
def test_topk_expectations_match_all_tie_orders(pair):
    score, truth = pair
    n = len(score)
    ranks = [1 + sum(t > v for t in truth) for v in truth]
    rows = m.topk_table(score, truth, list(range(1, n + 1)))
    for row in rows:
        k = row["k"]
        picks = [order[:k] for order in tie_orders(score)]
        true_tops = [set(order[:k]) for order in tie_orders(truth)]
        bottom_picks = [order[:k] for order in tie_orders(-score)]
        true_bottoms = [set(order[:k]) for order in tie_orders(-truth)]
        assert row["supernet_best"] == pytest.approx(np.mean([max(truth[p]) for p in picks]))
        assert row["supernet_best"] == m.topk_best_truth(score, truth, k)
        assert row["supernet_best_true_rank"] == pytest.approx(np.mean([min(ranks[i] for i in p) for p in picks]))
        assert row["worst_true_rank"] == pytest.approx(np.mean([max(ranks[i] for i in p) for p in picks]))
        assert (row["supernet_best_true_rank"], row["worst_true_rank"]) == m.topk_true_ranks(score, truth, k)
        precision = np.mean([len(set(p) & t) / k for p in picks for t in true_tops])
        assert row["precision_at_k"] == pytest.approx(precision)
        bottom = np.mean([len(set(p) & t) / k for p in bottom_picks for t in true_bottoms])
        assert row["precision_at_bottom_k"] == pytest.approx(bottom)
        assert row["precision_at_bottom_k"] == m.precision_at_bottom_k(score, truth, k)
        assert row["random_expected_best"] == pytest.approx(m.random_expected_best(truth, k))
        assert row["oracle_best"] == truth.max()
        assert row["kendall_in_topk"] == pytest.approx(
            m.stat_or_nan(m.kendall_tau, score[truth >= np.sort(truth)[-k]], truth[truth >= np.sort(truth)[-k]]),
            nan_ok=True)
    assert m.regret(score, truth) == pytest.approx(np.mean([truth.max() - truth[p[0]] for p in picks]))


def test_topk_perfect_and_reversed_scores():
    truth = np.random.default_rng(2).uniform(60, 95, size=250)
    for row in m.topk_table(truth * 3 + 1, truth, [1, 5, 0.01, 0.1]):
        assert row["supernet_best"] == row["oracle_best"] == truth.max()
        assert row["supernet_best_true_rank"] == 1
        assert row["worst_true_rank"] == row["k"]
        assert row["precision_at_k"] == row["precision_at_bottom_k"] == 1
        assert row["random_expected_best"] < row["oracle_best"]
        assert row["kendall_in_topk"] == pytest.approx(1) or (row["k"] < 3 and math.isnan(row["kendall_in_topk"]))
    assert m.regret(truth * 3 + 1, truth) == 0
    assert m.topk_best_truth(-truth, truth, 1) == truth.min()
    assert m.topk_best_truth(-truth, truth, truth.size) == truth.max()
    assert m.regret(-truth, truth) == truth.max() - truth.min()
    assert m.topk_true_ranks(-truth, truth, 10) == (241, 250)
    assert m.precision_at_bottom_k(-truth, truth, 10) == 0
    assert m.kendall_in_topk(-truth, truth, 10) == pytest.approx(-1)


@FAST
@given(paired_ints(max_size=30, lo=0, hi=8), st.sampled_from(INCREASING), st.data())
def test_new_topk_metrics_bounds_and_invariance(pair, f, data):
    score, truth = pair
    n = len(score)
    k = data.draw(st.integers(1, n))
    best, worst = m.topk_true_ranks(score, truth, k)
    assert 1 <= best <= worst + 1e-9 and worst <= n
    assert 0 <= m.precision_at_bottom_k(score, truth, k) <= 1
    assert 0 <= m.regret(score, truth) <= np.ptp(truth)
    inside = truth >= np.sort(truth)[-k]
    tau = m.stat_or_nan(partial(m.kendall_in_topk, k=k), score, truth)
    assert math.isnan(tau) == (inside.sum() < 3 or np.ptp(score[inside]) == 0 or np.ptp(truth[inside]) == 0)
    assert math.isnan(tau) or -1 - 1e-12 <= tau <= 1 + 1e-12
    # order-only: increasing transforms of the score (all of these) and of the truth (all but regret)
    assert m.topk_true_ranks(f(score), f(truth), k) == pytest.approx((best, worst))
    assert m.precision_at_bottom_k(f(score), f(truth), k) == pytest.approx(m.precision_at_bottom_k(score, truth, k))
    assert m.stat_or_nan(partial(m.kendall_in_topk, k=k), f(score), f(truth)) == pytest.approx(tau, nan_ok=True)
    assert m.regret(f(score), truth) == pytest.approx(m.regret(score, truth))
    # a perfect score: no regret, bottom-k found, ranks as good as the truth allows, its top-k ordered
    assert m.regret(f(truth), truth) == 0
    ascending = np.sort(truth)
    if k == n or ascending[k - 1] < ascending[k]:  # with a tie at the boundary both sides break it at random
        assert m.precision_at_bottom_k(f(truth), truth, k) == pytest.approx(1)
    perfect_tau = m.stat_or_nan(partial(m.kendall_in_topk, k=k), f(truth), truth)
    undefined = inside.sum() < 3 or np.ptp(truth[inside]) == 0
    assert perfect_tau == pytest.approx(1) or (math.isnan(perfect_tau) and undefined)
    assert m.kendall_in_topk(f(truth), truth, n) == pytest.approx(1)


def test_kendall_in_topk_uses_the_true_top_k_with_ties_and_needs_three():
    truth = np.array([95.0, 94, 93, 93, 50, 40])
    score = np.array([1.0, 2, 3, 4, 100, 200])  # the supernet loves the worst; within the top it is reversed
    assert m.kendall_in_topk(score, truth, 3) == m.kendall_tau(score[:4], truth[:4])  # both 93s are in
    assert m.kendall_in_topk(score, truth, 3) < 0 and m.kendall_tau(score, truth) < 0
    with pytest.raises(m.MetricInputError, match="true top-2 needs at least 3 architectures"):
        m.kendall_in_topk(score, truth, 2)
    with pytest.raises(m.MetricInputError, match="within the true top-3 architectures: score is constant"):
        m.kendall_in_topk(np.array([1.0, 1, 1, 1, 0, 0]), truth, 3)


def test_topk_table_resolves_fractions():
    x, y = correlated(250)
    rows = m.topk_table(x, y, [1, 10, 0.01, 0.07, 0.1, 1.0, 0.0001])
    assert [(r["label"], r["k"]) for r in rows] == [
        ("1", 1), ("10", 10), ("1%", 3), ("7%", 18), ("10%", 25), ("100%", 250), ("0.01%", 1)
    ]
    assert m.topk_table(x, y, [np.int64(5), np.float64(0.02)])[1]["k"] == 5


def test_constant_score_is_fine_for_topk():
    truth = np.array([1.0, 5, 3, 2])
    assert m.topk_best_truth(np.zeros(4), truth, 2) == pytest.approx(m.random_expected_best(truth, 2))


# ------------------------------------------------------------------------------------------------- errors

@pytest.mark.parametrize(
    "score, truth, match",
    [
        ([1, 2, 3], [1, 2], "score has 3 values but truth has 2"),
        ([1, 2], [1, 2], "score has 2 architecture"),
        ([1, np.nan, 3], [1, 2, 3], r"score has 1 NaN/inf value\(s\) \(positions \[1\]"),
        ([1, 2, 3], [1, 2, np.inf], "truth has 1 NaN/inf"),
        ([[1, 2, 3]], [1, 2, 3], "must be 1-D"),
        (["a", "b", "c"], [1, 2, 3], "could not be read as numbers"),
        ([2, 2, 2], [1, 2, 3], "score is constant"),
        ([1, 2, 3], [7, 7, 7], "truth is constant"),
    ],
)
def test_correlations_reject_bad_input(score, truth, match):
    for fn in ALL_STATS:
        with pytest.raises(m.MetricInputError, match=match) as info:
            fn(score, truth)
        assert isinstance(info.value, WsnasError) and isinstance(info.value, ValueError)


def test_topk_rejects_bad_input():
    x, y = correlated(10)
    for k in (0, 11, 2.0, True, "3"):
        with pytest.raises(m.MetricInputError, match="between 1 and 10"):
            m.topk_best_truth(x, y, k)
    with pytest.raises(m.MetricInputError, match="between 1 and 10"):
        m.random_expected_best(y, 11)
    for spec in (0.0, 1.5, -0.1, float("nan")):
        with pytest.raises(m.MetricInputError, match=r"must lie in \(0, 1\]"):
            m.topk_table(x, y, [spec])
    with pytest.raises(m.MetricInputError, match="NaN/inf"):
        m.random_expected_best([1.0, np.nan, 2.0], 1)
    with pytest.raises(m.MetricInputError, match="score has 10 values but truth has 9"):
        m.topk_table(x, y[:9], [1])


def test_random_expected_best_needs_three_archs():
    with pytest.raises(m.MetricInputError, match="truth has 2 architecture"):
        m.random_expected_best([1.0, 2.0], 1)


def test_metrics_module_does_not_import_torch():
    code = "import sys, wsnas.analysis.metrics; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
