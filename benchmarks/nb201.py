"""NAS-Bench-201 (NATS topology space): cell encoding, canonical strings, isomorphism, enumeration.

A cell is a DAG on 4 nodes; each of the 6 edges j<-i (i < j) carries one of 5 operations. The benchmark's
own string format lists, node by node, the op on each incoming edge:

    |op~0|+|op~0|op~1|+|op~0|op~1|op~2|

An arch is the tuple of the 6 ops in that edge order. The parser accepts a node's inputs in any order and
normalises them, so one arch always has one key.
"""
from __future__ import annotations

import itertools
import os
from typing import TYPE_CHECKING, Any, Iterator

from wsnas.benchmarks.space import ArchError, SearchSpace, Slot

if TYPE_CHECKING:
    from wsnas.benchmarks.groundtruth import GroundTruth

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
# (to_node, from_node) for each of the 6 edges, in the order of the benchmark's arch string.
EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
NUM_NODES = 4
FORMAT_HINT = "|op~0|+|op~0|op~1|+|op~0|op~1|op~2| with op in " + ", ".join(OPS)

Arch201 = tuple[str, str, str, str, str, str]
ZERO = "0"  # function key of a node that is constantly zero


def _parse_node(part: str, node: int, text: str) -> dict[int, str]:
    if not (part.startswith("|") and part.endswith("|")) or len(part) < 2:
        raise ArchError(f"NAS-Bench-201 arch {text!r}: node {node} part {part!r} must be wrapped in '|'; "
                        f"expected {FORMAT_HINT}")
    inputs: dict[int, str] = {}
    for token in part[1:-1].split("|"):
        op, sep, src = token.partition("~")
        if not sep or not (src.isascii() and src.isdigit()):
            raise ArchError(f"NAS-Bench-201 arch {text!r}: {token!r} is not 'op~input'; expected {FORMAT_HINT}")
        if op not in OPS:
            raise ArchError(f"NAS-Bench-201 arch {text!r}: unknown operation {op!r}; known: {', '.join(OPS)}")
        i = int(src)
        if i >= node:
            raise ArchError(f"NAS-Bench-201 arch {text!r}: node {node} cannot take input {i} "
                            f"(inputs must be earlier nodes 0..{node - 1})")
        if i in inputs:
            raise ArchError(f"NAS-Bench-201 arch {text!r}: node {node} lists input {i} twice")
        inputs[i] = op
    if len(inputs) != node:
        missing = sorted(set(range(node)) - set(inputs))
        raise ArchError(f"NAS-Bench-201 arch {text!r}: node {node} lacks inputs {missing}; expected {FORMAT_HINT}")
    return inputs


def parse_arch(text: str) -> Arch201:
    """Decode a NAS-Bench-201 arch string (inputs of a node in any order) into the 6-op tuple."""
    if not isinstance(text, str):
        raise ArchError(f"NAS-Bench-201 arch must be a string, got {type(text).__name__}")
    parts = text.strip().split("+")
    if len(parts) != NUM_NODES - 1:
        raise ArchError(f"NAS-Bench-201 arch {text!r}: expected {NUM_NODES - 1} '+'-separated nodes, "
                        f"got {len(parts)}; expected {FORMAT_HINT}")
    nodes = [_parse_node(part, j, text) for j, part in enumerate(parts, start=1)]
    return tuple(nodes[j - 1][i] for j, i in EDGES)  # type: ignore[return-value]


def format_arch(arch: Arch201) -> str:
    """Canonical arch string in the benchmark's format."""
    if len(arch) != len(EDGES) or any(op not in OPS for op in arch):
        raise ArchError(f"NAS-Bench-201 arch needs {len(EDGES)} ops from {OPS}, got {arch!r}")
    ops = dict(zip(EDGES, arch))
    return "+".join("|" + "|".join(f"{ops[(j, i)]}~{i}" for i in range(j)) + "|" for j in range(1, NUM_NODES))


def node_functions(arch: Arch201) -> list[tuple[str, ...]]:
    """Symbolic function of each node as a sorted multiset of summed terms (empty = constantly zero).

    'none' edges and zero inputs vanish, skip_connect splices its input's terms in (identity), every other
    op wraps its input; sums commute, so terms are kept sorted. Convention (as NAS-Bench-201's own
    isomorphism rule): an op applied to a zero input is zero.
    """
    ops = dict(zip(EDGES, arch))
    funcs: list[tuple[str, ...]] = [("x",)]
    for j in range(1, NUM_NODES):
        terms: list[str] = []
        for i in range(j):
            op, src = ops[(j, i)], funcs[i]
            if op == "none" or not src:
                continue
            terms.extend(src if op == "skip_connect" else (f"{op}({'+'.join(src)})",))
        funcs.append(tuple(sorted(terms)))
    return funcs


def function_key(arch: Arch201) -> str:
    """Key of the function the cell computes: isomorphic cells (same function) share it."""
    return "+".join(node_functions(arch)[-1]) or ZERO


def live_edges(arch: Arch201) -> tuple[bool, ...]:
    """Edges whose op does work that can reach the output (not 'none', source non-zero, target used)."""
    funcs = node_functions(arch)
    ops = dict(zip(EDGES, arch))
    reaches_out = [False] * NUM_NODES
    reaches_out[-1] = True
    for j in range(NUM_NODES - 1, 0, -1):
        for i in range(j):
            if reaches_out[j] and ops[(j, i)] != "none" and funcs[i]:
                reaches_out[i] = True
    return tuple(op != "none" and bool(funcs[i]) and reaches_out[j] for (j, i), op in zip(EDGES, arch))


class NB201Space(SearchSpace):
    """The 15,625-cell NAS-Bench-201 topology space."""

    name = "nb201"
    description = "NAS-Bench-201 / NATS-Bench topology space: 6 edges x 5 ops = 15,625 cells"

    def parse(self, text: str) -> Arch201:
        return parse_arch(text)

    def format(self, arch: Arch201) -> str:
        return format_arch(arch)

    def enumerate(self) -> Iterator[Arch201]:
        """All cells in lexicographic order of op ids (not the benchmark index order: that comes from
        the ground-truth table, see wsnas.benchmarks.groundtruth)."""
        return iter(itertools.product(OPS, repeat=len(EDGES)))  # type: ignore[arg-type]

    def size(self) -> int:
        return len(OPS) ** len(EDGES)

    def function_key(self, arch: Arch201) -> str:
        return function_key(arch)

    def slots(self) -> tuple[Slot, ...]:
        """One slot per edge, named "<to><-<from>" in the benchmark's string order, each choosing one of OPS."""
        return tuple(Slot(f"{to}<-{src}", OPS) for to, src in EDGES)

    def features(self, arch: Arch201) -> dict[str, Any]:
        """Cost at the benchmark's C=16, N=5 (whatever size the supernet was trained at) and the op on each edge,
        edges named "<to><-<from>" (e.g. "3<-1") in the benchmark's string order."""
        from wsnas.benchmarks.nb201_cost import nb201_cost  # which builds on this module

        params, flops = nb201_cost(arch, C=16, N=5)
        features: dict[str, Any] = {"params_M": params, "flops_M": flops}
        features.update({f"n_ops:{op}": arch.count(op) for op in OPS})
        features.update({f"edge:{to}<-{src}": op for (to, src), op in zip(EDGES, arch)})
        return features

    def ground_truth(self, mirror: str | os.PathLike | None = None) -> "GroundTruth":
        from wsnas.benchmarks.groundtruth import load_nb201  # groundtruth imports this module

        return load_nb201(mirror)
