"""NAS-Bench-Macro end to end: keys, enumeration, isomorphism, cost model vs the table, ground truth, supernet."""
import json

import pytest

from wsnas.benchmarks import xiusu_truth
from wsnas.benchmarks.groundtruth import GroundTruthError, load_ground_truth
from wsnas.benchmarks.registry import get_space
from wsnas.benchmarks.space import ArchError
from wsnas.benchmarks.spaces.macro.space import OPS, MacroSpace, function_arch, macro_counts, parse_arch
from wsnas.benchmarks.xiusu_truth import XIUSU_SOURCES
from wsnas.core.errors import WsnasError

SPACE = MacroSpace()
BEST = "22212220"


@pytest.fixture(scope="module")
def table(mirror):
    return json.loads((mirror / XIUSU_SOURCES["nas-bench-macro_cifar10"].mirror_path).read_text())


@pytest.fixture(scope="module")
def truth(mirror):
    return load_ground_truth("macro", mirror)


def test_keys_round_trip_and_bad_keys_get_a_clear_error():
    assert get_space("macro").name == "macro"
    assert parse_arch(" 01201201 ") == ("identity", "mb3_k3", "mb6_k5", "identity", "mb3_k3", "mb6_k5",
                                        "identity", "mb3_k3")
    assert SPACE.key(" 22212220\n") == BEST
    for bad in ("2221222", "222122200", "22212223", "2221222a", "", 22212220, None):
        with pytest.raises(ArchError, match="NAS-Bench-Macro arch"):
            SPACE.parse(bad)
    with pytest.raises(ArchError, match="needs 8 ops"):
        SPACE.format(("identity",) * 7)


def test_enumeration_is_every_key_once_in_base3_order():
    keys = [SPACE.format(a) for a in SPACE.enumerate()]
    assert len(keys) == SPACE.size() == 6561 and len(set(keys)) == 6561
    assert [int(k, 3) for k in keys] == list(range(6561))
    assert all(SPACE.key(k) == k for k in keys)
    assert SPACE.extremes() == (parse_arch("22222222"), parse_arch("00000000"))


def test_identity_duplicates_only_at_stride1_layers():
    assert SPACE.function_key(parse_arch("22212202")) == SPACE.function_key(parse_arch(BEST)) == BEST
    assert SPACE.function_key(parse_arch("00010000")) == SPACE.function_key(parse_arch("00001000")) == "00010000"
    # stage openers (layers 0, 2, 5) project with a 1x1 stride-2 conv: never merged
    assert SPACE.function_key(parse_arch("01000000")) != SPACE.function_key(parse_arch("10000000"))
    assert SPACE.function_key(parse_arch("00100000")) != SPACE.function_key(parse_arch("00010000"))
    classes = SPACE.function_classes()
    assert len(classes) == 9 * 21 * 21 == len(SPACE.sample(None, 0, unique_functions=True))
    assert all(function_arch(function_arch(a)) == function_arch(a) for a in SPACE.enumerate())


def test_table_agrees_with_the_isomorphism(table):
    """The benchmark trained one string per class and copied its row: every member has the same row."""
    for members in SPACE.function_classes().values():
        rows = {json.dumps(table[SPACE.format(a)], sort_keys=True) for a in members}
        assert len(rows) == 1


def test_cost_model_reproduces_params_and_flops_of_every_arch(table):
    for arch in SPACE.enumerate():
        entry = table[SPACE.format(arch)]
        assert macro_counts(arch) == (entry["params"], entry["flops"])


def test_features():
    f = SPACE.features(parse_arch(BEST))
    assert f["params_M"] == pytest.approx(1.985514) and f["flops_M"] == pytest.approx(85.164544)
    assert {op: f[f"n_ops:{op}"] for op in OPS} == {"identity": 1, "mb3_k3": 1, "mb6_k5": 6}
    assert [f[f"edge:{i}"] for i in range(8)] == list(parse_arch(BEST))


