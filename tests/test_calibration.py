"""Calibration of wsnas's verdicts by simulation with a known truth (wsnas.analysis.simulate): the replicate-level
interval covers, the paired test keeps its level, the noise budget projects the width of other designs, and the
bias study's null flags an unbiased but heteroscedastic scorer no more often than its level while still catching
planted biases with their sign.

Every test is seeded, so it gives the same counts on every run. Each states how many simulated studies it uses:
enough that the Monte Carlo standard error of the rate it checks (sqrt(p (1 - p) / N)) is small against the
distance between what a calibrated method gives and the bound it is held to, and far smaller than the error of
what it replaced (the two-level bootstrap covered 0.80 at a seed sd of 0.24; the old paired test fired in 17% of
null studies; the old homoscedastic null flagged 26 of 120 heteroscedastic unbiased scorers).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from wsnas.analysis.studies.size_bias import size_statistics
from wsnas.analysis.metrics import kendall_tau, precision_at_bottom_k, precision_at_k, resample_indices
from wsnas.analysis.studies.noise import components, predicted_width
from wsnas.analysis.replicated import ScoreSet, _replicate_draws, paired_difference, replicated_stat
from wsnas.analysis.simulate import Scenario, hits, simulate

ARCHS = 250  # the default study's sample
N_BOOT = 100  # arch resamples per study: the arch variance to ~14%, a small share of the interval's error
COVERAGE_STUDIES = 600  # Monte Carlo SE of a coverage near 0.95: 0.009; the bounds 0.92 / 0.98 sit 3.3 SE away
TYPE_I_STUDIES = 600  # Monte Carlo SE of a rate near 0.05: 0.009


def _members(reps: int) -> tuple[str, ...]:
    return tuple(f"seed{r}" for r in range(reps))


@pytest.mark.parametrize("seed_sd", [0.03, 0.10, 0.24])
def test_the_leading_interval_covers_the_seed_mean(seed_sd):
    """Coverage of the seed mean Kendall by the leading 95% interval, for R = 3, 5 and 10 replicates of 250 archs
    (fresh archs and seeds in every study); at R = 3 and a large seed spread the two-level bootstrap is shown
    to under-cover, as the statistics review found."""
    scenario = Scenario(seed_sd=seed_sd)
    for reps in (3, 5, 10):
        rng = np.random.default_rng([reps, round(100 * seed_sd)])
        covered = bootstrap_covered = 0
        for i in range(COVERAGE_STUDIES):
            study = simulate(scenario, reps, ARCHS, rng)
            entry = replicated_stat(kendall_tau, study.scores, study.truth, resample_indices(ARCHS, N_BOOT, i),
                                    _replicate_draws(reps, N_BOOT, i))
            covered += entry["ci_low"] <= scenario.kendall <= entry["ci_high"]
            boot = entry["bootstrap"]
            bootstrap_covered += boot["ci_low"] <= scenario.kendall <= boot["ci_high"]
        coverage = covered / COVERAGE_STUDIES
        assert 0.92 <= coverage <= 0.98, (reps, seed_sd, coverage)
        if reps == 3 and seed_sd == 0.24:
            assert bootstrap_covered / COVERAGE_STUDIES < 0.90  # what the replicate-level interval replaced


def test_paired_verdicts_keep_their_level_under_the_null():
    """Type-I error of the paired test at R = 3 and a seed sd of 0.24, where no difference exists: (a) supernets
    against a fixed scorer whose Kendall equals their seed mean, (b) two rescorings of the same supernets that
    differ only in noise."""
    scenario = Scenario(seed_sd=0.24)
    rho = math.sin(math.pi * scenario.kendall / 2)
    keys = tuple(map(str, range(ARCHS)))
    rng = np.random.default_rng(7)
    fired = {"fixed": 0, "same supernets": 0}
    for i in range(TYPE_I_STUDIES):
        study = simulate(scenario, 3, ARCHS, rng)
        supernets = ScoreSet("supernet", keys, study.scores, _members(3))
        fixed = rho * study.truth + math.sqrt(1 - rho ** 2) * rng.standard_normal(ARCHS)
        baseline = ScoreSet("baseline", keys, fixed[None, :], ("baseline",), fixed=True)
        fired["fixed"] += paired_difference(supernets, baseline, study.truth, topk=(), n_boot=N_BOOT,
                                            seed=i)["kendall"]["p_value"] < 0.05
        a, b = (ScoreSet(name, keys, study.scores + 0.5 * rng.standard_normal(study.scores.shape), _members(3))
                for name in ("a", "b"))
        fired["same supernets"] += paired_difference(a, b, study.truth, topk=(), n_boot=N_BOOT,
                                                     seed=i)["kendall"]["p_value"] < 0.05
    for design, count in fired.items():
        assert count / TYPE_I_STUDIES <= 0.06, (design, count)


def test_the_noise_budget_projects_the_width_of_other_designs():
    """Variance components averaged over 20 pilot noise studies (5 replicates x 2 calibration draws x 100 archs x
    400 images; averaging leaves the net seed variance on 80 degrees of freedom, so the projection is checked, not
    one pilot's luck) project the 95% width of three other designs within 15% of the width simulated for each
    (300 studies per design: the simulated sd to about 4%)."""
    scenario = Scenario(seed_sd=0.10)
    rng = np.random.default_rng(11)
    pilots = []
    for i in range(20):
        truth, correct = hits(scenario, 5, 2, 100, 400, rng)
        pilots.append(components(correct, truth, n_boot=50, seed=i))
    mean = {**pilots[0], "rows": [{**row, "variance": float(np.mean([p["rows"][j]["variance"] for p in pilots]))}
                                  for j, row in enumerate(pilots[0]["rows"])]}
    for reps, archs, images in ((3, 200, 400), (5, 100, 800), (10, 400, 400)):
        figures = []
        for _ in range(300):
            truth, correct = hits(scenario, reps, 1, archs, images, rng)
            accuracy = correct.mean(axis=3)[:, 0]
            figures.append(np.mean([kendall_tau(row, truth) for row in accuracy]))
        simulated = 2 * 1.959964 * np.std(figures, ddof=1)
        predicted = predicted_width(mean, reps, archs, images)
        assert abs(predicted / simulated - 1) <= 0.15, (reps, archs, images, predicted, simulated)


HETERO = Scenario(kendall=0.3, seed_sd=0.05, hetero=1.0)  # precise on bad archs, noisy on good ones


def test_a_heteroscedastic_unbiased_scorer_is_seldom_flagged():
    """300 single-supernet studies of an unbiased scorer whose precision at the bottom 10% is about three times
    its precision at the top 10% (as the CPU default's supernets): the size study, whose simultaneous band holds
    its false-positive rate at 5%, flags at most 6% of them (Monte Carlo SE 1.3%)."""
    rng = np.random.default_rng(13)
    flagged, top, bottom = 0, [], []
    for i in range(300):
        study = simulate(HETERO, 1, ARCHS, rng)
        top.append(precision_at_k(study.scores[0], study.truth, 25))
        bottom.append(precision_at_bottom_k(study.scores[0], study.truth, 25))
        result = size_statistics(study.truth, study.scores, {"params": study.feature}, n_boot=10, seed=i, sims=400)
        flagged += any(s["outside"] for s in result["statistics"])
    assert np.mean(bottom) > 2 * np.mean(top)  # the scorer is heteroscedastic in the supernets' way
    assert flagged / 300 <= 0.06, flagged


@pytest.mark.parametrize("sign", [+1, -1])
def test_a_planted_size_bias_is_flagged_with_its_sign(sign):
    """The same scorer with a planted preference for the feature, in 40 studies of 3 replicates: flagged in at
    least 90% of them, always with the planted sign."""
    scenario = Scenario(kendall=0.3, seed_sd=0.05, hetero=1.0, bias=0.25 * sign)
    rng = np.random.default_rng(17)
    right = 0
    for i in range(40):
        study = simulate(scenario, 3, ARCHS, rng)
        result = size_statistics(study.truth, study.scores, {"params": study.feature}, n_boot=10, seed=i, sims=200)
        outside = [s for s in result["statistics"] if s["outside"]]
        assert all(np.sign(s["excess"]) == sign for s in outside)
        right += bool(outside)
    assert right >= 36
