"""NAS-Bench-101: spec forms, pruning, the module hash, isomorphism, sampling, cost model vs NASLib's sample."""
import ast
import json
import random

import pytest

from wsnas.benchmarks.groundtruth import load_ground_truth
from wsnas.benchmarks.naslib_truth import NASLIB_SOURCES
from wsnas.benchmarks.registry import get_space
from wsnas.benchmarks.space import ArchError, SpaceError
from wsnas.benchmarks.spaces.nb101.cost import nb101_counts, vertex_channels
from wsnas.benchmarks.spaces.nb101.space import NUM_CELLS, TRUTH, NB101Space
from wsnas.benchmarks.spaces.nb101.spec import (CONV1X1, CONV3X3, INPUT, MAXPOOL3X3, OUTPUT, SHORT, Spec, canonical,
                                                from_string, from_tuple, hash_module, make_spec, module_hash,
                                                random_spec, to_string, to_tuple)

# A cell with its published hash and parameter count: NAS-Bench-101's row queried in NNI's benchmark example
# (hash 00005c142e6f48ac74fdcf73e3439874, 'parameters': 8.55553, i.e. 8,555,530 trainable parameters).
PUBLISHED = "conv3x3~0|maxpool3x3~1|conv3x3~2|conv3x3~0|conv1x1~0+3+4|output~2+5"
PUBLISHED_HASH = "00005c142e6f48ac74fdcf73e3439874"
PUBLISHED_PARAMS = 8_555_530


@pytest.fixture(scope="module")
def rows(mirror):
    return json.loads((mirror / NASLIB_SOURCES["zc_nasbench101"].mirror_path).read_text())["nasbench101"]["cifar10"]


def _spec(matrix, ops):
    return make_spec(tuple(map(tuple, matrix)), tuple(ops))


def test_published_cell_hash_and_params():
    spec = from_string(PUBLISHED)
    assert module_hash(spec) == PUBLISHED_HASH
    assert nb101_counts(spec)[0] == PUBLISHED_PARAMS
    assert NB101Space().key(PUBLISHED) == PUBLISHED_HASH


def test_hash_module_reproduces_nasbench_graph_util_tests():
    """Cases of nasbench's graph_util_test.test_hash_module (labels are raw integers there)."""
    diamond = ((0, 1, 1, 0), (0, 0, 0, 1), (0, 0, 0, 1), (0, 0, 0, 0))
    assert hash_module(diamond, [-1, 1, 2, -2]) == hash_module(diamond, [-1, 2, 1, -2])
    m1 = ((0, 1, 1, 0, 0), (0, 0, 0, 0, 1), (0, 0, 0, 1, 0), (0, 0, 0, 0, 1), (0, 0, 0, 0, 0))
    m2 = ((0, 1, 0, 1, 0), (0, 0, 1, 0, 0), (0, 0, 0, 0, 1), (0, 0, 0, 0, 1), (0, 0, 0, 0, 0))
    m3 = ((0, 1, 1, 0, 0), (0, 0, 0, 1, 0), (0, 0, 0, 0, 1), (0, 0, 0, 0, 1), (0, 0, 0, 0, 0))
    h1 = hash_module(m1, [-1, 1, 2, 3, -2])
    assert h1 == hash_module(m2, [-1, 2, 3, 1, -2]) == hash_module(m3, [-1, 2, 1, 3, -2])
    assert hash_module(m1, [-1, 2, 3, 1, -2]) != h1 and hash_module(m1, [-1, 2, 1, 3, -2]) != h1
    chain = ((0, 1, 0, 0, 0), (0, 0, 1, 0, 0), (0, 0, 0, 1, 0), (0, 0, 0, 0, 1), (0, 0, 0, 0, 0))
    assert hash_module(chain, [-1, 1, 0, 0, -2]) != hash_module(chain, [-1, 0, 0, 1, -2])
    directed = ((0, 1, 0, 1), (0, 0, 1, 0), (0, 0, 0, 1), (0, 0, 0, 0))
    assert hash_module(directed, [-1, 1, 0, -2]) != hash_module(directed, [-1, 0, 1, -2])