def test_ground_truth_from_the_mirror(truth, mirror, table):
    assert len(truth) == 6561 and truth.space == "macro" and "xiusu/NAS-Bench-Macro@61a2bfc" in truth.source
    frame = truth.frame
    top = frame[frame["cifar10/test"] == frame["cifar10/test"].max()]
    assert sorted(top.key) == ["22212202", BEST]  # one function class (the benchmark trained '22212220')
    assert round(truth.values("cifar10/test", [BEST])[0], 3) == 93.127 and truth.index_of(BEST) == int(BEST, 3)
    assert truth.seed_columns("cifar10/test") == [f"cifar10/test#seed{k}" for k in range(3)]
    seeds = frame[truth.seed_columns("cifar10/test")].mean(axis=1)
    assert (seeds - frame["cifar10/test"]).abs().max() < 1e-4  # float64; the table's own rounding
    assert truth.values("flops", ["22222222"])[0] == table["22222222"]["flops"]
    assert truth.index_of("00000002") == 2 and truth.key_of(6560) == "22222222"
    assert SPACE.ground_truth(mirror).frame.equals(frame)


def test_malformed_table_is_named(tmp_path, monkeypatch):
    bad = tmp_path / "macro.json"
    bad.write_text(json.dumps({"00000000": {"test_acc": [1.0], "mean_acc": 1.0, "params": 1, "flops": 1}}))
    monkeypatch.setattr(xiusu_truth, "resolve", lambda source, mirror: bad)
    with pytest.raises(GroundTruthError, match="is not the NAS-Bench-Macro table.*re-fetch"):
        SPACE.ground_truth()


# ------------------------------------------------------------------------------------------------ torch side

@pytest.fixture
def torch():
    """torch on one thread (restored after): on a shared, oversubscribed CPU two threads run these many-small-op
    networks over 10x slower."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(threads)


def test_supernet_extract_matches_and_counts_params(torch):
    from wsnas.supernets.models.macro import MacroNetwork, MacroSupernet, extract_subnet

    torch.manual_seed(0)
    supernet = MacroSupernet(width_mult=1.0).eval()
    x = torch.randn(2, 3, 32, 32)
    for key in (BEST, "00000000", "22222222", "01201201"):
        arch = parse_arch(key)
        net = extract_subnet(supernet, arch).eval()
        assert sum(p.numel() for p in net.parameters()) == macro_counts(arch)[0]
        with torch.no_grad():
            assert torch.equal(supernet(x, arch), net(x))
    assert "identity" not in supernet.layers[1] and "identity" in supernet.layers[2]  # no-op vs projection
    assert MacroNetwork(parse_arch(BEST), width_mult=0.25)(x).shape == (2, 10)
    with pytest.raises(WsnasError, match="model.width_mult"):
        MacroSupernet(width_mult=0)


def test_isomorphic_strings_compute_the_same_function(torch):
    """'00010000' and '00001000': the same block at layer 3 or 4 of stage 2, the other layer a no-op."""
    from wsnas.supernets.models.macro import MacroNetwork

    torch.manual_seed(0)
    a = MacroNetwork(parse_arch("00010000"), width_mult=0.25).eval()
    b = MacroNetwork(parse_arch("00001000"), width_mult=0.25).eval()
    b.load_state_dict({k.replace("layers.3.", "layers.4."): v for k, v in a.state_dict().items()})
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(a(x), b(x))  # the same float32 ops in the same order: a few ulps (rtol 1e-5)


def test_smoke_study_through_the_cli(torch, tmp_path, mirror):
    from wsnas.cli import main

    run = tmp_path / "macro"
    assert main(["study", "--space", "macro", "--preset", "smoke", "--run-dir", str(run), "--data-mirror",
                 str(mirror), "--set", "runtime.threads=1", "--quiet"]) == 0
    config = json.loads((run / "config.json").read_text())["config"]
    assert config["space"] == "macro" and config["model"]["width_mult"] == MacroSpace.presets["smoke"][
        "model.width_mult"]
    metrics = json.loads((run / "metrics.json").read_text())
    result = metrics["results"][0]
    assert metrics["truth"] == "cifar10/test" and result["n_archs"] == 12
    assert -1 <= result["kendall"]["value"] <= 1
