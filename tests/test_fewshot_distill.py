"""Few-shot NAS (train.fewshot_slot) and ranking distillation from a zero-cost proxy (train.distill_teacher).

Smoke runs on nb201 (256 training images, 3 epochs): a few-shot run splits edge 0 after 1 epoch; its checkpoints
hold every sub-supernet, each arch is scored by the sub-supernet of its op on that edge (perturbing sub-supernet k
changes the scores of exactly the archs with op k), and a resumed training (from a split checkpoint) and the same
command again give byte-identical scores, for distillation too; the teacher is part of the score identity; the
distillation hinge is zero once the losses follow the teacher's order by the margin."""
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pandas as pd
import pytest

from wsnas.benchmarks.ranking_methods import ranking_method
from wsnas.benchmarks.registry import get_space
from wsnas.core.config import TrainConfig, build_config
from wsnas.core.errors import WsnasError
from wsnas.core.runs import RunDir
from wsnas.workflows.protocol_registry import protocol

torch = pytest.importorskip("torch")

from wsnas.cli import main  # noqa: E402
from wsnas.supernets.checkpoints import checkpoint_path, load_checkpoint  # noqa: E402
from wsnas.supernets.distill import check_distill, distill_loss  # noqa: E402
from wsnas.supernets.distill_teacher import ProxyTeacher  # noqa: E402
from wsnas.supernets.evaluate import SubnetScorer, evaluation_archs  # noqa: E402
from wsnas.supernets.fewshot import (FEWSHOT, FewShotSupernet, SubSpaceSampler, check_fewshot,  # noqa: E402
                                     split_supernet)
from wsnas.supernets.protocols import protocol_settings, single_process_options  # noqa: E402
from wsnas.supernets.registry import build_model  # noqa: E402
from wsnas.supernets.runtime import resolve_runtime  # noqa: E402
from wsnas.supernets.samplers import make_sampler  # noqa: E402

EPOCHS, SLOT = 3, 0
FEWSHOT_SETS = [f"train.fewshot_slot={SLOT}", "train.fewshot_warmup=1"]
DISTILL_SETS = ["train.distill_teacher=synflow", "train.distill_every=2", "train.distill_archs=3"]


def _train(run: Path, sets: list[str]) -> None:
    sets = ["runtime.threads=1", "data.n_train=256", *sets]
    assert main(["train", "--preset", "smoke", "--epochs", str(EPOCHS), "--run-dir", str(run), "--quiet",
                 *[arg for item in sets for arg in ("--set", item)]]) == 0


def _evaluate(run: Path) -> bytes:
    assert main(["evaluate", str(run), "--quiet", "--set", "eval.epochs=[1,3]"]) == 0
    return (run / "scores.csv").read_bytes()


def _resumed(run: Path, sets: list[str], tmp_path: Path) -> bytes:
    """The run trained again from its epoch-2 checkpoint (as if killed during the last epoch), then scored."""
    copy = shutil.copytree(run, tmp_path / "resumed", ignore=shutil.ignore_patterns("score*", "shards"))
    checkpoint_path(copy / "checkpoints", EPOCHS).unlink()
    _train(copy, sets)
    return _evaluate(copy)


@pytest.fixture(scope="module")
def fewshot(tmp_path_factory, mirror) -> tuple[Path, bytes]:
    run = tmp_path_factory.mktemp("fewshot") / "run"
    _train(run, FEWSHOT_SETS)
    return run, _evaluate(run)


@pytest.fixture(scope="module")
def distilled(tmp_path_factory, mirror) -> tuple[Path, bytes]:
    run = tmp_path_factory.mktemp("distill") / "run"
    _train(run, DISTILL_SETS)
    return run, _evaluate(run)


def _scorer(run: Path, cfg_sets: list[str] = FEWSHOT_SETS) -> tuple[SubnetScorer, list]:
    overrides = dict(item.split("=", 1) for item in ["runtime.threads=1", "data.n_train=256", *cfg_sets])
    cfg = build_config("smoke", overrides={**overrides, "train.epochs": EPOCHS})
    return SubnetScorer(cfg, resolve_runtime(cfg.runtime)), evaluation_archs(cfg, RunDir(run))


def test_a_split_checkpoint_holds_every_sub_supernet(fewshot):
    run, _ = fewshot
    ops = get_space("nb201").slots()[SLOT].choices
    assert FEWSHOT not in load_checkpoint(checkpoint_path(run / "checkpoints", 1))  # one-shot until the split
    state = load_checkpoint(checkpoint_path(run / "checkpoints", EPOCHS))
    assert state[FEWSHOT] == {"slot": SLOT, "choices": list(ops)}
    assert {name.split(".")[1] for name in state["model"]} == {str(k) for k in range(len(ops))}


