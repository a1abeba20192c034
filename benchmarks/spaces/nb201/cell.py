"""NAS-Bench-201 (NATS topology space) cells: encoding, canonical strings, isomorphism (plain Python).

A cell is a DAG on 4 nodes; each of the 6 edges j<-i (i < j) carries one of 5 operations. The benchmark's
own string format lists, node by node, the op on each incoming edge:

    |op~0|+|op~0|op~1|+|op~0|op~1|op~2|

An arch is the tuple of the 6 ops in that edge order. The parser accepts a node's inputs in any order and
normalises them, so one arch always has one key.
"""
from __future__ import annotations

from wsnas.benchmarks.space import ArchError

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
# (to_node, from_node) for each of the 6 edges, in the order of the benchmark's arch string.
EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
NUM_NODES = 4
FORMAT_HINT = "|op~0|+|op~0|op~1|+|op~0|op~1|op~2| with op in " + ", ".join(OPS)

Arch201 = tuple[str, str, str, str, str, str]
SIZE = len(OPS) ** len(EDGES)  # cells (strings) in the space
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
