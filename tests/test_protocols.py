"""Training protocols (docs/training-protocols.md): SGDR, EMA and SWA weight averaging, FairNAS strict fairness.

Each protocol at the smoke size: a resumed training equals an uninterrupted one (checkpoint and scores byte for
byte), the same command twice gives the same scores, and its scores form a score set of their own. Then each
protocol's own behaviour: the restarts of the schedule, the averages by hand, the fair sampler's coverage and its
one update per m paths."""
from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
import torch
from torch import nn
from tqdm import tqdm

from conftest import assert_identical
from wsnas.benchmarks.registry import get_space
from wsnas.benchmarks.space import SearchSpace, Slot
from wsnas.cli import main
from wsnas.core.config import TrainConfig, build_config
from wsnas.core.score_sets import read_score_sets
from wsnas.supernets.checkpoints import checkpoint_path, load_checkpoint
from wsnas.supernets.protocols import check_protocol, protocol_settings
from wsnas.supernets.registry import build_model, prepare_data
from wsnas.supernets.runtime import resolve_runtime
from wsnas.supernets.samplers import make_sampler
from wsnas.supernets.schedules import lr_factor, restart_epochs
from wsnas.supernets.strict_fair import StrictFairSampler
from wsnas.supernets.train import make_optimizer, train_epoch
from wsnas.supernets.weight_averaging import weight_average

EPOCHS = 3
PROTOCOLS = {
    "cosine_restarts": ["train.lr_schedule=cosine_restarts", "train.lr_restart_period=1", "train.lr_restart_mult=2"],
    "ema": ["train.ema_decay=0.9"],
    "swa": ["train.swa_epochs=3"],  # every epoch: the resume below continues an average of two
    "strict_fair": ["train.sampler=strict_fair"],
}


def _train(run: Path, protocol: list[str]) -> None:
    sets = [arg for item in ["runtime.threads=1", "data.n_train=256", *protocol] for arg in ("--set", item)]
    assert main(["train", "--preset", "smoke", "--epochs", str(EPOCHS), "--run-dir", str(run), "--quiet",
                 *sets]) == 0


def _evaluate(run: Path) -> bytes:
    assert main(["evaluate", str(run), "--archs", "4", "--quiet"]) == 0
    return (run / "scores.csv").read_bytes()


def _last(run: Path) -> dict:
    return load_checkpoint(checkpoint_path(run / "checkpoints", EPOCHS))


@pytest.fixture(scope="module", params=list(PROTOCOLS))
def trained(request, tmp_path_factory, mirror) -> tuple[str, Path, bytes]:
    """An uninterrupted smoke training under one protocol, and its scores."""
    run = tmp_path_factory.mktemp(request.param) / "uninterrupted"
    _train(run, PROTOCOLS[request.param])
    return request.param, run, _evaluate(run)


@pytest.fixture(scope="module")
def plain(tmp_path_factory, mirror) -> Path:
    run = tmp_path_factory.mktemp("plain") / "run"
    _train(run, [])
    _evaluate(run)
    return run


def test_a_resumed_training_equals_an_uninterrupted_one(trained, tmp_path):
    name, run, scores = trained
    resumed = shutil.copytree(run, tmp_path / "resumed", ignore=shutil.ignore_patterns("score*", "shards"))
    checkpoint_path(resumed / "checkpoints", EPOCHS).unlink()  # as if killed during the last epoch
    _train(resumed, PROTOCOLS[name])
    assert_identical(_last(run), _last(resumed))
    assert _evaluate(resumed) == scores


def test_the_same_command_twice_gives_the_same_scores(trained, tmp_path):
    name, run, scores = trained
    _train(tmp_path / "again", PROTOCOLS[name])
    assert_identical(_last(run), _last(tmp_path / "again"))
    assert _evaluate(tmp_path / "again") == scores


def test_a_protocol_is_part_of_the_score_identity(trained, plain):
    name, run, _ = trained
    (plain_id, plain_set), = read_score_sets(plain).items()
    (set_id, entry), = read_score_sets(run).items()
    assert "training_protocol" not in plain_set["settings"]  # plain runs keep the score-set ids they had
    assert set_id != plain_id
    assert entry["settings"]["training_protocol"] == protocol_settings(_config(PROTOCOLS[name]).train)
    assert entry["settings"] | {"training_protocol": None} == plain_set["settings"] | {"training_protocol": None}


def test_averaged_weights_are_what_a_checkpoint_offers_for_scoring(trained):
    name, run, _ = trained
    state = _last(run)
    if name in ("ema", "swa"):
        assert state["average"] == {"kind": name, "count": EPOCHS * 4 if name == "ema" else EPOCHS}  # 256 images / 64
        assert not torch.equal(state["model"]["stem.0.weight"], state["trained_model"]["stem.0.weight"])
    else:
        assert "trained_model" not in state and "average" not in state


