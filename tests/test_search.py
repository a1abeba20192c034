"""The search methods (`wsnas search`): slot schema, relaxed supernet entries, straight-through Gumbel, the EG
update, the ENAS controller, DARTS-V2's Hessian-vector product, every method at smoke size, and exact resume."""
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from wsnas.benchmarks import search_methods  # noqa: E402
from wsnas.benchmarks.registry import get_space  # noqa: E402
from wsnas.benchmarks.search_methods import method_names, method_record  # noqa: E402
from wsnas.benchmarks.search_methods.presets import method_layers  # noqa: E402
from wsnas.benchmarks.search_methods.record import Protocol, SearchMethod  # noqa: E402
from wsnas.benchmarks.truth_lookup import TruthLookup  # noqa: E402
from wsnas.benchmarks.slot_costs import slot_costs  # noqa: E402
from wsnas.benchmarks.space import SpaceError  # noqa: E402
from wsnas.cli import main  # noqa: E402
from wsnas.core.config import build_config  # noqa: E402
from wsnas.core.errors import WsnasError  # noqa: E402
from wsnas.supernets.checkpoints import load_checkpoint  # noqa: E402
from wsnas.supernets.data import DeviceImages  # noqa: E402
from wsnas.supernets.models.macro import MacroSupernet  # noqa: E402
from wsnas.supernets.models.nb201 import NB201Supernet  # noqa: E402
from wsnas.supernets.runtime import Runtime, resolve_runtime  # noqa: E402
from wsnas.supernets.search.controller import Controller  # noqa: E402
from wsnas.supernets.search.distribution import SlotParameters, gumbel_softmax  # noqa: E402
from wsnas.supernets.search.base import BatchScorer, Context, make_method  # noqa: E402
from wsnas.supernets.search.rsps import RSPS  # noqa: E402
from wsnas.supernets.search.unrolled import finite_difference_hvp, unrolled_arch_grad  # noqa: E402
from wsnas.supernets.selection import Mix, Pick  # noqa: E402
from wsnas.workflows.search import search_run  # noqa: E402

from test_resume import assert_identical  # noqa: E402

# the smallest search that exercises everything: 256 training images (128 weight / 128 arch, 2 steps), 1 thread
TINY = ["--preset", "smoke", "--set", "runtime.threads=1", "--set", "data.n_train=256", "--quiet"]


def tiny_config(method: str, space: str = "nb201", **extra):
    overrides = {"space": space, "search.method": method, "runtime.threads": 1, **extra}
    return build_config("smoke", None, overrides, layers=method_layers)


def test_slots_describe_one_choice_per_slot():
    nb201, macro = get_space("nb201"), get_space("macro")
    assert [s.name for s in nb201.slots()] == ["1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"]
    assert all(len(s.choices) == 5 for s in nb201.slots()) and len(macro.slots()) == 8
    arch = nb201.parse("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|")
    assert nb201.arch_from_choices(nb201.choices_of(arch)) == arch
    with pytest.raises(SpaceError, match="per-slot choices"):
        get_space("graph").slots()


@pytest.mark.parametrize("space,model", [("nb201", lambda: NB201Supernet(C=4, N=1)),
                                         ("macro", lambda: MacroSupernet(width_mult=0.125))])
def test_one_hot_mixtures_and_unit_picks_compute_the_discrete_path(space, model):
    torch.manual_seed(0)
    net, s = model().eval().double(), get_space(space)  # float64: the mixture sums its ops in another order
    x = torch.randn(2, 3, 16, 16, dtype=torch.float64)
    for arch in s.sample(3, seed=1):
        one_hot = tuple(Mix(slot.choices, torch.tensor([float(c == a) for c in slot.choices], dtype=torch.float64))
                        for slot, a in zip(s.slots(), arch))
        picks = tuple(Pick(a, torch.tensor(1.0, dtype=torch.float64)) for a in arch)
        discrete = net(x, arch)
        assert torch.allclose(net(x, one_hot), discrete, atol=1e-9)
        assert torch.equal(net(x, picks), discrete)


