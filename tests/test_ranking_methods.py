"""Ranking-improving methods (wsnas.benchmarks.ranking_methods): landmark regularisation and checkpoint ensembles.

A smoke run on a pool of 12 nb201 archs with 4 landmarks: the landmarks are never scored, the analysis says it used
4 truth labels, a resumed training and the same command again give byte-identical scores; the hinge is zero once a
pair is ordered by the margin; the ensemble score is the mean rank by hand, a result of `wsnas analyze` and a score
set `wsnas compare` takes."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from wsnas.analysis.ensembles import ensemble_label, ensemble_rows
from wsnas.analysis.report.score_sets import report_score_sets, result_key, result_labels
from wsnas.benchmarks.ranking_methods import ranking_method, ranking_methods
from wsnas.benchmarks.ranking_methods.landmarks import read_landmarks
from wsnas.benchmarks.registry import get_space
from wsnas.core.config import TrainConfig
from wsnas.core.errors import WsnasError
from wsnas.workflows.protocol_registry import protocol

torch = pytest.importorskip("torch")

from wsnas.cli import main  # noqa: E402
from wsnas.supernets.landmarks import check_landmarks, ranking_hinge  # noqa: E402
from wsnas.supernets.protocols import protocol_settings  # noqa: E402

POOL, LANDMARKS, EPOCHS = 12, 4, 2


def _train(run: Path, pool: Path) -> None:
    sets = ["runtime.threads=1", "data.n_train=256", f"train.arch_pool={pool}", f"train.landmarks={LANDMARKS}"]
    assert main(["train", "--preset", "smoke", "--epochs", str(EPOCHS), "--run-dir", str(run), "--quiet",
                 *[arg for item in sets for arg in ("--set", item)]]) == 0


def _evaluate(run: Path) -> bytes:
    assert main(["evaluate", str(run), "--archs", "null", "--quiet", "--set", "eval.epochs=[1,2]"]) == 0
    return (run / "scores.csv").read_bytes()


@pytest.fixture(scope="module")
def pool(tmp_path_factory) -> tuple[Path, list[str]]:
    space = get_space("nb201")
    keys = [space.format(arch) for arch in space.sample(POOL, 1)]
    path = tmp_path_factory.mktemp("pool") / "pool.txt"
    path.write_text("\n".join(keys) + "\n")
    return path, keys


@pytest.fixture(scope="module")
def trained(tmp_path_factory, pool, mirror) -> tuple[Path, bytes]:
    """An uninterrupted smoke training with landmarks, scored at both checkpoints."""
    run = tmp_path_factory.mktemp("landmarks") / "run"
    _train(run, pool[0])
    return run, _evaluate(run)


@pytest.fixture(scope="module")
def analyzed(trained, tmp_path_factory) -> tuple[dict, str]:
    run, _ = trained
    with pytest.MonkeyPatch.context() as patch:
        lines: list[str] = []
        patch.setattr("builtins.print", lambda *args, **_: lines.append(" ".join(map(str, args))))
        assert main(["analyze", str(run), "--set", "analysis.n_boot=20", "--set", "eval.ensemble_epochs=[1,2]"]) == 0
    return json.loads((run / "metrics.json").read_text()), "\n".join(lines)


def test_landmark_archs_are_never_scored(trained, pool):
    run, _ = trained
    landmarks = read_landmarks(run)
    assert len(landmarks) == LANDMARKS and set(landmarks) <= set(pool[1])
    scored = set(pd.read_csv(run / "scores.csv", dtype={"key": str})["key"])
    assert scored == set(pool[1]) - set(landmarks)


def test_the_analysis_says_how_many_truth_labels_were_used(analyzed):
    metrics, printed = analyzed
    assert metrics["truth_labels_used"] == LANDMARKS
    assert printed.startswith(f"uses {LANDMARKS} truth labels")


def test_a_resumed_training_gives_the_same_scores(trained, pool, tmp_path):
    run, scores = trained
    resumed = shutil.copytree(run, tmp_path / "resumed", ignore=shutil.ignore_patterns("score*", "shards", "metrics*"))
    (resumed / "checkpoints" / f"epoch_{EPOCHS:04d}.pt").unlink()  # as if killed during the last epoch
    _train(resumed, pool[0])
    assert _evaluate(resumed) == scores


def test_the_same_command_twice_gives_the_same_scores(trained, pool, tmp_path):
    _, scores = trained
    _train(tmp_path / "again", pool[0])
    assert _evaluate(tmp_path / "again") == scores


def test_the_hinge_is_zero_once_the_pair_is_ordered_by_the_margin():
    better, worse = torch.tensor(1.0), torch.tensor(1.25)
    assert ranking_hinge(better, worse, 0.2).item() == 0.0  # ordered by more than the margin
    assert ranking_hinge(better, worse, 0.25).item() == 0.0  # exactly by the margin
    assert ranking_hinge(better, worse, 0.5).item() == pytest.approx(0.25)  # ordered, but by less than the margin
    assert ranking_hinge(worse, better, 0.0).item() == pytest.approx(0.25)  # the wrong order


def test_landmarks_are_part_of_the_score_identity_and_checked():
    assert "landmarks" not in protocol_settings(TrainConfig())
    assert protocol_settings(TrainConfig(landmarks=4))["landmarks"]["k"] == 4
    with pytest.raises(WsnasError, match="at least 2 landmarks"):
        check_landmarks(TrainConfig(landmarks=1))


def test_the_ensemble_score_is_the_mean_rank_over_the_chosen_epochs():
    rows = [("a", 1, 1.0), ("b", 1, 2.0), ("c", 1, 3.0), ("d", 1, 4.0), ("e", 1, 9.0),
            ("a", 2, 40.0), ("b", 2, 10.0), ("c", 2, 30.0), ("d", 2, 20.0),  # e: not scored at epoch 2
            ("a", 3, 0.0), ("b", 3, 0.0), ("c", 3, 0.0), ("d", 3, 0.0)]  # epoch 3: not chosen
    table = pd.DataFrame([{"key": k, "epoch": e, "score_set": "s", "bn_policy": "recalibrate", "supernet_acc": v}
                          for k, e, v in rows])
    other = table.assign(score_set="t", supernet_acc=-table["supernet_acc"])  # another score set: ignored
    ensemble = ensemble_rows(pd.concat([table, other]), [2, 1], "s", "run").set_index("key")
    # ranks (1 = lowest) at epoch 1: a1 b2 c3 d4; at epoch 2: a4 b1 c3 d2
    assert ensemble["supernet_acc"].to_dict() == {"a": 2.5, "b": 1.5, "c": 3.0, "d": 3.0}
    assert set(ensemble["score_set"]) == {ensemble_label([1, 2])} == {"ensemble:1+2"}
    assert set(ensemble["epoch"]) == {2}
    with pytest.raises(WsnasError, match=r"no scores at epochs \[5\]"):
        ensemble_rows(table, [1, 5], "s", "run")


def test_an_ensemble_is_a_result_of_analyze_and_a_score_set_of_compare(analyzed, trained, tmp_path):
    metrics, _ = analyzed
    run, _ = trained
    ensemble, = [r for r in metrics["results"] if r["score_set"] == "ensemble:1+2"]
    plain, = [r for r in metrics["results"] if r["epoch"] == EPOCHS and "ensemble" not in r]
    assert ensemble["ensemble"]["epochs"] == [1, 2] and ensemble["n_archs"] == POOL - LANDMARKS
    assert ensemble["ensemble"]["of_score_set"] == plain["score_set"] and ensemble["epoch"] == EPOCHS
    assert {"kendall", "spearman", "topk", "baselines"} <= set(ensemble)
    labels = result_labels(metrics["results"], report_score_sets(run))  # the report tells the two apart
    assert labels[result_key(ensemble)] == labels[result_key(plain)] + ", checkpoint ensemble 1+2"
    out = tmp_path / "compare.json"
    assert main(["compare", f"{run}@score_set=ensemble:1+2", str(run), "--n-boot", "20", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert "score set ensemble:1+2" in doc["a"]["description"] and "ensemble" not in doc["b"]["description"]
    assert doc["n_archs"] == POOL - LANDMARKS
    assert doc["differences"]["kendall"]["a"] == pytest.approx(ensemble["kendall"]["value"], abs=1e-12)


def test_the_methods_are_records_with_source_setting_and_cost():
    assert [m.name for m in ranking_methods()][:2] == ["landmarks", "checkpoint-ensemble"]
    assert all(m.source and m.published and m.cost and m.config for m in ranking_methods())
    assert ranking_method("landmarks").truth_labels and not ranking_method("checkpoint-ensemble").truth_labels
    assert protocol("landmarks").overrides["train.landmarks"] == 20 and protocol("landmarks").epochs(20) == 13
