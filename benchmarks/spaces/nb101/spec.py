"""NAS-Bench-101 cell specs (Ying et al., ICML 2019): parsing, pruning, the module hash, sampling (no torch).

A cell (NAS-Bench-101's "module") is a DAG on at most 7 vertices given by its (matrix, ops) model spec: an
upper-triangular adjacency matrix (matrix[i][j] = 1: an edge i -> j) and one op per vertex, vertex 0 being
the input and the last vertex the output; every other vertex holds conv3x3-bn-relu, conv1x1-bn-relu or
maxpool3x3. Specs are read in three forms:

* NASLib's 56-tuple (the keys of NASLib's zc_nasbench101.json): the 7x7 matrix row by row (49 entries), then
  the 7 ops as indices into ("input", "output", "maxpool3x3", "conv1x1-bn-relu", "conv3x3-bn-relu");
* wsnas's readable form: the vertices after the input, in order, as `op~inputs` joined by '|', the inputs of a
  vertex being earlier vertices joined by '+' (0 = the input), the last one the output:

      conv3x3~0|maxpool3x3~1|conv3x3~2|conv3x3~0|conv1x1~0+3+4|output~2+5

  ops are written conv3x3, conv1x1, maxpool3x3 (NAS-Bench-101's full names are accepted too), a vertex with
  no inputs as `op~`;
* the module hash (below) of a spec this process has already seen (see Nb101Space.parse).

Every spec is pruned as NAS-Bench-101's ModelSpec prunes it: vertices not on a path from the input to the
output are removed; a spec whose input does not reach its output is invalid. The benchmark's key of a spec is
its module hash (nasbench graph_util.hash_module: iterated md5 of each vertex's in/out degree and op label,
then of its sorted in- and out-neighbours' hashes), equal for isomorphic specs.
"""
from __future__ import annotations

import hashlib
import itertools
import random
import re
from dataclasses import dataclass

from wsnas.benchmarks.space import ArchError

INPUT, OUTPUT = "input", "output"
CONV3X3, CONV1X1, MAXPOOL3X3 = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"
OPS: tuple[str, ...] = (CONV3X3, CONV1X1, MAXPOOL3X3)  # nasbench's available_ops: the hash labels are positions
SHORT: dict[str, str] = {CONV3X3: "conv3x3", CONV1X1: "conv1x1", MAXPOOL3X3: "maxpool3x3"}
NASLIB_OPS: tuple[str, ...] = (INPUT, OUTPUT, MAXPOOL3X3, CONV1X1, CONV3X3)  # the 56-tuple's op codes
MAX_VERTICES = 7
MAX_EDGES = 9
FORMAT_HINT = ("'conv3x3~0|maxpool3x3~1|conv1x1~0+2|output~2+3' (each vertex after the input as op~inputs, "
               "inputs earlier vertices joined by '+', 0 = the input, the last one 'output'), or NASLib's "
               "56-tuple (49 matrix entries, 7 op codes)")
_HASH = re.compile(r"[0-9a-f]{32}")

Matrix = tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class Spec:
    """A pruned NAS-Bench-101 model spec: adjacency matrix (rows = sources) and one op per vertex."""

    matrix: Matrix
    ops: tuple[str, ...]

    @property
    def n_vertices(self) -> int:
        return len(self.ops)

    @property
    def n_edges(self) -> int:
        return sum(map(sum, self.matrix))

    def inputs(self, v: int) -> tuple[int, ...]:
        """The vertices feeding vertex v, in increasing order."""
        return tuple(u for u in range(v) if self.matrix[u][v])


def prune(matrix: Matrix, ops: tuple[str, ...], text: object = None) -> Spec:
    """NAS-Bench-101's ModelSpec pruning: keep the vertices on a path from the input (0) to the output (last);
    raise ArchError when the input does not reach the output (the benchmark's invalid spec)."""
    n = len(ops)
    forward, stack = {0}, [0]
    while stack:
        u = stack.pop()
        for v in range(u + 1, n):
            if matrix[u][v] and v not in forward:
                forward.add(v)
                stack.append(v)
    backward, stack = {n - 1}, [n - 1]
    while stack:
        v = stack.pop()
        for u in range(v):
            if matrix[u][v] and u not in backward:
                backward.add(u)
                stack.append(u)
    keep = sorted(forward & backward)
    if len(keep) < 2:
        raise ArchError(f"NAS-Bench-101 spec {text if text is not None else (matrix, ops)!r}: no path from the "
                        f"input to the output, so the cell computes nothing (the benchmark's invalid spec)")
    return Spec(tuple(tuple(matrix[u][v] for v in keep) for u in keep), tuple(ops[v] for v in keep))


