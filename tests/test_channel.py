"""Channel-Bench-Macro (channel-mobilenet, channel-resnet): keys, cost model vs the tables, ground truth, the
slimmable supernet and its extracted subnets, and a smoke study through the CLI."""
import copy
import json
import random

import numpy as np
import pytest

from wsnas.benchmarks.groundtruth import GroundTruthError, load_ground_truth
from wsnas.benchmarks.registry import get_space
from wsnas.benchmarks.space import ArchError, SpaceError
from wsnas.benchmarks.spaces.channel.space import MOBILENET, RESNET, SKELETONS, counts, layer_width
from wsnas.core.config import build_config

NAMES = ("channel-mobilenet", "channel-resnet")
BEST = {"channel-mobilenet": ("4444342", 91.887), "channel-resnet": ("4344424", 93.893)}


@pytest.fixture(scope="module", params=NAMES)
def truth(request, mirror):
    return load_ground_truth(request.param, mirror)


@pytest.mark.parametrize("name", NAMES)
def test_keys_round_trip_and_bad_keys_get_a_clear_error(name):
    space = get_space(name)
    assert space.parse(" 4444342 ") == (4, 4, 4, 4, 3, 4, 2) and space.key("1234123 ") == "1234123"
    for bad in ("444434", "44443421", "4444340", "44a4342", "4444352", ""):
        with pytest.raises(ArchError, match=f"{name} arch .*7 digits from 1-4"):
            space.parse(bad)
    with pytest.raises(ArchError, match="must be a string"):
        space.parse(4444342)
    with pytest.raises(ArchError, match="7 width digits"):
        space.format((4, 4, 4, 4, 3, 4, 5))


@pytest.mark.parametrize("name", NAMES)
def test_enumeration_is_every_key_once_in_order(name):
    space = get_space(name)
    keys = [space.format(a) for a in space.enumerate()]
    assert space.size() == len(keys) == len(set(keys)) == 4 ** 7 and keys == sorted(keys)
    assert keys[0] == "1111111" and keys[-1] == "4444444"
    assert len(space.function_classes()) == space.size()  # no isomorphism: every width config is its own function
    largest, smallest = space.extremes()
    assert space.format(largest) == "4444444" and space.format(smallest) == "1111111"


def test_widths_follow_the_benchmark_rounding():
    assert [layer_width(c, d) for c, d in zip(MOBILENET.max_channels, (1, 2, 3, 4, 1, 2, 3))] == \
        [32, 384, 576, 768, 64, 768, 768]
    assert [layer_width(256, d, 0.0625) for d in (1, 2, 3, 4)] == [4, 8, 12, 16]
    assert layer_width(128, 1, 0.01) == 1  # never zero channels


def test_cost_model_reproduces_params_and_flops_of_every_arch(truth):
    skeleton = get_space(truth.space).skeleton
    model = np.array([counts(skeleton, tuple(map(int, key))) for key in truth.frame.key])
    assert (model[:, 0] == truth.frame.params.to_numpy()).all()
    assert (model[:, 1] == truth.frame.flops.to_numpy()).all()


def test_ground_truth_from_the_mirror(truth):
    frame = truth.frame
    space = get_space(truth.space)
    assert len(truth) == 16384 and (frame["index"].to_numpy() == np.arange(16384)).all()
    assert list(frame.key) == [space.format(a) for a in space.enumerate()]
    assert truth.seed_columns("cifar10/test") == [f"cifar10/test#seed{k}" for k in range(3)]
    best_key, best = BEST[truth.space]
    top = frame.loc[frame["cifar10/test"].idxmax()]
    assert top.key == best_key and round(top["cifar10/test"], 3) == best
    runs = frame[truth.seed_columns("cifar10/test")].to_numpy()
    assert np.allclose(runs.mean(1), frame["cifar10/test"], atol=1e-4)  # float64; the table's own rounding
    assert truth.index_of(best_key) == int(top["index"]) and truth.key_of(0) == "1111111"


def test_features():
    space = get_space("channel-resnet")
    f = space.features(space.parse("4344424"))
    params, flops = counts(RESNET, (4, 3, 4, 4, 4, 2, 4))
    assert f["params_M"] == params / 1e6 and f["flops_M"] == flops / 1e6
    assert {k: v for k, v in f.items() if k.startswith("n_ops:")} == \
        {"n_ops:0.25": 0, "n_ops:0.5": 1, "n_ops:0.75": 1, "n_ops:1.0": 5}
    assert f["edge:stage1"] == "1.0" and f["edge:rs1"] == "0.75" and f["edge:rs5"] == "1.0"
    assert sum(k.startswith("edge:") for k in f) == 7


@pytest.mark.parametrize("name", NAMES)
def test_presets_size_the_supernet(name):
    assert build_config("smoke", overrides={"space": name}).model.width_mult < 1
    paper = build_config("paper", overrides={"space": name, "model.width_mult": 0.5})
    assert paper.model.width_mult == 0.5 and paper.model.bn_affine  # the user's values win


