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
