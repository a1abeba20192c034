"""NAS-Bench-Graph (Qin et al., NeurIPS 2022): a macro space of GNNs on 4 computing nodes (plain Python, no torch).

Each computing node k = 1..4 reads one earlier node (0 = the input features) and applies one of 9 operations:
gat, gcn, gin, cheb, sage, arma, graph (k-GNN), fc (linear) and skip. Every node no other node reads (a leaf) feeds
the output. Arch strings list the nodes in order as `op~input`, joined by '|':

    gcn~0|gin~1|fc~2|cheb~1

Many strings compute the same network (a node order, an equal-op swap, a skip moved elsewhere); the benchmark
maps each to one canonical arch with `nas_bench_graph.Arch.valid_hash()` (imported from the package, which
imports no torch). The parser does the same, so every accepted string has the key of the benchmark's canonical
arch; the 26,206 canonical archs are the space (an all-skip arch computes nothing and is not in it). The
benchmark's hash is the ground truth's `index`.
"""
from __future__ import annotations

import functools

from nas_bench_graph.architecture import Arch as BenchArch
from nas_bench_graph.architecture import gnn_list, link_list

from wsnas.benchmarks.space import ArchError

OPS: tuple[str, ...] = tuple(gnn_list)
NUM_NODES = 4
FORMAT_HINT = ("op~input|op~input|op~input|op~input (node k reads input 0..k-1; 0 = the features) with op in "
               + ", ".join(OPS))
_BASE = len(OPS) + 1  # the benchmark's hash writes the link pattern, then each op, as digits in this base

GraphArch = tuple[tuple[int, str], ...]  # per computing node 1..4: (the node it reads, its op)

# The benchmark's training skeleton, as NAS-Bench-Graph trained it (the Cora figures give `features`).
HIDDEN = 256
CORA = {"nodes": 2708, "features": 1433, "classes": 7}


def bench_hash(arch: GraphArch) -> int:
    """The benchmark's hash of an arch (`Arch(link, ops).valid_hash()`): equal for archs it deems isomorphic."""
    return BenchArch([i for i, _ in arch], [op for _, op in arch]).valid_hash()


def to_hash(arch: GraphArch) -> int:
    """The benchmark's hash of a canonical arch (its encoding: the link pattern's position, then each op, as
    digits); equals bench_hash for the archs of the space, in a fraction of the time."""
    value = link_list.index([src for src, _ in arch])
    for _, op in arch:
        value = value * _BASE + OPS.index(op)
    return value


def from_hash(value: int) -> GraphArch:
    """The canonical arch a benchmark hash stands for."""
    ops = []
    for _ in range(NUM_NODES):
        value, digit = divmod(value, _BASE)
        ops.append(OPS[digit])
    return tuple(zip(link_list[value], reversed(ops)))


def _parse_node(token: str, node: int, text: str) -> tuple[int, str]:
    op, sep, src = token.strip().partition("~")
    if not sep or not (src.isascii() and src.isdigit()):
        raise ArchError(f"NAS-Bench-Graph arch {text!r}: node {node} {token!r} is not 'op~input'; "
                        f"expected {FORMAT_HINT}")
    if op not in OPS:
        raise ArchError(f"NAS-Bench-Graph arch {text!r}: unknown operation {op!r}; known: {', '.join(OPS)}")
    if int(src) >= node:
        raise ArchError(f"NAS-Bench-Graph arch {text!r}: node {node} cannot read {src} (it reads an earlier node "
                        f"0..{node - 1}, 0 being the input features)")
    return int(src), op


def parse_arch(text: str) -> GraphArch:
    """Decode an arch string (any node order the benchmark accepts) into the benchmark's canonical arch."""
    if not isinstance(text, str):
        raise ArchError(f"NAS-Bench-Graph arch must be a string, got {type(text).__name__}")
    tokens = text.strip().split("|")
    if len(tokens) != NUM_NODES:
        raise ArchError(f"NAS-Bench-Graph arch {text!r}: expected {NUM_NODES} '|'-separated nodes, got {len(tokens)}; "
                        f"expected {FORMAT_HINT}")
    arch = tuple(_parse_node(token, node, text) for node, token in enumerate(tokens, start=1))
    if all(op == "skip" for _, op in arch):
        raise ArchError(f"NAS-Bench-Graph arch {text!r} has only skip ops and computes nothing (the benchmark "
                        f"leaves it out); use at least one of {', '.join(OPS[:-1])}")
    return from_hash(bench_hash(arch))


def format_arch(arch: GraphArch) -> str:
    """The arch string of an arch, node by node."""
    if len(arch) != NUM_NODES or any(op not in OPS or not 0 <= src < node
                                     for node, (src, op) in enumerate(arch, start=1)):
        raise ArchError(f"NAS-Bench-Graph arch needs {NUM_NODES} (input, op) pairs, node k reading 0..k-1, "
                        f"ops from {OPS}; got {arch!r}")
    return "|".join(f"{op}~{src}" for src, op in arch)


@functools.lru_cache(maxsize=None)
def raw_inputs(arch: GraphArch) -> tuple[bool, ...]:
    """Per computing node, whether it reads the input features' width (the input, or a chain of skips from it)
    rather than the hidden width; as in the benchmark, such inputs skip the node's BN-ReLU-dropout."""
    raw = [True]
    for src, op in arch:
        raw.append(raw[src] and op == "skip")
    return tuple(raw[src] for src, _ in arch)


@functools.lru_cache(maxsize=None)
def leaves(arch: GraphArch) -> tuple[int, ...]:
    """Computing nodes (1..4) no other node reads: their outputs are concatenated into the output layer."""
    read = {src for src, _ in arch}
    return tuple(node for node in range(1, NUM_NODES + 1) if node not in read)


def _op_cost(op: str, c_in: int, dim: int) -> tuple[int, int]:
    """(parameters, weight multiply-adds per graph node) of one op mapping c_in to dim channels, as the
    torch_geometric layers the benchmark used hold them (GAT: 4 heads of dim/4; Cheb: K=2; ARMA: one stack and
    layer, whose unused dim x dim weight still counts)."""
    dense = {"gat": 1, "gcn": 1, "gin": 1, "fc": 1, "cheb": 2, "sage": 2, "graph": 2, "arma": 2, "skip": 0}[op]
    params = dense * c_in * dim + {"gat": 3 * dim, "arma": dim * dim + dim, "skip": 0}.get(op, dim)
    return params, dense * c_in * dim


def graph_cost(arch: GraphArch, features: int, classes: int, nodes: int, dim: int = HIDDEN) -> tuple[int, int]:
    """Parameters and FLOPs of an arch on a graph, counted as NAS-Bench-Graph's `para` counts (every parameter,
    including the BatchNorm each node holds even where its input is raw and the BN goes unused).

    FLOPs: one per multiply-add of a weight matrix (the matmuls, as torch's FlopCounterMode counts them halved),
    summed over the graph's nodes; message passing, attention scores, BN, activations and biases count nothing.
    """
    params = macs = 0
    for (_, op), raw in zip(arch, raw_inputs(arch)):
        p, m = _op_cost(op, features if raw else dim, dim)
        params, macs = params + p + 2 * dim, macs + m
    width = len(leaves(arch)) * dim
    params += width * dim + dim + dim * classes + classes  # output layer on the leaves, then the classifier
    macs += width * dim + dim * classes
    return params, macs * nodes
