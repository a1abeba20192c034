"""Torch-free pieces of the search results: the Pareto front, probability-zero archs in a ranking, the presets."""
import numpy as np

from wsnas.analysis.search_results import finite_scores, pareto_front
from wsnas.config import build_config
from wsnas.supernets.search_presets import PUBLISHED_ARCH_STEPS, matched_lr, method_layers


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
    assert macro.train.epochs == 20 and macro.search.arch_lr == matched_lr("gdas", 3e-4, 20 * 78)
    assert abs(matched_lr("darts-v1", 3e-4, 624) * 624 - 3e-4 * PUBLISHED_ARCH_STEPS["darts-v1"]) < 0.01