def test_malformed_table_is_named(tmp_path, monkeypatch):
    from wsnas.benchmarks import xiusu_truth

    bad = tmp_path / "Results_MobileNet.json"
    bad.write_text(json.dumps({"1111111": {"acc": [1, 2, 3], "mean": 2, "params": 1, "flops": 1}}))
    monkeypatch.setattr(xiusu_truth, "resolve", lambda source, mirror: bad)
    with pytest.raises(GroundTruthError, match="not the Channel-Bench-Macro MobileNet table.*re-fetch"):
        get_space("channel-mobilenet").ground_truth()


# ------------------------------------------------------------------------------------------------ supernet

@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def _supernet(skeleton, width_mult):
    from wsnas.supernets.models.channel import ChannelSupernet

    return ChannelSupernet(skeleton, width_mult=width_mult)


def _extract(net, arch):
    from wsnas.supernets.models.channel import extract_subnet

    return extract_subnet(net, arch)


@pytest.mark.parametrize("skeleton", SKELETONS.values(), ids=list(SKELETONS))
def test_extracted_subnet_equals_the_supernet_path(torch, skeleton):
    torch.manual_seed(0)
    net = _supernet(skeleton, 0.0625)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    space = get_space(f"channel-{skeleton.name}")
    rng = random.Random(0)
    for _ in range(4):  # non-trivial weights and BN statistics
        opt.zero_grad()
        x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
        torch.nn.functional.cross_entropy(net(x, space.random_arch(rng)), y).backward()
        opt.step()
    # float64 (both from the same float32 weights): sliced and copied weights may take different float32 kernels
    x = torch.randn(4, 3, 32, 32, dtype=torch.float64)
    for arch in [*space.extremes(), *(space.random_arch(rng) for _ in range(3))]:
        wide, sub = copy.deepcopy(net).double(), _extract(net, arch).double()
        for train in (False, True):  # running statistics, then batch statistics
            assert torch.allclose(wide.train(train)(x, arch), sub.train(train)(x), atol=1e-9), (arch, train)


def test_a_path_computes_and_trains_only_its_channels(torch):
    net = _supernet(MOBILENET, 0.0625)
    arch = (1, 2, 1, 1, 1, 1, 1)
    net(torch.randn(2, 3, 32, 32), arch).sum().backward()
    stem, expand = net.blocks[0].convs[0], net.blocks[1].convs[0]
    assert stem.weight.grad[2:].abs().sum() == 0 and stem.weight.grad[:2].abs().sum() > 0  # 8 * 1/4 = 2 used
    assert expand.weight.grad[:24, :2].abs().sum() > 0 and expand.weight.grad[24:].abs().sum() == 0
    assert all(p.grad is None for p in net.blocks[0].bns[0]["4"].parameters())  # other widths' BN untouched
    assert net.classifier.weight.grad[:, 16:].abs().sum() == 0


@pytest.mark.parametrize("skeleton", SKELETONS.values(), ids=list(SKELETONS))
def test_extracted_subnet_has_the_benchmark_parameter_count(torch, skeleton):
    net = _supernet(skeleton, 1.0)
    for arch in [(1,) * 7, (4,) * 7, (2, 3, 1, 4, 2, 3, 1), (4, 3, 4, 4, 4, 2, 4)]:
        sub = _extract(net, arch)
        assert sum(p.numel() for p in sub.parameters()) == counts(skeleton, arch)[0]


def test_bad_width_mult_is_named(torch):
    with pytest.raises(SpaceError, match="model.width_mult=0.*must be > 0"):
        _supernet(RESNET, 0)


# ----------------------------------------------------------------------------------------------------- CLI

def test_smoke_study_through_the_cli(torch, tmp_path, mirror):
    from wsnas.cli import main

    run = tmp_path / "study"
    assert main(["study", "--space", "channel-mobilenet", "--preset", "smoke", "--run-dir", str(run),
                 "--data-mirror", str(mirror), "--quiet"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    result = metrics["results"][0]
    assert metrics["truth"] == "cifar10/test" and result["n_archs"] == 12
    assert -1 <= result["kendall"]["value"] <= 1


def test_sandwich_training_step_through_the_cli(torch, tmp_path, mirror):
    from wsnas.cli import main

    run = tmp_path / "sandwich"
    assert main(["train", "--space", "channel-resnet", "--preset", "smoke", "--run-dir", str(run),
                 "--data-mirror", str(mirror), "--set", "train.sampler=sandwich", "--set", "train.epochs=1",
                 "--set", "data.n_train=128", "--quiet"]) == 0
    assert json.loads((run / "config.json").read_text())["config"]["train"]["sampler"] == "sandwich"
    log = (run / "train_log.csv").read_text().splitlines()
    assert len(log) == 2 and (run / "checkpoints" / "epoch_0001.pt").is_file()