def test_the_options_differ_pairwise_in_the_score_identity():
    settings = [protocol_settings(_config(options).train) for options in PROTOCOLS.values()]
    assert protocol_settings(TrainConfig()) == {}
    assert all(settings) and len({repr(s) for s in settings}) == len(settings)


def test_the_paper_preset_accepts_every_protocol():
    space = get_space("nb201")
    for options in PROTOCOLS.values():
        cfg = build_config("paper", overrides=dict(item.split("=") for item in options))
        check_protocol(cfg.train, space, None)
        assert cfg.train.epochs == 250 and protocol_settings(cfg.train)


def _config(options: list[str]):
    return build_config("smoke", overrides=dict(item.split("=") for item in options))


def test_sgdr_restarts_at_the_configured_epochs():
    t = TrainConfig(epochs=40, lr=0.1, lr_min=0.001, lr_schedule="cosine_restarts", lr_restart_period=2,
                    lr_restart_mult=3)
    assert restart_epochs(t) == [2, 8, 26]  # T_0 (mult^i - 1) / (mult - 1)
    steps, floor = 5, t.lr_min / t.lr
    factor = lr_factor(t, steps)
    starts = [0, 2, 8, 26, 80]
    for step in range(t.epochs * steps):
        i = max(k for k, start in enumerate(starts) if start * steps <= step)
        t_cur, t_i = step - starts[i] * steps, (starts[i + 1] - starts[i]) * steps
        assert factor(step) == pytest.approx(floor + (1 - floor) * (1 + math.cos(math.pi * t_cur / t_i)) / 2,
                                             rel=1e-12)
    assert [epoch for epoch in range(1, t.epochs) if factor(epoch * steps) == 1.0] == restart_epochs(t)
    mult_one = lr_factor(TrainConfig(lr_schedule="cosine_restarts", lr_restart_period=3, lr_restart_mult=1), 1)
    assert [mult_one(s) for s in range(6)] == [mult_one(s) for s in range(3)] * 2


def test_the_schedule_restarts_an_optimizer_at_those_epochs():
    cfg = _config(PROTOCOLS["cosine_restarts"])
    model = nn.Linear(2, 2)
    opt, sched = make_optimizer(cfg, model, steps_per_epoch=4)
    seen = []
    for _ in range(7 * 4):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert [epoch for epoch in range(1, 7) if seen[epoch * 4] == cfg.train.lr] == [1, 3]


def _tiny() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))


