"""DARTS space: genotype forms, the function key, NAS-Bench-301 sampling, params vs NASLib's sample, ground truth."""
import json
import random

import pytest

from wsnas.benchmarks.groundtruth import load_ground_truth
from wsnas.benchmarks.naslib_truth import NASLIB_SOURCES
from wsnas.benchmarks.registry import get_space
from wsnas.benchmarks.space import ArchError
from wsnas.benchmarks.spaces.darts.cost import darts_params, nb301_params
from wsnas.benchmarks.spaces.darts.genotype import (OPS, format_genotype, function_arch, n_genotypes, parse_genotype,
                                                    random_genotype, to_compact)
from wsnas.benchmarks.spaces.darts.space import TRUTH, DartsSpace

SPACE = DartsSpace()
# DARTS (second order), as DARTS's genotypes.py writes it; DARTS reports 3.3 M parameters (3,349,342 counted).
DARTS_V2 = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
            "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
            "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
            "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
            "('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")


@pytest.fixture(scope="module")
def rows(mirror):
    return json.loads((mirror / NASLIB_SOURCES["zc_nasbench301"].mirror_path).read_text())["nasbench301"]["cifar10"]


def test_genotype_string_is_the_key_and_round_trips():
    arch = SPACE.parse(DARTS_V2)
    assert SPACE.format(arch) == DARTS_V2
    assert SPACE.key(DARTS_V2.replace("[2, 3, 4, 5]", "range(2, 6)")) == DARTS_V2
    assert SPACE.key(to_compact(arch)) == DARTS_V2
    assert to_compact(arch).startswith("[[(0, 3), (1, 3), (0, 3), (1, 3), (1, 3), (0, 2), (0, 2), (2, 5)], [(0, 0)")


def test_compact_keys_of_the_file_round_trip(rows):
    for text in rows:
        arch = parse_genotype(text)
        assert to_compact(arch) == text and parse_genotype(format_genotype(arch)) == arch


def test_bad_genotypes_get_clear_errors():
    for bad, match in [("Genotype(normal=[])", "needs the fields"), (str([[(0, 7)] * 8, [(0, 1)] * 8]), "op codes"),
                       (DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)"), "node 5 reads"),
                       (DARTS_V2.replace("('sep_conv_3x3', 1), ('skip_connect', 0)", "('sep_conv_3x3', 0), "
                                         "('skip_connect', 0)"), "two distinct"),
                       (DARTS_V2.replace("'dil_conv_3x3'", "'none'"), "not \\(op, input\\)"),
                       (DARTS_V2.replace("reduce_concat=[2, 3, 4, 5]", "reduce_concat=[4, 5]"), "reduce_concat"),
                       ("[[1, 2]]", "compact form"), ("Genotype(", "does not parse"), ("{", "does not parse")]:
        with pytest.raises(ArchError, match=match):
            SPACE.parse(bad)
    with pytest.raises(ArchError, match="must be a string"):
        SPACE.parse(None)


def test_function_key_ignores_the_order_of_a_nodes_inputs():
    arch = SPACE.parse(DARTS_V2)
    normal, reduce = arch
    swapped = (normal[:6] + (normal[7], normal[6]), (reduce[1], reduce[0]) + reduce[2:])
    assert SPACE.format(swapped) != SPACE.format(arch)
    assert SPACE.function_key(swapped) == SPACE.function_key(arch)
    other_op = (normal[:7] + (("sep_conv_5x5", 2),), reduce)
    assert SPACE.function_key(other_op) != SPACE.function_key(arch)
    assert function_arch(function_arch(swapped)) == function_arch(arch)


def test_random_genotypes_as_nasbench301_samples():
    rng = random.Random(0)
    archs = [random_genotype(rng) for _ in range(2000)]
    assert all(SPACE.parse(SPACE.format(a)) == a for a in archs[:200])  # every draw is a valid genotype
    ops = [op for a in archs for cell in a for op, _ in cell]
    assert set(ops) == set(OPS) and "none" not in ops
    first_inputs = [cell[0][1] for a in archs for cell in a]  # node 2 reads 0 and 1, in either order
    assert 0.45 < first_inputs.count(0) / len(first_inputs) < 0.55
    assert SPACE.random_arch(random.Random(5)) == SPACE.random_arch(random.Random(5))
    assert SPACE.size() == n_genotypes() == (2 * 6 * 12 * 20 * 7 ** 8) ** 2


def test_params_equal_the_file_for_all_rows(rows):
    """NASLib's params: NAS-Bench-301's network (C=32, 8 cells), the ops' BNs non-affine; exact for all 500."""
    for text, entry in rows.items():
        assert nb301_params(parse_genotype(text)) == round(entry["params"] * 1e6), text
    assert darts_params(SPACE.parse(DARTS_V2)) == 3_349_342  # DARTS's own evaluation network, as DARTS counts


