"""Same command, same numbers, in every built-in space at the smoke size: a rerun gives byte-identical scores,
scoring depends neither on the order nor on the sharding of the subnets, and a resumed training equals an
uninterrupted one."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch

from wsnas.cli import main
from wsnas.supernets.checkpoints import checkpoint_path

SPACES = ("nb201", "nb101", "darts", "macro", "channel-mobilenet", "channel-resnet", "graph")
ARCHS = "6"


def _train(run: Path, space: str, mirror: Path) -> None:
    assert main(["train", "--preset", "smoke", "--space", space, "--data-mirror", str(mirror), "--run-dir", str(run),
                 "--quiet"]) == 0


def _evaluate(run: Path, *extra: str) -> None:
    assert main(["evaluate", str(run), "--archs", ARCHS, "--quiet", *extra]) == 0


@pytest.fixture(scope="module", params=SPACES)
def trained(request, tmp_path_factory, mirror) -> tuple[str, Path]:
    run = tmp_path_factory.mktemp(request.param) / "run"
    _train(run, request.param, mirror)
    return request.param, run


def test_resumed_training_equals_an_uninterrupted_one(trained, tmp_path, mirror):
    space, run = trained
    resumed = shutil.copytree(run, tmp_path / "resumed")
    checkpoint_path(resumed / "checkpoints", 2).unlink()  # as if killed after epoch 1
    _train(resumed, space, mirror)
    final, again = (torch.load(checkpoint_path(r / "checkpoints", 2), weights_only=True) for r in (run, resumed))
    assert final["model"].keys() == again["model"].keys()
    assert all(torch.equal(final["model"][k], again["model"][k]) for k in final["model"])


def test_the_same_evaluation_twice_gives_byte_identical_scores(trained, tmp_path):
    _, run = trained
    first, second = (shutil.copytree(run, tmp_path / name) for name in ("first", "second"))
    _evaluate(first)
    _evaluate(second)
    assert (first / "scores.csv").read_bytes() == (second / "scores.csv").read_bytes()
    assert (first / "score_sets.json").is_file() and (first / "score_timings.csv").is_file()


def test_scores_depend_neither_on_order_nor_on_sharding(trained, tmp_path):
    _, run = trained
    whole, sharded = (shutil.copytree(run, tmp_path / name) for name in ("whole", "sharded"))
    _evaluate(whole)
    for shard in ("2/3", "0/3", "1/3"):  # each shard scores a different subset, in another order
        _evaluate(sharded, "--shard", shard)
    assert (whole / "scores.csv").read_bytes() == (sharded / "scores.csv").read_bytes()
    assert len(pd.read_csv(whole / "scores.csv")) == int(ARCHS)


def test_other_evaluation_settings_go_to_a_new_score_set_and_never_rewrite_the_old_one(tmp_path, mirror, capsys):
    run = tmp_path / "run"
    _train(run, "nb201", mirror)
    _evaluate(run)
    first = json.loads((run / "score_sets.json").read_text())
    [(set_id, entry)] = first.items()
    assert entry["settings"]["calibration"] == {"batches": 1, "batch_size": 64, "seed": 0}
    _evaluate(run, "--set", "eval.calib_batches=2")
    sets = json.loads((run / "score_sets.json").read_text())
    assert len(sets) == 2 and sets[set_id] == entry  # the description of the first scores is untouched
    scores = pd.read_csv(run / "scores.csv")
    assert scores.groupby("score_set").size().to_dict() == {k: int(ARCHS) for k in sets}
    out = capsys.readouterr().out
    assert "kept apart from the run's other score sets" in out and "calibration.batches: 1 -> 2" in out
    _evaluate(run)
    assert "already scored in score set " + set_id in capsys.readouterr().out
    assert main(["analyze", str(run), "--quiet"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert sorted(r["score_set"] for r in metrics["results"]) == sorted(sets)
    capsys.readouterr()
    assert main(["compare", f"{run}@calibration.batches=2", f"{run}@calibration.batches=1"]) == 0  # by setting
    out = capsys.readouterr().out
    second = next(k for k in sets if k != set_id)
    assert f"score set {second})" in out.splitlines()[0] and f"score set {set_id})" in out.splitlines()[1]


def test_a_run_trained_on_an_arch_pool_is_evaluated_on_that_pool(tmp_path, mirror):
    from wsnas.benchmarks.registry import get_space

    space = get_space("nb201")
    pool = [space.format(a) for a in space.sample(9, seed=5)]
    (tmp_path / "pool.txt").write_text("\n".join(pool) + "\n")
    run = tmp_path / "run"
    assert main(["train", "--preset", "smoke", "--data-mirror", str(mirror), "--run-dir", str(run), "--quiet",
                 "--set", f"train.arch_pool={tmp_path / 'pool.txt'}"]) == 0
    _evaluate(run)
    assert set(pd.read_csv(run / "scores.csv").key) <= set(pool)