def _sgd_step(model: nn.Module, opt: torch.optim.Optimizer, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    opt.zero_grad()
    model(torch.randn(8, 3, generator=gen)).square().mean().backward()
    opt.step()


def test_ema_equals_the_hand_computed_average():
    model, d = _tiny(), 0.75
    average = weight_average(TrainConfig(ema_decay=d), model)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    expected = {name: w.double().clone() for name, w in model.state_dict().items()}
    for step in range(3):
        _sgd_step(model, opt, step)
        average.after_step()
        expected = {name: d * expected[name] + (1 - d) * w.double() for name, w in model.state_dict().items()}
    saved = average.checkpoint()
    assert saved["average"] == {"kind": "ema", "count": 3}
    for name, w in saved["model"].items():
        if w.is_floating_point():  # float32 rounding of 3 updates: a few u = 6e-8 of the magnitudes
            assert torch.allclose(w.double(), expected[name], rtol=1e-6, atol=1e-7), name
        else:  # BN's batch counter is copied, not averaged
            assert w == model.state_dict()[name] == 3
    assert not torch.equal(saved["model"]["0.weight"], model.state_dict()["0.weight"])


def test_swa_is_the_mean_of_the_last_epochs():
    model = _tiny()
    average = weight_average(TrainConfig(epochs=4, swa_epochs=2), model)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    snapshots = []
    for epoch in range(1, 5):
        _sgd_step(model, opt, epoch)
        average.after_epoch(epoch)
        snapshots.append({name: w.double().clone() for name, w in model.state_dict().items()})
        if epoch == 2:  # before its K epochs an SWA run offers the trained weights
            assert_identical(average.checkpoint()["model"], model.state_dict())
    saved = average.checkpoint()
    assert saved["average"] == {"kind": "swa", "count": 2}
    for name, w in saved["model"].items():
        if w.is_floating_point():
            assert torch.allclose(w.double(), (snapshots[2][name] + snapshots[3][name]) / 2, rtol=1e-6, atol=1e-7)


def test_strict_fair_covers_every_op_of_every_slot_once_per_step():
    space = get_space("nb201")
    sampler = make_sampler(space, "strict_fair", seed=3)
    slots = space.slots()
    for _ in range(20):
        paths = sampler.step()
        assert len(paths) == max(len(slot.choices) for slot in slots) == 5
        for i, slot in enumerate(slots):
            assert sorted(space.choices_of(arch)[i] for arch in paths) == sorted(slot.choices)
    first, again, other = (make_sampler(space, "strict_fair", seed=s) for s in (3, 3, 4))
    stream = [first.step() for _ in range(3)]
    assert stream == [again.step() for _ in range(3)] != [other.step() for _ in range(3)]
    assert stream[0] != stream[1]  # a stream, not one draw repeated


class _Uneven(SearchSpace):
    """Two slots of 3 and 2 choices (strict fairness pads the smaller one)."""

    name = "uneven"

    def parse(self, text: str):
        return tuple(text.split(","))

    def format(self, arch) -> str:
        return ",".join(arch)

    def enumerate(self):
        return iter((a, b) for a in "xyz" for b in "pq")

    def size(self) -> int:
        return 6

    def slots(self):
        return (Slot("big", ("x", "y", "z")), Slot("small", ("p", "q")))


def test_strict_fair_pads_smaller_slots_with_each_choice_at_least_once():
    sampler = StrictFairSampler(_Uneven(), seed=0)
    pads = {"p": 0, "q": 0}
    for _ in range(400):
        paths = sampler.step()
        assert sorted(a for a, _ in paths) == ["x", "y", "z"]
        small = sorted(b for _, b in paths)
        assert set(small) == {"p", "q"} and len(small) == 3
        pads[max(small, key=small.count)] += 1
    assert abs(pads["p"] - pads["q"]) < 4 * math.sqrt(400 / 4)  # the padding favours neither (4 sd of a fair coin)


def test_strict_fair_makes_one_update_per_m_paths(mirror):
    cfg = build_config("smoke", overrides={"train.sampler": "strict_fair", "data.n_train": 256,
                                           "data.mirror": str(mirror), "runtime.threads": 1})
    rt = resolve_runtime(cfg.runtime)
    train_set, _ = prepare_data(cfg.data, rt.device)
    model = build_model(cfg, rt)
    steps = train_set.num_batches(cfg.train.batch_size, drop_last=True)
    opt, sched = make_optimizer(cfg, model, steps)
    paths, updates = [], []
    model.register_forward_pre_hook(lambda module, args: paths.append(args[1]))
    opt.register_step_post_hook(lambda *_: updates.append(len(paths)))
    space = get_space("nb201")
    train_epoch(cfg, model, train_set, space, 0, opt, sched, nn.CrossEntropyLoss(), rt, tqdm(disable=True))
    assert len(paths) == 5 * steps and updates == [5 * (k + 1) for k in range(steps)]
    for k in range(steps):
        for i, slot in enumerate(space.slots()):
            assert sorted(space.choices_of(arch)[i] for arch in paths[5 * k:5 * k + 5]) == sorted(slot.choices)


def _error(capsys, argv: list[str]) -> str:
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("wsnas: error: ") and err.count("\n") == 1, err
    return err


@pytest.mark.parametrize("options, phrase", [
    (["--space", "nb101", "--sampler", "strict_fair"], "declares none (SearchSpace.slots); choose train.sampler"),
    (["--set", "train.ema_decay=0.99", "--set", "train.swa_epochs=1"], "both average the weights; set one"),
    (["--set", "train.ema_decay=1"], "train.ema_decay=1.0 must lie in [0, 1)"),
    (["--set", "train.swa_epochs=5"], "must lie between 0 (off) and train.epochs=2"),
    (["--set", "train.lr_schedule=cosine_restarts", "--set", "train.lr_period=5"], "set lr_period=null"),
    (["--set", "train.lr_schedule=cosine_restarts", "--set", "train.lr_restart_period=0"], "of at least 1"),
])
def test_a_protocol_a_run_cannot_train_with_is_one_clear_error(capsys, tmp_path, options, phrase):
    assert phrase in _error(capsys, ["train", "--preset", "smoke", "--quiet", "--run-dir", str(tmp_path / "r"),
                                     *options])


def test_strict_fair_with_an_arch_pool_is_one_clear_error(capsys, tmp_path):
    space = get_space("nb201")
    (tmp_path / "pool.txt").write_text("\n".join(space.format(arch) for arch in space.sample(3, seed=0)))
    assert "which a train.arch_pool may exclude" in _error(capsys, [
        "train", "--preset", "smoke", "--quiet", "--run-dir", str(tmp_path / "r"), "--sampler", "strict_fair",
        "--set", f"train.arch_pool={tmp_path / 'pool.txt'}"])