def make_spec(matrix: Matrix, ops: tuple[str, ...], text: object = None) -> Spec:
    """Check a raw (matrix, ops) spec and prune it; ArchError naming the problem otherwise."""
    where = f"NAS-Bench-101 spec {text if text is not None else (matrix, ops)!r}"
    n = len(ops)
    if not 2 <= n <= MAX_VERTICES or len(matrix) != n or any(len(row) != n for row in matrix):
        raise ArchError(f"{where}: expected a square matrix over 2..{MAX_VERTICES} vertices with one op each")
    if any(matrix[u][v] not in (0, 1) or (matrix[u][v] and v <= u) for u in range(n) for v in range(n)):
        raise ArchError(f"{where}: the matrix must hold 0/1 and be strictly upper triangular (edges go to later "
                        f"vertices)")
    if ops[0] != INPUT or ops[-1] != OUTPUT or any(op not in OPS for op in ops[1:-1]):
        raise ArchError(f"{where}: ops must be 'input', then {', '.join(OPS)}, then 'output'")
    spec = prune(matrix, ops, text)
    if spec.n_edges > MAX_EDGES:
        raise ArchError(f"{where}: {spec.n_edges} edges after pruning; NAS-Bench-101 allows at most {MAX_EDGES}")
    return spec


def from_tuple(values: tuple[int, ...], text: object = None) -> Spec:
    """A spec from NASLib's 56-tuple (the flattened 7x7 matrix, then 7 op codes into NASLIB_OPS)."""
    size = MAX_VERTICES * MAX_VERTICES + MAX_VERTICES
    if len(values) != size or any(not 0 <= c < len(NASLIB_OPS) for c in values[-MAX_VERTICES:]):
        raise ArchError(f"NAS-Bench-101 spec {text if text is not None else values!r}: NASLib's tuple form has "
                        f"{size} integers (49 matrix entries, then 7 op codes 0..{len(NASLIB_OPS) - 1}); "
                        f"expected {FORMAT_HINT}")
    matrix = tuple(tuple(values[r * MAX_VERTICES:(r + 1) * MAX_VERTICES]) for r in range(MAX_VERTICES))
    return make_spec(matrix, tuple(NASLIB_OPS[c] for c in values[-MAX_VERTICES:]), text)


def to_tuple(spec: Spec) -> tuple[int, ...]:
    """NASLib's 56-tuple of a spec (vertices padded to 7 before the output, as unused all-zero maxpool3x3
    vertices, which pruning removes again)."""
    n, pad = spec.n_vertices, MAX_VERTICES - spec.n_vertices
    order = list(range(n - 1)) + [None] * pad + [n - 1]  # old vertex at each new position
    matrix = [[int(a is not None and b is not None and spec.matrix[a][b]) for b in order] for a in order]
    ops = [NASLIB_OPS.index(spec.ops[a]) if a is not None else NASLIB_OPS.index(MAXPOOL3X3) for a in order]
    return tuple(x for row in matrix for x in row) + tuple(ops)


def _parse_op(name: str, text: str) -> str:
    for op, short in SHORT.items():
        if name in (op, short):
            return op
    raise ArchError(f"NAS-Bench-101 spec {text!r}: unknown op {name!r}; use conv3x3, conv1x1 or maxpool3x3")