def test_ground_truth_is_the_surrogates_and_the_pool(mirror):
    truth = load_ground_truth("darts", mirror)
    space = get_space("darts")
    assert len(truth) == 500 and "SURROGATE" in truth.source and "automl/NASLib@9052f54" in truth.source
    assert TRUTH == "cifar10/valid@surrogate" and {TRUTH, "params", "naslib/synflow"} <= set(truth.metrics())
    assert [space.format(a) for a in space.enumerate()] == truth.frame["key"].tolist()
    values = truth.values(TRUTH, truth.frame["key"])
    assert 90.7 < values.min() and values.max() < 94.4
    assert space.features(space.parse(truth.frame["key"][0]))["params_M"] == truth.frame["params"][0] / 1e6


# ------------------------------------------------------------------------------------------- slots and rule

def test_slots_are_dartss_relaxation_and_a_genotype_round_trips_through_its_choices():
    from wsnas.benchmarks.spaces.darts.slots import EDGES, PRIMITIVES

    slots = SPACE.slots()
    assert len(slots) == 28 and len(EDGES) == 14 and slots[0].name == "normal:2<-0"
    assert slots[-1].name == "reduce:5<-4" and all(s.choices == PRIMITIVES for s in slots)
    assert PRIMITIVES == ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
                          "dil_conv_3x3", "dil_conv_5x5")  # DARTS's genotypes.PRIMITIVES
    for arch in [SPACE.parse(DARTS_V2)] + [random_genotype(random.Random(seed)) for seed in range(50)]:
        choices = SPACE.choices_of(arch)
        assert sum(c != "none" for c in choices) == 16
        assert SPACE.arch_from_choices(choices) == function_arch(arch)
    # a node with three non-none edges takes its two lowest inputs; one with a single one fills in max_pool_3x3
    choices = list(SPACE.choices_of(SPACE.parse(DARTS_V2)))
    choices[EDGES.index((4, 2))] = "sep_conv_5x5"  # node 4 of the normal cell: inputs 0, 1 and now 2
    choices[14 + EDGES.index((2, 1))] = "none"  # node 2 of the reduce cell: input 0 only
    normal, reduce = SPACE.arch_from_choices(choices)
    assert normal[4:6] == (("skip_connect", 0), ("sep_conv_3x3", 1))
    assert reduce[:2] == (("max_pool_3x3", 0), ("max_pool_3x3", 1))
    with pytest.raises(ArchError, match="not one of"):
        SPACE.arch_from_choices(["conv"] * 28)


def test_dartss_rule_takes_each_nodes_two_strongest_non_none_edges():
    from wsnas.benchmarks.spaces.darts.slots import EDGES, PRIMITIVES

    rng = random.Random(1)
    weights = []
    for _ in range(28):
        w = [rng.random() for _ in PRIMITIVES]
        weights.append(dict(zip(PRIMITIVES, (v / sum(w) for v in w))))
    weights[EDGES.index((2, 0))]["none"] = 10.0  # 'none' weighs nothing in the rule
    normal, reduce = SPACE.arch_from_weights(weights)
    for cell, offset in ((normal, 0), (reduce, 14)):
        for node in range(2, 6):
            strength = {src: max(weights[offset + EDGES.index((node, src))][op] for op in OPS)
                        for src in range(node)}
            expected = sorted(strength, key=lambda src: -strength[src])[:2]
            pairs = cell[2 * (node - 2):2 * (node - 1)]
            assert [src for _, src in pairs] == expected
            for op, src in pairs:
                w = weights[offset + EDGES.index((node, src))]
                assert op == max(OPS, key=w.get)
    assert "two edges" in SPACE.weights_rule


def test_the_default_derivation_is_each_slots_heaviest_choice():
    nb201 = get_space("nb201")
    rng = random.Random(2)
    weights = [{c: rng.random() for c in slot.choices} for slot in nb201.slots()]
    assert nb201.arch_from_weights(weights) == tuple(max(w, key=w.get) for w in weights)


# ------------------------------------------------------------------------------------------------ supernet

@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def _trained_supernet(torch):
    """A C=4, 3-cell supernet after 3 SGD steps on random paths (non-trivial weights and BN statistics)."""
    from wsnas.supernets.models.darts import DartsSupernet

    torch.manual_seed(0)
    net, rng = DartsSupernet(C=4, layers=3), random.Random(0)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(torch.randn(8, 3, 32, 32), SPACE.random_arch(rng)),
                                          torch.randint(0, 10, (8,))).backward()
        opt.step()
    return net


