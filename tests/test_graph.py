"""NAS-Bench-Graph: the space against the nas-bench-graph package, its ground truth, Planetoid data, the supernet,
and a smoke study through the CLI."""
import contextlib
import io
import json
import os
import pickle
import random

import pandas as pd
import pytest
from nas_bench_graph import Arch, light_read

from wsnas.benchmarks.groundtruth import GroundTruthError, load_ground_truth
from wsnas.benchmarks.registry import get_space
from wsnas.benchmarks.space import ArchError
from wsnas.benchmarks.spaces.graph.arch import CORA, OPS, bench_hash, graph_cost, raw_inputs, to_hash
from wsnas.benchmarks.spaces.graph.space import GraphSpace
from wsnas.benchmarks.spaces.graph.truth import _bench_unpickle, load_graph_truth

SPACE = get_space("graph")


@pytest.fixture(scope="module")
def truth():
    return load_graph_truth(SPACE)


def test_the_space_is_the_benchmarks_26206_canonical_archs():
    archs = SPACE.sample(None, seed=0)
    keys = [SPACE.format(a) for a in archs]
    assert isinstance(SPACE, GraphSpace) and SPACE.size() == len(set(keys)) == 26_206
    with contextlib.redirect_stdout(io.StringIO()):  # the package prints its count
        from nas_bench_graph.architecture import all_archs

        package = {a.hash_arch() for a in all_archs()}
    hashes = [to_hash(a) for a in archs]
    assert hashes == sorted(hashes) and set(hashes) == package == set(light_read("cora"))
    assert all(bench_hash(a) == h for a, h in zip(archs[::7], hashes[::7]))  # the package's own valid_hash


def test_keys_round_trip_and_any_writing_gets_the_benchmarks_key():
    for arch in random.Random(0).sample(SPACE.sample(None, seed=0), 300):
        assert SPACE.parse(SPACE.format(arch)) == arch
    # the package README's example: one arch written in two node orders
    assert SPACE.key("gcn~0|gin~1|fc~2|cheb~1") == SPACE.key("gcn~0|cheb~1|gin~1|fc~3") == "gcn~0|gin~1|cheb~1|fc~2"
    rng = random.Random(1)
    for _ in range(300):  # any link pattern (not only the 9 canonical ones) and any ops, hashed as the package does
        links = [rng.randrange(node) for node in range(1, 5)]
        ops = [rng.choice(OPS[:-1])] + [rng.choice(OPS) for _ in range(3)]
        key = SPACE.key("|".join(f"{op}~{src}" for src, op in zip(links, ops)))
        assert to_hash(SPACE.parse(key)) == Arch(links, ops).valid_hash()


@pytest.mark.parametrize("text, message", [
    ("gcn~0|gin~1|fc~2", "expected 4 '|'-separated nodes"),
    ("gcn~0|gin~1|fc~2|cheb", "is not 'op~input'"),
    ("gcn~0|gin~1|conv~2|cheb~1", "unknown operation 'conv'"),
    ("gcn~0|gin~2|fc~2|cheb~1", "node 2 cannot read 2"),
    ("skip~0|skip~1|skip~2|skip~3", "only skip ops"),
    (42, "must be a string"),
])
def test_bad_arch_strings_get_one_clear_error(text, message):
    with pytest.raises(ArchError, match=message):
        SPACE.parse(text)


def test_truth_holds_cora_and_citeseer_as_the_package_reads_them(truth):
    assert len(truth) == 26_206 and truth.space == "graph"
    assert {"cora/valid", "cora/test", "citeseer/valid", "citeseer/test", "cora/params"} <= set(truth.metrics())
    assert load_ground_truth("graph").frame.equals(truth.frame)  # through GraphSpace.ground_truth
    for dataset in ("cora", "citeseer"):
        bench = light_read(dataset)
        for _, row in truth.frame.sample(20, random_state=0).iterrows():
            info = bench[Arch(*map(list, zip(*SPACE.parse(row["key"])))).valid_hash()]
            assert row["index"] == to_hash(SPACE.parse(row["key"]))
            assert row[f"{dataset}/test"] == pytest.approx(100 * info["perf"])
            assert row[f"{dataset}/latency_s"] == pytest.approx(info["latency"])
    assert truth.values("cora/valid", ["gcn~0|gin~1|fc~2|cheb~1"])[0] == pytest.approx(
        100 * light_read("cora")[to_hash(SPACE.parse("gcn~0|gin~1|fc~2|cheb~1"))]["valid_perf"])
    assert truth.frame["cora/test"].between(0, 100).all() and truth.frame["cora/test"].max() > 80


def test_the_bench_unpickler_refuses_any_class_but_numpy_scalars():
    with pytest.raises(pickle.UnpicklingError, match="refusing posix.system|refusing os.system"):
        _bench_unpickle(pickle.dumps(os.system))
    assert _bench_unpickle(pickle.dumps({1: {"para": __import__("numpy").float64(1.5)}})) == {1: {"para": 1.5}}


def test_features_count_parameters_as_the_benchmark(truth):
    frame = truth.frame
    counted = [graph_cost(SPACE.parse(k), CORA["features"], CORA["classes"], CORA["nodes"])[0] for k in frame.key]
    assert counted == frame["cora/params"].tolist()  # every arch, exactly
    citeseer = [graph_cost(SPACE.parse(k), 3703, 6, 3327)[0] for k in frame.key[::13]]
    assert citeseer == frame["citeseer/params"].iloc[::13].tolist()
    features = SPACE.features(SPACE.parse("gcn~0|gin~1|fc~2|cheb~1"))
    assert features["params_M"] * 1e6 == pytest.approx(truth.values("cora/params", ["gcn~0|gin~1|fc~2|cheb~1"])[0])
    assert [features[f"n_ops:{op}"] for op in OPS] == [0, 1, 1, 1, 0, 0, 0, 1, 0]
    assert [features[f"edge:{n}"] for n in "1234"] == ["gcn", "gin", "cheb", "fc"] and features["flops_M"] > 0
    largest, smallest = SPACE.extremes()
    assert SPACE.format(largest) == "arma~0|arma~0|arma~0|arma~0"
    assert min(frame["cora/params"]) == truth.values("cora/params", [SPACE.format(smallest)])[0]