def from_string(text: str) -> Spec:
    """A spec from wsnas's readable form (see the module docstring)."""
    tokens = text.strip().split("|")
    n = len(tokens) + 1
    if n > MAX_VERTICES:
        raise ArchError(f"NAS-Bench-101 spec {text!r}: {n} vertices; at most {MAX_VERTICES}")
    matrix = [[0] * n for _ in range(n)]
    ops = [INPUT]
    for v, token in enumerate(tokens, start=1):
        name, sep, sources = token.strip().partition("~")
        if not sep:
            raise ArchError(f"NAS-Bench-101 spec {text!r}: vertex {v} {token!r} is not 'op~inputs'; expected "
                            f"{FORMAT_HINT}")
        ops.append(OUTPUT if v == n - 1 and name == OUTPUT else _parse_op(name, text))
        for source in filter(None, sources.split("+")):
            if not (source.isascii() and source.isdigit()) or int(source) >= v:
                raise ArchError(f"NAS-Bench-101 spec {text!r}: vertex {v} cannot read {source!r} (inputs are "
                                f"earlier vertices 0..{v - 1})")
            matrix[int(source)][v] = 1
    if ops[-1] != OUTPUT:
        raise ArchError(f"NAS-Bench-101 spec {text!r}: the last vertex must be 'output~inputs'; expected "
                        f"{FORMAT_HINT}")
    return make_spec(tuple(map(tuple, matrix)), tuple(ops), text)


def to_string(spec: Spec) -> str:
    """wsnas's readable form of a spec."""
    return "|".join(f"{SHORT.get(spec.ops[v], spec.ops[v])}~{'+'.join(map(str, spec.inputs(v)))}"
                    for v in range(1, spec.n_vertices))


def labels(spec: Spec) -> list[int]:
    """nasbench's integer labelling: -1 input, -2 output, else the op's position in OPS."""
    return [-1] + [OPS.index(op) for op in spec.ops[1:-1]] + [-2]


def module_hash(spec: Spec) -> str:
    """NAS-Bench-101's module hash of a pruned spec (its ModelSpec.hash_spec)."""
    return hash_module(spec.matrix, labels(spec))


def hash_module(matrix: Matrix, labeling: list[int]) -> str:
    """nasbench graph_util.hash_module: an isomorphism-invariant md5 of a labelled directed graph."""
    n = len(labeling)
    in_edges = [sum(matrix[u][v] for u in range(n)) for v in range(n)]
    out_edges = [sum(row) for row in matrix]
    hashes = [_md5(str((o, i, label))) for o, i, label in zip(out_edges, in_edges, labeling)]
    for _ in range(n):
        hashes = [_md5("".join(sorted(hashes[u] for u in range(n) if matrix[u][v])) + "|"
                       + "".join(sorted(hashes[w] for w in range(n) if matrix[v][w])) + "|" + hashes[v])
                  for v in range(n)]
    return _md5(str(sorted(hashes)))


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def canonical(spec: Spec) -> Spec:
    """The one representative of a spec's isomorphism class: the relabelling of its interior vertices (kept in
    topological order) whose (matrix, ops) is smallest. Isomorphic specs give the same spec, hence one path of a
    supernet per class."""
    n = spec.n_vertices
    best: tuple[tuple[int, ...], tuple[str, ...]] | None = None
    for interior in itertools.permutations(range(1, n - 1)):
        order = (0, *interior, n - 1)  # order[new] = old
        if any(spec.matrix[order[a]][order[b]] for a in range(n) for b in range(a)):
            continue  # an edge would point backwards
        candidate = (tuple(spec.matrix[order[a]][order[b]] for a in range(n) for b in range(n)),
                     tuple(spec.ops[o] for o in order))
        if best is None or candidate < best:
            best = candidate
    assert best is not None  # the identity order is always topological
    flat, ops = best
    return Spec(tuple(tuple(flat[r * n:(r + 1) * n]) for r in range(n)), ops)


def is_hash(text: str) -> bool:
    return bool(_HASH.fullmatch(text))


def random_spec(rng: random.Random) -> Spec:
    """One valid spec as NAS-Bench-101's own random search draws it (nasbench example.py `random_spec`): every
    upper-triangular edge of a 7-vertex matrix on with probability 1/2, an op per interior vertex uniformly,
    redrawn until the pruned spec is valid (a path from input to output, at most 9 edges). Uniform over raw
    7-vertex specs, hence not over the 423,624 isomorphism classes (a class weighs as its raw specs)."""
    n = MAX_VERTICES
    while True:
        matrix = tuple(tuple(int(v > u and rng.random() < 0.5) for v in range(n)) for u in range(n))
        ops = (INPUT, *(rng.choice(OPS) for _ in range(n - 2)), OUTPUT)
        try:
            return make_spec(matrix, ops)
        except ArchError:
            continue