def test_a_genotype_runs_its_8_edges_per_cell_and_only_their_weights(torch):
    net = _trained_supernet(torch).eval()
    arch = SPACE.parse(DARTS_V2)
    calls = []
    for c, cell in enumerate(net.cells):
        for e, ops in enumerate(cell.edges):
            for op, module in ops.items():
                module.register_forward_hook(lambda m, i, o, key=(c, e, op): calls.append(key))
    x = torch.randn(2, 3, 32, 32)
    out = net(x, arch)
    assert [sum(key[0] == c for key in calls) for c in range(3)] == [8, 8, 8]
    used = set(calls)
    with torch.no_grad():  # scramble every op module the path did not run
        for c, cell in enumerate(net.cells):
            for e, ops in enumerate(cell.edges):
                for op, module in ops.items():
                    if (c, e, op) not in used:
                        for p in module.parameters():
                            p.normal_()
    assert torch.equal(net(x, arch), out)
    net.zero_grad(set_to_none=True)
    net(x, arch).sum().backward()
    assert all(p.grad is None for c, cell in enumerate(net.cells) for e, ops in enumerate(cell.edges)
               for op, module in ops.items() if (c, e, op) not in used for p in module.parameters())


def test_extracted_subnet_equals_the_supernet_path(torch):
    from wsnas.supernets.models.darts import extract_subnet

    net, rng = _trained_supernet(torch), random.Random(3)
    x = torch.randn(4, 3, 32, 32)
    for arch in [SPACE.parse(DARTS_V2)] + [SPACE.random_arch(rng) for _ in range(3)]:
        sub = extract_subnet(net, arch)
        assert sum(p.numel() for p in sub.parameters()) < sum(p.numel() for p in net.parameters())
        for train in (False, True):  # running statistics, then batch statistics
            assert torch.equal(net.train(train)(x, arch), sub.train(train)(x)), (arch, train)


def test_one_hot_mixtures_and_unit_picks_compute_the_genotype_path(torch):
    from wsnas.supernets.selection import Mix, Pick

    net = _trained_supernet(torch).eval().double()  # float64: the mixture adds its zero terms in another order
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64)
    for arch in (SPACE.parse(DARTS_V2), SPACE.random_arch(random.Random(4))):
        choices = SPACE.choices_of(arch)
        one_hot = tuple(Mix(slot.choices, torch.tensor([float(c == a) for c in slot.choices], dtype=torch.float64))
                        for slot, a in zip(SPACE.slots(), choices))
        picks = tuple(Pick(a, torch.tensor(1.0, dtype=torch.float64)) for a in choices)
        discrete = net(x, arch)
        assert torch.allclose(net(x, one_hot), discrete, atol=1e-12)
        assert torch.allclose(net(x, picks), discrete, atol=1e-12)
    with pytest.raises(ArchError, match="28 slot entries"):
        net(x, ("none",) * 5)


@pytest.mark.parametrize("method", ["rsps", "darts-v1", "gdas", "snas", "gaea", "enas"])
def test_every_search_method_derives_a_genotype(torch, tmp_path, mirror, method):
    import pandas as pd

    from wsnas.cli import main

    run = tmp_path / method
    assert main(["search", "--method", method, "--space", "darts", "--preset", "smoke", "--set", "runtime.threads=1",
                 "--set", "data.n_train=64", "--set", "train.batch_size=32", "--set", "train.epochs=1",
                 "--set", "eval.n_archs=4", "--quiet",
                 "--data-mirror", str(mirror), "--run-dir", str(run), "--no-evaluate"]) == 0
    result = json.loads((run / "seed-0" / "search.json").read_text())
    derived = result["derived"]["key"]
    assert SPACE.format(SPACE.parse(derived)) == derived  # a valid genotype, in its key form
    if method not in ("rsps", "enas"):
        assert result["derived"]["rule"] == SPACE.weights_rule
    shares = pd.read_csv(run / "seed-0" / "search_shares.csv")
    assert shares.slot.nunique() == 28 and (shares.groupby("slot").share.sum() - 1).abs().max() < 1e-5


def test_presets_size_the_supernet():
    from wsnas.core.config import build_config

    paper = build_config("paper", overrides={"space": "darts"})
    assert (paper.model.C, paper.model.N, paper.train.batch_size, paper.train.epochs) == (16, 8, 64, 50)
    assert paper.train.lr_schedule == "cosine" and paper.eval.n_archs is None  # DARTS's search network, 500 archs
    cpu = build_config("cpu", overrides={"space": "darts"})
    assert (cpu.model.C, cpu.model.N, cpu.replicates, cpu.eval.n_archs) == (4, 3, 3, 100)
    assert cpu.runtime.amp == "off" and cpu.analysis.truth == TRUTH