def test_pruning_as_model_spec():
    # vertex 2 has no path to the output, vertex 3 none from the input: both go, vertex 4 is renumbered 2
    spec = _spec([[0, 1, 1, 0, 0, 0], [0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 0],
                  [0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0]],
                 [INPUT, CONV3X3, MAXPOOL3X3, CONV1X1, CONV1X1, OUTPUT])
    assert spec == Spec(((0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1), (0, 0, 0, 0)), (INPUT, CONV3X3, CONV1X1, OUTPUT))
    assert to_string(spec) == "conv3x3~0|conv1x1~1|output~2"
    assert to_string(from_string("conv3x3~|maxpool3x3~0|output~0+2")) == "maxpool3x3~0|output~0+1"
    with pytest.raises(ArchError, match="no path from the input to the output"):
        from_string("conv3x3~0|conv1x1~|output~2")
    with pytest.raises(ArchError, match="at most 9"):
        from_string("conv3x3~0|conv3x3~0+1|conv3x3~0+1+2|conv3x3~0+1+2+3|output~0+4")  # 11 edges


def test_spec_forms_round_trip_and_bad_specs_get_clear_errors():
    spec = from_string(PUBLISHED)
    assert from_string(to_string(spec)) == spec and from_tuple(to_tuple(spec)) == spec
    small = from_string("maxpool3x3~0|output~1")
    assert len(to_tuple(small)) == 56 and from_tuple(to_tuple(small)) == small
    assert from_string("conv3x3-bn-relu~0|output~1") == from_string("conv3x3~0|output~1")
    space = NB101Space()
    assert space.key(str(to_tuple(spec))) == space.key(str(list(to_tuple(spec)))) == PUBLISHED_HASH
    assert space.parse(PUBLISHED_HASH) == space.parse(PUBLISHED)  # a hash this instance has seen
    for bad, match in [("conv5x5~0|output~1", "unknown op"), ("conv3x3~1|output~1", "cannot read"),
                       ("conv3x3~0|conv3x3~1", "last vertex must be"), ("conv3x3 0|output~1", "op~inputs"),
                       ("(0, 1)", "56 integers"), ("(0, 'a')", "tuple of integers"), ("f" * 32, "module hash"),
                       ("|".join(["conv3x3~0"] * 6 + ["output~1"]), "at most 7")]:
        with pytest.raises(ArchError, match=match):
            space.parse(bad)
    with pytest.raises(ArchError, match="must be a string"):
        space.parse(None)


def test_isomorphic_specs_share_key_and_canonical_arch():
    rng = random.Random(0)
    space = NB101Space()
    for _ in range(200):
        spec = random_spec(rng)
        n = spec.n_vertices
        while True:  # a random topological relabelling of the interior vertices
            interior = rng.sample(range(1, n - 1), n - 2)
            order = [0, *interior, n - 1]
            if not any(spec.matrix[order[a]][order[b]] for a in range(n) for b in range(a)):
                break
        permuted = Spec(tuple(tuple(spec.matrix[order[a]][order[b]] for b in range(n)) for a in range(n)),
                        tuple(spec.ops[o] for o in order))
        assert module_hash(permuted) == module_hash(spec)
        assert canonical(permuted) == canonical(spec)
        assert space.format(space.parse(to_string(permuted))) == module_hash(spec)
    # a diamond whose two branches swap ops is one cell
    assert space.key("conv3x3~0|maxpool3x3~0|output~1+2") == space.key("maxpool3x3~0|conv3x3~0|output~1+2")
    assert space.key("conv3x3~0|maxpool3x3~1|output~2") != space.key("maxpool3x3~0|conv3x3~1|output~2")


def test_random_specs_are_valid_and_seeded():
    space = get_space("nb101")
    a = [space.random_arch(random.Random(3)) for _ in range(2)]
    assert a[0] == a[1]
    archs = [space.random_arch(random.Random(seed)) for seed in range(300)]
    assert all(arch.n_vertices <= 7 and arch.n_edges <= 9 and canonical(arch) == arch for arch in archs)
    assert len({space.format(arch) for arch in archs}) > 150  # raw specs favour small cells (see random_arch)
    assert space.size() == NUM_CELLS


def test_vertex_channels_split_the_output():
    spec = from_string("conv3x3~0|conv1x1~1|maxpool3x3~0|output~1+2+3")
    assert vertex_channels(spec, 128, 128) == [128, 43, 43, 42, 128]  # 128 = 43 + 43 + 42, the extras first


