"""Properties of NAS-Bench-201 arch strings and keys: round trip, input order, isomorphism, parser robustness."""
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from wsnas.benchmarks.space import ArchError
from wsnas.benchmarks.spaces.nb201.cell import EDGES, NUM_NODES, OPS, format_arch, function_key, parse_arch
from wsnas.benchmarks.spaces.nb201.space import NB201Space

op = st.sampled_from(OPS)
archs = st.tuples(*[op] * len(EDGES))
# fragments of arch strings, so random text also reaches the parser's deeper checks
FRAGMENTS = ["|", "+", "~", "0", "1", "2", "3", "9", "-1", " ", "~0|", "|+|", "none", "skip_connect", "nor_conv_1x1",
             "nor_conv_3x3", "avg_pool_3x3", "conv", "x"]

_RNG = np.random.default_rng(0)
_MAPS = {name: _RNG.normal(size=(4, 4)) for name in ("nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")}


def cell_output(arch: tuple[str, ...], x: np.ndarray) -> np.ndarray:
    """A numerical stand-in for the cell: each op a fixed nonlinear map with op(0) = 0, skip the identity, none
    zero; node j sums its inputs."""
    ops = dict(zip(EDGES, arch))
    nodes = [x]
    for j in range(1, NUM_NODES):
        total = np.zeros_like(x)
        for i in range(j):
            name = ops[(j, i)]
            if name == "skip_connect":
                total = total + nodes[i]
            elif name != "none":
                total = total + np.tanh(_MAPS[name] @ nodes[i])
        nodes.append(total)
    return nodes[-1]


def test_every_arch_round_trips_through_format_and_parse():
    space = NB201Space()
    for arch in space.enumerate():
        text = format_arch(arch)
        assert parse_arch(text) == arch and space.key(text) == text


@given(archs, st.permutations(range(2)), st.permutations(range(3)))
def test_a_nodes_inputs_in_any_order_give_the_same_key(arch, order2, order3):
    ops = dict(zip(EDGES, arch))
    orders = {1: [0], 2: order2, 3: order3}
    text = "+".join("|" + "|".join(f"{ops[(j, i)]}~{i}" for i in orders[j]) + "|" for j in range(1, NUM_NODES))
    assert NB201Space().key(text) == format_arch(arch)


@given(op, op, op, op)
def test_branches_from_two_equal_nodes_can_swap_ops(a, r, p, q):
    # 2 <- 1 is none, so nodes 1 and 2 both compute a(x): the output's branches from them are interchangeable
    left, right = (a, a, "none", r, p, q), (a, a, "none", r, q, p)
    x = _RNG.normal(size=4)
    assert np.allclose(cell_output(left, x), cell_output(right, x))  # float64 sums of a few terms, in other orders
    assert function_key(left) == function_key(right)


@given(op, op, op, op, op)
def test_a_skip_connected_node_is_interchangeable_with_the_input(b, c, r, p, q):
    # node 1 = skip(x) = x, so the edges from nodes 0 and 1 into one node are parallel branches of one input
    arch = ("skip_connect", b, c, r, p, q)
    x = _RNG.normal(size=4)
    for twin in (("skip_connect", c, b, r, p, q), ("skip_connect", b, c, p, r, q)):
        assert np.allclose(cell_output(arch, x), cell_output(twin, x))
        assert function_key(arch) == function_key(twin)


def _parses_or_refuses(text: object) -> None:
    """The parser returns an arch that round-trips, or raises ArchError; nothing else."""
    try:
        arch = parse_arch(text)  # type: ignore[arg-type]
    except ArchError:
        return
    assert parse_arch(format_arch(arch)) == arch


@given(st.one_of(st.text(), st.lists(st.sampled_from(FRAGMENTS), max_size=30).map("".join)))
@example("|nor_conv_3x3~0|+|none~0|")
@example("|none~0|+|none~0|none~1|+|none~0|none~1|none~3|")
@example("|none~0|+|none~1|none~1|+|none~0|none~1|none~2|")
def test_random_text_never_crashes_the_parser(text):
    _parses_or_refuses(text)


@given(st.one_of(st.none(), st.integers(), st.binary(), st.lists(op)))
def test_non_text_is_refused_with_arch_error(value):
    with pytest.raises(ArchError):
        parse_arch(value)


def test_non_ascii_digits_are_refused_with_arch_error():
    _parses_or_refuses("|none~²|+|none~0|none~1|+|none~0|none~1|none~2|")