def test_each_arch_is_scored_by_the_sub_supernet_of_its_op(fewshot):
    run, scores = fewshot
    space = get_space("nb201")
    ops = space.slots()[SLOT].choices
    scorer, archs = _scorer(run)
    scorer.load(RunDir(run), EPOCHS)
    assert isinstance(scorer.model, FewShotSupernet)
    assert [scorer.model.route(a) for a in archs] == [ops.index(space.choices_of(a)[SLOT]) for a in archs]
    before = {row["key"]: row["supernet_loss"] for row in scorer.score_many(archs)}
    saved = pd.read_csv(run / "scores.csv", dtype={"key": str}).query(f"epoch == {EPOCHS}")
    assert before == dict(zip(saved["key"], saved["supernet_loss"]))  # the scorer is the one `evaluate` used
    k = max(set(map(scorer.model.route, archs)), key=[scorer.model.route(a) for a in archs].count)
    with torch.no_grad():
        for p in scorer.model.subnets[k].parameters():
            p.add_(0.05 * torch.randn_like(p))
    after = {row["key"]: row["supernet_loss"] for row in scorer.score_many(archs)}
    changed = {space.format(a) for a in archs if before[space.format(a)] != after[space.format(a)]}
    assert changed == {space.format(a) for a in archs if scorer.model.route(a) == k}
    assert 0 < len(changed) < len(archs)


def test_a_sub_supernet_trains_only_paths_of_its_op():
    space = get_space("nb201")
    model = split_supernet(torch.nn.Linear(1, 1), space, 3)
    sampler = SubSpaceSampler(model, make_sampler(space, "uniform", 0))
    drawn = [sampler.step() for _ in range(12)]
    assert all(len(paths) == 1 and model.route(paths[0]) == i % 5 for i, paths in enumerate(drawn))


def test_a_resumed_fewshot_training_gives_the_same_scores(fewshot, tmp_path):
    run, scores = fewshot
    assert _resumed(run, FEWSHOT_SETS, tmp_path) == scores


def test_the_same_fewshot_command_twice_gives_the_same_scores(fewshot, tmp_path):
    _, scores = fewshot
    _train(tmp_path / "again", FEWSHOT_SETS)
    assert _evaluate(tmp_path / "again") == scores


def test_a_resumed_distillation_gives_the_same_scores(distilled, tmp_path):
    run, scores = distilled
    assert _resumed(run, DISTILL_SETS, tmp_path) == scores
    log = pd.read_csv(run / "train_log.csv")
    assert (log["distill_loss"] >= 0).all() and (log["teacher_seconds"] > 0).all()


def test_the_same_distillation_command_twice_gives_the_same_scores(distilled, tmp_path):
    _, scores = distilled
    _train(tmp_path / "again", DISTILL_SETS)
    assert _evaluate(tmp_path / "again") == scores


def test_the_teacher_is_part_of_the_score_identity(distilled):
    run, _ = distilled
    synflow, _ = _scorer(run, DISTILL_SETS)
    snip, _ = _scorer(run, [s.replace("synflow", "snip") for s in DISTILL_SETS])
    assert synflow.settings()["training_protocol"]["distill"]["teacher"] == "synflow"
    assert synflow.score_set() != snip.score_set()
    assert set(pd.read_csv(run / "scores.csv")["score_set"]) == {synflow.score_set()}
    assert "distill" not in protocol_settings(TrainConfig()) and "fewshot" not in protocol_settings(TrainConfig())


def test_the_distillation_loss_is_zero_once_the_losses_follow_the_teacher():
    losses = torch.tensor([1.0, 1.25, 1.5])
    assert distill_loss(losses, [3.0, 2.0, 1.0], 0.25).item() == 0.0  # ordered, each pair by at least the margin
    assert distill_loss(losses, [3.0, 2.0, 1.0], 0.5).item() == pytest.approx((0.25 + 0.25 + 0.0) / 3)
    assert distill_loss(losses, [1.0, 2.0, 3.0], 0.0).item() == pytest.approx((0.25 + 0.5 + 0.25) / 3)
    assert distill_loss(losses, [1.0, 1.0, float("nan")], 0.1).item() == 0.0  # ties and NaN order nothing


def test_clear_errors_for_options_a_run_cannot_train_with():
    nb201 = get_space("nb201")
    with pytest.raises(WsnasError, match="declares no per-slot choices"):
        check_fewshot(TrainConfig(fewshot_slot=0), get_space("nb101"))
    with pytest.raises(WsnasError, match="has 6 slots"):
        check_fewshot(TrainConfig(fewshot_slot=6), nb201)
    with pytest.raises(WsnasError, match="fewshot_warmup"):
        check_fewshot(TrainConfig(epochs=2, fewshot_slot=0, fewshot_warmup=2), nb201)
    with pytest.raises(WsnasError, match="at least 2 archs"):
        check_distill(TrainConfig(distill_teacher="synflow", distill_archs=1))
    assert single_process_options(TrainConfig(fewshot_slot=0, distill_teacher="snip")) == [
        "train.fewshot_slot=0", "train.distill_teacher=snip"]  # refused under torchrun
    cfg = build_config("smoke", overrides={"train.distill_teacher": "accuracy"})
    with pytest.raises(WsnasError, match="not a zero-cost proxy"):
        ProxyTeacher(cfg, resolve_runtime(cfg.runtime))


def test_the_methods_are_records_and_protocols():
    assert not ranking_method("fewshot").truth_labels and not ranking_method("distill").truth_labels
    assert protocol("fewshot").epochs(20) == 20 and protocol("distill").epochs(20) == 13
    cfg = build_config("smoke", overrides={"train.fewshot_slot": 0, "runtime.threads": 1})
    model = build_model(cfg, resolve_runtime(cfg.runtime))
    assert protocol_settings(dataclasses.replace(cfg.train, epochs=20))["fewshot"] == {"slot": 0, "warmup": 10}
    assert len(split_supernet(model, get_space("nb201"), 0).subnets) == 5