def test_params_and_flops_equal_the_file_for_all_rows(rows):
    """Every row of NASLib's sample: params and FLOPs (both in millions there) exactly as the cost model's."""
    for text, entry in rows.items():
        params, flops = nb101_counts(from_tuple(ast.literal_eval(text)))
        assert params == round(entry["params"] * 1e6) and flops == round(entry["flops"] * 1e6), text


def test_ground_truth_is_the_evaluation_pool(mirror, rows, monkeypatch):
    truth = load_ground_truth("nb101", mirror)
    space = get_space("nb101")
    assert len(truth) == 292 and truth.space == "nb101" and "automl/NASLib@9052f54" in truth.source
    assert {TRUTH, "params", "flops", "naslib/synflow", "naslib/jacov"} <= set(truth.metrics())
    assert [space.format(a) for a in space.enumerate()] == truth.frame["key"].tolist()
    assert space.sample(None, 0) == list(space.enumerate()) and len(space.sample(50, 1)) == 50
    # the 55 rows whose cell prunes to input -> output are one arch, its truth their mean
    direct = [e["val_accuracy"] for t, e in rows.items() if to_string(from_tuple(ast.literal_eval(t))) == "output~0"]
    key = space.key("output~0")
    assert len(direct) == 55 and truth.values(TRUTH, [key])[0] == pytest.approx(sum(direct) / 55)
    assert truth.values("params", [key])[0] == 882_570
    monkeypatch.setenv("WSNAS_DATA_MIRROR", str(mirror))
    fresh = NB101Space()  # a hash of the sample parses in a new instance (it reads the sample)
    assert fresh.parse(key) == space.parse("output~0")
    assert space.features(space.parse(PUBLISHED))["params_M"] == pytest.approx(8.55553)


# ------------------------------------------------------------------------------------------------ supernet

@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


CELLS = ["output~0", PUBLISHED, "conv3x3~0|conv1x1~1|maxpool3x3~0|output~1+2+3", "maxpool3x3~0|conv1x1~0+1|output~2"]


def test_extracted_subnet_equals_the_supernet_path(torch):
    from wsnas.supernets.models.nb101 import NB101Supernet, extract_subnet

    torch.manual_seed(0)
    space, rng = get_space("nb101"), random.Random(0)
    net = NB101Supernet(width_mult=0.0625, cells_per_stack=1)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    for _ in range(4):  # non-trivial weights and BN statistics
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(torch.randn(8, 3, 32, 32), space.random_arch(rng)),
                                          torch.randint(0, 10, (8,))).backward()
        opt.step()
    x = torch.randn(4, 3, 32, 32)
    for arch in [space.parse(c) for c in CELLS] + [space.random_arch(rng) for _ in range(3)]:
        sub = extract_subnet(net, arch)
        for train in (False, True):  # running statistics, then batch statistics
            assert torch.allclose(net.train(train)(x, arch), sub.train(train)(x), atol=1e-5), (arch, train)


def test_a_path_trains_only_its_ops_and_channels(torch):
    from wsnas.supernets.models.nb101 import NB101Supernet

    net = NB101Supernet(width_mult=0.0625, cells_per_stack=1)
    arch = get_space("nb101").parse("conv3x3~0|conv1x1~0|output~1+2")  # 8 stem channels: 4 per vertex
    net(torch.randn(2, 3, 32, 32), arch).sum().backward()
    first = net.cells[0].vertices[0]
    used = SHORT[arch.ops[1]]  # the canonical cell puts conv1x1 first
    unused = "conv3x3" if used == "conv1x1" else "conv1x1"
    assert first[used].conv.weight.grad[:4, :4].abs().sum() > 0
    assert first[used].conv.weight.grad[4:].abs().sum() == 0 and first[unused].conv.weight.grad is None
    assert all(p.grad is None for v in net.cells[0].vertices[2:] for p in v.parameters())


def test_subnet_at_the_benchmark_width_has_the_benchmark_parameter_count(torch):
    from wsnas.supernets.models.nb101 import NB101Supernet, extract_subnet

    net, space = NB101Supernet(), get_space("nb101")
    for cell in CELLS:
        arch = space.parse(cell)
        assert sum(p.numel() for p in extract_subnet(net, arch).parameters()) == nb101_counts(arch)[0]


def test_bad_width_is_named(torch):
    from wsnas.supernets.models.nb101 import NB101Supernet

    with pytest.raises(SpaceError, match="model.width_mult=0.01 gives a 1-channel stem"):
        NB101Supernet(width_mult=0.01)