# ----------------------------------------------------------------------------------------------- torch side

torch = pytest.importorskip("torch")
pytest.importorskip("torch_geometric")

from wsnas.core.config import DataConfig  # noqa: E402
from wsnas.supernets.graph_data import load_graph, prepare_planetoid  # noqa: E402
from wsnas.supernets.models.graph import GraphNet, GraphSupernet, extract_subnet  # noqa: E402
from wsnas.supernets.registry import DATASETS  # noqa: E402


@pytest.fixture(scope="module")
def cora(mirror):
    return load_graph("cora", mirror)


def test_planetoid_from_the_mirror_with_the_public_split(cora, mirror):
    assert cora.x.shape == (2708, 1433) and cora.edge_index.shape == (2, 10556) and cora.num_classes == 7
    assert {s: len(n) for s, n in cora.nodes.items()} == {"train": 140, "valid": 500, "test": 1000}
    citeseer = load_graph("citeseer", mirror)
    assert citeseer.x.shape == (3327, 3703) and citeseer.num_classes == DATASETS["citeseer"].num_classes == 6
    assert {s: len(n) for s, n in citeseer.nodes.items()} == {"train": 120, "valid": 500, "test": 1000}
    train, valid = prepare_planetoid(DataConfig(dataset="cora", n_train=None, n_valid=500, mirror=str(mirror)), "cpu")
    assert len(train) == 140 and train.num_batches(64, drop_last=True) == 1
    (nodes, labels), = valid.batches(128, shuffle=True, augment=True)
    assert torch.equal(nodes, cora.nodes["valid"]) and torch.equal(labels, cora.y[cora.nodes["valid"]])
    with pytest.raises(Exception, match="fixed public split"):
        prepare_planetoid(DataConfig(dataset="cora", n_train=512, n_valid=256, mirror=str(mirror)), "cpu")


def test_extracted_subnets_compute_what_the_supernet_computes(cora):
    torch.manual_seed(0)
    supernet = GraphSupernet(cora.x, cora.edge_index, 7, width=32)
    supernet.train()
    archs = random.Random(2).sample(SPACE.sample(None, seed=0), 4) + [SPACE.parse("skip~0|gcn~1|gat~1|skip~1")]
    optimizer = torch.optim.SGD(supernet.parameters(), lr=0.1)
    for arch in archs:  # move the weights and BN statistics away from their initial values
        torch.nn.functional.cross_entropy(supernet(cora.nodes["train"], arch), cora.y[cora.nodes["train"]]).backward()
        optimizer.step()
    supernet.eval()
    for arch in archs:
        net = extract_subnet(supernet, arch).eval()
        assert isinstance(net, GraphNet) and "x" not in net.state_dict()
        # float32, the same PyG kernels on the same weights and shapes: equal to a few ulps (measured: bit-equal
        # at 1 and 2 threads); logits are below 1 here, so 1e-5 is over 100 ulps (u = 6e-8)
        assert torch.allclose(net(cora.nodes["valid"]), supernet(cora.nodes["valid"], arch), atol=1e-5)
        unused_bns = sum(raw_inputs(arch))  # the benchmark counts a BN at every node, used or not
        assert sum(p.numel() for p in net.parameters()) + 2 * 32 * unused_bns == graph_cost(arch, 1433, 7, 2708, 32)[0]


def test_flops_are_the_weight_products_torch_counts(cora):
    from torch.utils.flop_counter import FlopCounterMode

    for key in ("gcn~0|gin~1|fc~2|cheb~1", "arma~0|sage~0|graph~1|gat~2"):
        arch = SPACE.parse(key)
        net = GraphNet(arch, cora.x, cora.edge_index, 7).eval()
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            net(torch.arange(2708))
        assert counter.get_total_flops() == 2 * graph_cost(arch, 1433, 7, 2708)[1]


def test_smoke_study_through_the_cli(tmp_path, mirror):
    from wsnas.cli import main

    run = tmp_path / "graph-smoke"
    assert main(["study", "--space", "graph", "--preset", "smoke", "--run-dir", str(run), "--data-mirror",
                 str(mirror), "--quiet"]) == 0
    config = json.loads((run / "config.json").read_text())["config"]
    assert config["data"]["dataset"] == "cora" and config["analysis"]["truth"] == "cora/test"
    scores = pd.read_csv(run / "scores.csv")
    assert len(scores) == config["eval"]["n_archs"] and scores.key.is_unique
    assert (scores["index"] == [to_hash(SPACE.parse(k)) for k in scores.key]).all()
    result = json.loads((run / "metrics.json").read_text())["results"][0]
    assert -1 <= result["kendall"]["value"] <= 1 and result["kendall"]["ci_low"] <= result["kendall"]["ci_high"]


def test_graph_errors_name_the_fix(truth):
    from wsnas.supernets.models.graph import hidden_width

    with pytest.raises(Exception, match="known: cora, citeseer"):
        load_graph("pubmed")
    with pytest.raises(Exception, match="model.width_mult >= "):
        hidden_width(0.001)
    with pytest.raises(GroundTruthError, match="unknown metric"):
        truth.values("cora/bogus", ["gcn~0|gin~1|fc~2|cheb~1"])
    assert hidden_width(1.0) == 256 and hidden_width(0.3) == 76