def test_straight_through_gumbel_is_one_hot_and_its_gradient_reaches_the_arch_parameters():
    space = get_space("nb201")
    alphas = SlotParameters(space.slots(), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for a in alphas.alphas:
            a[3] += 5.0  # nor_conv_3x3 most likely everywhere, so every edge is live
    gen = torch.Generator().manual_seed(1)
    weights = [gumbel_softmax(lp, 0.5, gen, hard=True) for lp in alphas.log_probs()]
    for w in weights:  # straight-through (hard - soft) + soft: exact zeros, and 1 to one float32 rounding (6e-8)
        assert torch.allclose(w, torch.nn.functional.one_hot(w.argmax(), len(w)).float(), atol=1e-6)
    entries = alphas.picks(weights)
    assert all(isinstance(e, Pick) for e in entries)
    torch.manual_seed(0)
    net = NB201Supernet(C=4, N=1)
    loss = torch.nn.functional.cross_entropy(net(torch.randn(8, 3, 32, 32), entries), torch.arange(8) % 10)
    loss.backward()
    for a in alphas.alphas:  # every alpha of every slot, through the softmax of the picked weight
        assert a.grad is not None and torch.isfinite(a.grad).all() and (a.grad != 0).all()


def test_eg_update_keeps_every_slot_on_the_simplex(mirror):
    cfg = tiny_config("gaea", **{"data.mirror": str(mirror), "search.arch_lr": 50.0})  # large: the clamp acts
    rt = resolve_runtime(cfg.runtime)
    method = make_method(cfg, get_space("nb201"), rt, relaxed_supernet=True)
    assert [len(a) for a in method.params] == [4] * 6  # GAEA's NB201 runs exclude `none`
    torch.manual_seed(0)
    model = NB201Supernet(C=4, N=1)
    ctx = Context(model, torch.nn.CrossEntropyLoss(), rt, torch.optim.SGD(model.parameters(), lr=0.1))
    batch = (torch.randn(16, 3, 32, 32), torch.arange(16) % 10)
    for _ in range(3):
        method.arch_step(ctx, batch, batch)
        for a in method.params:  # float32 division by the sum, then a sum of 4: within 5 u = 3e-7 of 1
            assert abs(float(a.detach().sum()) - 1.0) < 1e-6 and float(a.detach().min()) >= cfg.search.eg_clamp * (1 - 1e-6)
    assert any(float(a.detach().max()) > 0.5 for a in method.params)  # it moved off the uniform start


def test_controller_log_prob_is_the_sum_of_its_decisions_log_probs():
    torch.manual_seed(0)
    controller = Controller([5, 5, 3, 5])
    decisions = controller(3, torch.Generator().manual_seed(2))
    for b in range(3):
        total, inputs, state = 0.0, controller.start, None
        for slot, size in enumerate(controller.sizes):
            output, state = controller.lstm(inputs, state)
            log_p = torch.log_softmax(controller.slot_logits(output[0], slot), dim=-1)[0]
            choice = int(decisions.indices[b, slot])
            assert choice < size and torch.isinf(log_p[size:]).all()
            total += float(log_p[choice].detach())
            inputs = controller.embed(torch.tensor([choice]))[None]
        # float32 log-softmaxes (|log p| < 3, a few ulps each) summed in another order: 4 terms x ~1e-6 at most
        assert abs(total - float(decisions.log_prob[b].detach())) < 1e-5
    forced = controller(given=decisions.indices)
    assert torch.allclose(forced.log_prob, decisions.log_prob)  # the same float32 ops: rtol 1e-5 is ~80 ulps


def _tiny_darts_problem():
    torch.manual_seed(0)
    model = NB201Supernet(C=2, N=1).double()
    alphas = SlotParameters(get_space("nb201").slots(), init_std=0.5,
                            generator=torch.Generator().manual_seed(0)).double()
    x, y = torch.randn(6, 3, 8, 8, dtype=torch.float64), torch.arange(6) % 10
    loss = lambda: torch.nn.functional.cross_entropy(model(x, alphas.mixture(alphas.probs())), y)  # noqa: E731
    return model, alphas, loss


def test_darts_v2_finite_difference_hessian_vector_product_matches_autograd():
    """In float64 with a step small enough that no ReLU of the tiny problem changes side (r = 1e-5; at 1e-3 one
    does, and the difference quotient is then far off, as it can be in float32 DARTS-V2 with r = 0.01)."""
    model, alphas, loss = _tiny_darts_problem()
    weights, arch = list(model.parameters()), list(alphas.parameters())
    vector = [torch.randn(w.shape, generator=torch.Generator().manual_seed(i), dtype=w.dtype)
              for i, w in enumerate(weights)]
    before = [w.detach().clone() for w in weights]
    grads = torch.autograd.grad(loss(), weights, create_graph=True)
    exact = torch.cat([t.flatten() for t in torch.autograd.grad(sum((g * v).sum() for g, v in zip(grads, vector)),
                                                                arch)])
    approx = torch.cat([t.flatten() for t in finite_difference_hvp(loss, weights, arch, vector, r=1e-5)])
    assert float((approx - exact).norm() / exact.norm()) < 1e-4
    assert all(torch.equal(w, b) for w, b in zip(weights, before))  # the weights are restored exactly
    opt = torch.optim.SGD(weights, lr=0.1, momentum=0.9, weight_decay=5e-4)
    grads, arch_loss = unrolled_arch_grad(loss, loss, weights, arch, opt, r=1e-3)
    assert all(torch.equal(w, b) for w, b in zip(weights, before)) and torch.isfinite(arch_loss)
    assert all(g.shape == a.shape and torch.isfinite(g).all() for g, a in zip(grads, arch))


def _flat(tensors) -> "torch.Tensor":
    return torch.cat([t.flatten() for t in tensors])


def test_darts_v2_runs_its_hessian_vector_product_in_fp32_under_a_bf16_runtime(mirror):
    """DARTS-V2's losses (unrolled_losses) under a bf16 autocast runtime: the finite-difference HVP equals the
    exact double-backward one. The supernet's ReLUs are swapped for tanh here, because a ReLU that changes side
    within +-eps moves the difference quotient by any amount in any precision (the float64 test above): this test
    is about precision. Error bound at r = 1e-3 (measured over seeds, C = 2 and 4, 1 and 2 threads): truncation,
    O(eps^2), 1e-2 to 6e-2 at r = 1e-2 and so at most 6e-4 at 1e-3; fp32 rounding of the two arch gradients,
    O(u / eps), at most 6e-4 at r = 1e-4 and so 6e-5 at 1e-3. The bound 1e-2 is 14 times the largest measured
    (7e-4); the same quotient through the runtime's bf16 loss is 0.7-2.1 off (bf16's u is 2^16 times fp32's)."""
    cfg = tiny_config("darts-v2", **{"data.mirror": str(mirror)})
    rt = Runtime(torch.device("cpu"), torch.bfloat16)
    method = make_method(cfg, get_space("nb201"), rt, relaxed_supernet=True)
    with torch.no_grad():
        for a in method.params:
            a.normal_(0, 0.5, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    model = NB201Supernet(C=2, N=1)
    for module in list(model.modules()):
        for name, child in module.named_children():
            if isinstance(child, torch.nn.ReLU):
                setattr(module, name, torch.nn.Tanh())
    ctx = Context(model, torch.nn.CrossEntropyLoss(), rt, torch.optim.SGD(model.parameters(), lr=0.1))
    batch = (torch.randn(6, 3, 8, 8, generator=torch.Generator().manual_seed(0)), torch.arange(6) % 10)
    weights, alphas = list(model.parameters()), method.params
    train_loss, _ = method.unrolled_losses(ctx, batch, batch)
    vector = [g.detach() for g in torch.autograd.grad(train_loss(), weights)]
    grads = torch.autograd.grad(train_loss(), weights, create_graph=True)
    exact = _flat(torch.autograd.grad(sum((g * v).sum() for g, v in zip(grads, vector)), alphas))

    def error(loss) -> float:
        approx = _flat(finite_difference_hvp(loss, weights, alphas, vector, r=1e-3))
        return float((approx - exact).norm() / exact.norm())

    assert error(train_loss) < 1e-2
    assert error(lambda: ctx.loss(*batch, method.alphas.mixture(method.alphas.probs()))) > 0.1  # bf16: noise


def test_rsps_ranks_every_arch_on_the_same_batches(mirror):
    """RSPS's own ranking: every arch sees the same search.rank_batches batches, so an arch's score does not depend
    on its place in the list, and a fresh scorer from the same seed gives the same scores."""
    cfg = tiny_config("rsps", **{"data.mirror": str(mirror), "search.rank_batches": 2})
    rt = resolve_runtime(cfg.runtime)
    space = get_space("nb201")
    method = make_method(cfg, space, rt, relaxed_supernet=True)
    torch.manual_seed(0)
    model = NB201Supernet(C=4, N=1)
    ctx = Context(model, torch.nn.CrossEntropyLoss(), rt, torch.optim.SGD(model.parameters(), lr=0.1))
    rng = np.random.default_rng(0)
    data = DeviceImages(rng.integers(0, 256, (192, 8, 8, 3), dtype=np.uint8), rng.integers(0, 10, 192))
    archs = space.sample(5, seed=1)

    def scorer() -> BatchScorer:
        return BatchScorer(data, 64, torch.Generator().manual_seed(3), rt)

    seen = []
    spy = scorer()
    score = spy.on
    spy.on = lambda model, arch, batches: seen.append([x.data_ptr() for x, _ in batches]) or score(model, arch, batches)
    scores = method.rank_scores(ctx, spy, archs)
    assert len(seen) == 5 and len(seen[0]) == 2 and all(s == seen[0] for s in seen)
    assert method.rank_scores(ctx, scorer(), archs[::-1]).tolist() == scores[::-1].tolist()
    with pytest.raises(WsnasError, match="search.rank_batches=0"):
        make_method(tiny_config("rsps", **{"search.rank_batches": 0}), space, rt, relaxed_supernet=False)


def test_arch_parameters_live_outside_the_supernet(mirror):
    cfg = tiny_config("darts-v1", **{"data.mirror": str(mirror)})
    method = make_method(cfg, get_space("nb201"), resolve_runtime(cfg.runtime), relaxed_supernet=True)
    model = NB201Supernet(C=4, N=1)
    assert not {id(p) for p in method.params} & {id(p) for p in model.parameters()}


def test_expected_cost_decomposition_is_exact_for_nb201_and_macro():
    for name in ("nb201", "macro"):
        space = get_space(name)
        costs = slot_costs(space, "params_M")
        for arch in space.sample(20, seed=3):
            assert abs(costs.of(space, arch) - space.features(arch)["params_M"]) < 1e-9  # float64 sums of < 100


def test_every_record_names_its_torch_class():
    for name in method_names():
        module, _, cls = method_record(name).method_class.partition(":")
        assert getattr(__import__(module, fromlist=[cls]), cls).name == name


class Dummy(RSPS):
    """A method of a test's own: uniform paths, ranking archs by nothing."""

    name = "dummy"

    def rank_scores(self, ctx, scorer, archs):
        return np.zeros(len(archs))


def test_a_method_is_a_record_and_a_class(tmp_path, mirror, monkeypatch):
    record = SearchMethod(name="dummy", method_class=f"{__name__}:Dummy", level="single", data_use="all of it",
                          protocol=Protocol({"train.epochs": 1}), arch_lr=None, score_name="nothing")
    monkeypatch.setitem(search_methods._RECORDS.all(), "dummy", record)  # search_methods.register_method, undone
    cfg = tiny_config("dummy", **{"data.mirror": str(mirror)})
    assert cfg.train.epochs == 2  # the smoke preset's reduction over the record's published run
    search_run(cfg, tmp_path / "run", evaluate=False)
    result = json.loads((tmp_path / "run" / "search.json").read_text())
    assert result["method"] == "dummy" and result["method_score"] == "nothing"
    assert result["data"]["uses"] == "all of it" and result["data"]["level"] == "single"
    assert result["arch_step"] is None and TruthLookup(cfg).index(result["derived"]["key"]) is not None


@pytest.mark.parametrize("space", ["nb201", "macro"])
def test_every_method_runs_at_smoke_size(tmp_path, mirror, space):
    for method in method_names():
        run = tmp_path / method
        assert main(["search", "--method", method, "--space", space, *TINY, "--set", "train.epochs=1",
                     "--data-mirror", str(mirror), "--run-dir", str(run), "--no-evaluate"]) == 0
        result = json.loads((run / "seed-0" / "search.json").read_text())
        log = pd.read_csv(run / "seed-0" / "search_log.csv")
        assert result["method"] == method and len(log) == 1 and np.isfinite(log.loss).all()
        assert result["derived"]["truth"]["truth:cifar10/test"] > 0
        shares = pd.read_csv(run / "seed-0" / "search_shares.csv")
        # float32 shares (ENAS's: means of 100 conditional distributions): sums within ~100 u = 6e-6 of 1
        assert np.allclose(shares.groupby("slot").share.sum(), 1.0, atol=1e-5)
        scores = pd.read_csv(run / "seed-0" / "method_scores.csv", dtype={"key": str})
        assert len(scores) == 12  # the smoke preset's evaluation sample


@pytest.fixture(scope="module")
def searched(tmp_path_factory, mirror) -> tuple[Path, str]:
    """A 1-epoch GDAS search with its uniform baseline, evaluated and analysed; and what it printed."""
    import contextlib
    import io

    run = tmp_path_factory.mktemp("search") / "gdas"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["search", "--method", "gdas", "--space", "nb201", *TINY, "--set", "train.epochs=1",
                     "--data-mirror", str(mirror), "--run-dir", str(run), "--baseline"]) == 0
    return run, out.getvalue()


def test_search_run_is_a_normal_run_for_evaluate_and_analyze(searched):
    run, out = searched
    assert "wsnas compare" in out and "ranking of 12 evaluated archs" in out and "A - B" in out
    for path in (run / "seed-0", run / "uniform" / "seed-0"):
        assert len(pd.read_csv(path / "scores.csv")) == 12 and (path / "metrics.json").is_file()
        state = load_checkpoint(path / "checkpoints" / "epoch_0001.pt")
        assert set(state) >= {"model", "optimizer", "scheduler", "search"}
    ranking = json.loads((run / "seed-0" / "search.json").read_text())["method_ranking"]
    assert ranking["method"]["n_archs"] == 12 and "kendall" in ranking["supernet"]
    uniform = json.loads((run / "uniform" / "seed-0" / "config.json").read_text())["config"]
    method = json.loads((run / "seed-0" / "config.json").read_text())["config"]
    assert uniform["search"]["method"] == "rsps" and uniform["train"] == method["train"]
    summary = json.loads((run / "search_summary.json").read_text())
    assert set(summary["parts"]) == {"method", "uniform"}
    paired = json.loads((run / "seed-0" / "compare_uniform.json").read_text())  # wsnas compare, run by --baseline
    assert paired["n_archs"] == 12
    difference = paired["differences"]["kendall"]["difference"]
    assert summary["parts"]["method"]["seeds"][0]["minus_uniform_kendall"] == difference
    assert main(["evaluate", str(run / "seed-0"), "--archs", "12", "--quiet"]) == 0  # unchanged, already scored


def test_search_report_draws_every_figure(searched, tmp_path, mirror):
    from wsnas.analysis.search.report import render_search_report

    run, _ = searched
    sweep = tmp_path / "sweep"
    assert main(["search", "--method", "snas", "--space", "nb201", *TINY, "--set", "train.epochs=1",
                 "--data-mirror", str(mirror), "--run-dir", str(sweep), "--lambdas", "0,4"]) == 0
    tradeoff = json.loads((sweep / "snas_tradeoff.json").read_text())["rows"]
    assert [r["lambda"] for r in tradeoff] == [0.0, 4.0] and all(r["params_M"] > 0 for r in tradeoff)
    report = render_search_report([run, sweep], "searches", tmp_path / "reports", str(mirror))
    pngs = sorted(p.name for p in report.index.parent.glob("*.png"))
    assert pngs == ["nb201-ranking.png", "nb201-shares.png", "nb201-trajectory.png", "sweep-tradeoff.png"]
    summary = report.summary.read_text()
    assert "gdas: derived arch cifar10/test" in summary and "published 93.61 ± 0.09" in summary


@pytest.mark.parametrize("method", ["enas", "darts-v2", "snas"])
def test_resumed_search_equals_an_uninterrupted_one(tmp_path, mirror, method):
    penalty = ["--set", "search.resource_lambda=0.1"] if method == "snas" else []
    argv = ["search", "--method", method, "--space", "nb201", *TINY, "--set", "train.epochs=2", *penalty,
            "--data-mirror", str(mirror), "--no-evaluate"]
    whole = tmp_path / "whole"
    assert main([*argv, "--run-dir", str(whole)]) == 0
    cut = tmp_path / "cut"
    shutil.copytree(whole, cut)
    run = cut / "seed-0"
    for name in ("checkpoints/epoch_0002.pt", "search.json", "method_scores.csv"):
        (run / name).unlink()  # as if killed after epoch 1's checkpoint
    assert main([*argv, "--run-dir", str(cut)]) == 0
    assert_identical(load_checkpoint(run / "checkpoints" / "epoch_0002.pt"),
                     load_checkpoint(whole / "seed-0" / "checkpoints" / "epoch_0002.pt"))
    for name in ("search_log.csv", "search_shares.csv", "method_scores.csv"):
        a, b = pd.read_csv(run / name), pd.read_csv(whole / "seed-0" / name)
        clocks = ["seconds", "cpu_seconds"]
        pd.testing.assert_frame_equal(a.drop(columns=clocks, errors="ignore"), b.drop(columns=clocks, errors="ignore"))
    a, b = (json.loads((p / "search.json").read_text()) for p in (run, whole / "seed-0"))
    a.pop("seconds"), b.pop("seconds")
    assert a == b


def test_relaxed_methods_refuse_a_supernet_without_mixtures(tmp_path, mirror, capsys):
    assert main(["search", "--method", "darts-v1", "--space", "channel-resnet", *TINY, "--data-mirror", str(mirror),
                 "--run-dir", str(tmp_path / "r"), "--no-evaluate"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "use rsps or enas" in err


@pytest.mark.parametrize("method, extra, named", [
    ("gdas", ["--set", "train.ema_decay=0.99"], "train.ema_decay"),
    ("rsps", ["--set", "train.swa_epochs=1"], "train.swa_epochs"),
    ("darts-v1", ["--set", "train.sampler=unique"], "train.sampler=unique"),
])
def test_a_search_refuses_training_options_it_would_ignore(tmp_path, mirror, capsys, method, extra, named):
    assert main(["search", "--method", method, "--space", "nb201", *TINY, *extra, "--data-mirror", str(mirror),
                 "--run-dir", str(tmp_path / "r"), "--no-evaluate"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"would ignore {named}" in err and "drop them" in err
