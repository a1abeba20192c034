"""Torch-free pieces of the search results: the Pareto front, probability-zero archs in a ranking, the presets."""
import numpy as np
import pytest

from wsnas.analysis.search.ranking import finite_scores
from wsnas.analysis.search.results import pareto_front
from wsnas.benchmarks.search_methods import method_record
from wsnas.benchmarks.search_methods.presets import arch_step_regime, describe_regime, matched_lr, method_layers
from wsnas.core.config import ConfigError, build_config


def test_pareto_front_keeps_the_archs_no_other_beats_on_cost_and_accuracy():
    cost = np.array([1.0, 2.0, 2.0, 3.0, 0.5, 4.0])
    acc = np.array([80.0, 85.0, 84.0, 83.0, 70.0, 90.0])
    front_cost, front_acc = pareto_front(cost, acc)
    assert front_cost.tolist() == [0.5, 1.0, 2.0, 4.0] and front_acc.tolist() == [70.0, 80.0, 85.0, 90.0]


def test_probability_zero_archs_tie_below_every_other():
    scores = finite_scores(np.array([-3.0, -np.inf, -1.0, -np.inf]))
    assert scores.tolist() == [-3.0, -4.0, -1.0, -4.0]


def test_method_layers_apply_the_published_settings_then_the_preset_reduction():
    paper = build_config("paper", None, {"search.method": "darts-v1"}, layers=method_layers)
    assert (paper.train.epochs, paper.train.lr, paper.train.lr_min, paper.search.arch_lr) == (50, 0.025, 0.001, 3e-4)
    cpu = build_config("cpu", None, {"search.method": "darts-v1", "search.arch_lr": 0.5}, layers=method_layers)
    assert cpu.train.epochs == 8 and cpu.search.arch_lr == 0.5  # the user's value wins over the reduction
    gaea = build_config("cpu", None, {"search.method": "gaea", "space": "nb201"}, layers=method_layers)
    assert gaea.search.exclude == ["none"] and gaea.train.nesterov is False
    macro = build_config("cpu", None, {"search.method": "gdas", "space": "macro"}, layers=method_layers)
    assert macro.train.epochs == 20 and macro.search.arch_lr == 3e-4  # the published step per update
    matched = build_config("cpu", None, {"search.method": "gdas", "space": "macro", "search.arch_step": "matched"},
                           layers=method_layers)
    gdas, darts = (method_record(m).protocol.arch_updates for m in ("gdas", "darts-v1"))
    assert matched.train.epochs == 20 and matched.search.arch_lr == matched_lr(3e-4, gdas, 20 * 78)
    # matched_lr keeps 3 significant digits: lr x updates (5.85 here) within 0.5e-3 relative, 0.003
    assert abs(matched_lr(3e-4, darts, 624) * 624 - 3e-4 * darts) < 0.01


def test_the_cpu_preset_keeps_each_published_step_per_update_and_says_its_regime():
    def regime(method, arch_step="published", **extra):
        cfg = build_config("cpu", None, {"search.method": method, "space": "nb201", "search.arch_step": arch_step,
                                         **extra}, layers=method_layers)
        return arch_step_regime(cfg, 156)

    gaea, enas = regime("gaea"), regime("enas")
    assert (gaea["lr"], gaea["step_vs_published"], gaea["updates"]) == (0.1, 1.0, 4 * 156)  # not 3.13
    assert (enas["lr"], enas["lr_key"], enas["updates"]) == (1e-3, "search.controller_lr", 30 * 20)  # not 20x
    assert gaea["travel_vs_published"] == 0.1 * 624 / (0.1 * method_record("gaea").bases["darts"].arch_updates)
    assert regime("gaea", "matched")["lr"] == 3.13 and regime("enas", "matched")["step_vs_published"] > 20
    line = describe_regime(gaea)
    assert line.startswith("arch step published: search.arch_lr=0.1 per update (1x the published 0.1), 624 updates")
    assert regime("rsps") is None and describe_regime(None) == "no arch updates (uniform paths)"
    with pytest.raises(ConfigError, match="search.arch_step='fast'; choose published or matched"):
        regime("gaea", "fast")
