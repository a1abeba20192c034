"""DARTS genotypes (Liu et al., ICLR 2019), as NAS-Bench-301 samples and NASLib encodes them (no torch).

A DARTS network stacks two cell types, normal and reduction. A cell has two inputs (0, 1: the outputs of the
two previous cells) and four intermediate nodes 2..5; node i sums two ops applied to two distinct earlier
nodes, and the cell outputs the concatenation of nodes 2..5. A genotype is written in DARTS's own form,

    Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ...], normal_concat=[2, 3, 4, 5],
             reduce=[('max_pool_3x3', 0), ...], reduce_concat=[2, 3, 4, 5])

with 8 (op, input) pairs per cell, two per node in node order (`range(2, 6)` is accepted for the concats),
or in NASLib's compact form (the keys of zc_nasbench301.json): [normal, reduce], each 8 (input, op index)
pairs, op indices into OPS. An arch is the pair of cells, each a tuple of 8 (op, input) pairs; its key is the
DARTS string. The order of a node's two pairs does not change the function (see function_arch).
"""
from __future__ import annotations

import ast
import random

from wsnas.benchmarks.space import ArchError

OPS: tuple[str, ...] = ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
                        "dil_conv_3x3", "dil_conv_5x5")  # NASLib's compact op codes; DARTS's primitives but 'none'
CELLS: tuple[str, ...] = ("normal", "reduce")
NUM_NODES = 4  # intermediate nodes per cell
CONCAT = [2, 3, 4, 5]
FORMAT_HINT = ("DARTS's \"Genotype(normal=[('sep_conv_3x3', 0), ...8 (op, input) pairs], normal_concat=[2, 3, 4, "
               "5], reduce=[...], reduce_concat=[2, 3, 4, 5])\" or NASLib's compact [[8 (input, op code) pairs], "
               "[8 pairs]]")

Cell = tuple[tuple[str, int], ...]  # 8 (op, input) pairs: two per intermediate node 2..5
Genotype = tuple[Cell, Cell]  # (normal, reduce)


def check_cell(cell: object, name: str, text: object) -> Cell:
    """A cell's 8 (op, input) pairs, checked: known ops, node i reading two distinct earlier nodes."""
    where = f"DARTS genotype {text!r}"
    if not isinstance(cell, (list, tuple)) or len(cell) != 2 * NUM_NODES:
        raise ArchError(f"{where}: the {name} cell needs {2 * NUM_NODES} (op, input) pairs; expected {FORMAT_HINT}")
    pairs = []
    for k, pair in enumerate(cell):
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and pair[0] in OPS and type(pair[1]) is int):
            raise ArchError(f"{where}: {name} pair {k} is {pair!r}, not (op, input) with op in {', '.join(OPS)}")
        pairs.append((str(pair[0]), int(pair[1])))
    for node in range(NUM_NODES):
        (_, a), (_, b) = pairs[2 * node:2 * node + 2]
        if not (0 <= a < node + 2 and 0 <= b < node + 2) or a == b:
            raise ArchError(f"{where}: {name} node {node + 2} reads inputs {a} and {b}; it needs two distinct "
                            f"earlier nodes 0..{node + 1}")
    return tuple(pairs)


def parse_genotype(text: str) -> Genotype:
    """A genotype from DARTS's string or NASLib's compact form."""
    if not isinstance(text, str):
        raise ArchError(f"DARTS genotype must be a string, got {type(text).__name__}")
    entry = text.strip()
    if entry.startswith("Genotype("):
        return _parse_darts(entry, text)
    try:
        compact = ast.literal_eval(entry)
    except (ValueError, SyntaxError):
        raise ArchError(f"DARTS genotype {text!r} does not parse; expected {FORMAT_HINT}") from None
    if not isinstance(compact, (list, tuple)) or len(compact) != 2 or not all(
            isinstance(cell, (list, tuple)) and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in cell)
            for cell in compact):
        raise ArchError(f"DARTS genotype {text!r}: the compact form is [normal, reduce] of (input, op code) "
                        f"pairs; expected {FORMAT_HINT}")
    cells = []
    for name, cell in zip(CELLS, compact):
        if any(type(op) is not int or not 0 <= op < len(OPS) for _, op in cell):
            raise ArchError(f"DARTS genotype {text!r}: {name} op codes must be 0..{len(OPS) - 1} ({', '.join(OPS)})")
        cells.append(check_cell([(OPS[op], node) for node, op in cell], name, text))
    return cells[0], cells[1]


def _parse_darts(entry: str, text: str) -> Genotype:
    try:
        call = ast.parse(entry, mode="eval").body
        assert isinstance(call, ast.Call) and not call.args
        fields = {kw.arg: kw.value for kw in call.keywords}
    except (SyntaxError, AssertionError):
        raise ArchError(f"DARTS genotype {text!r} does not parse; expected {FORMAT_HINT}") from None
    if set(fields) != {"normal", "normal_concat", "reduce", "reduce_concat"}:
        raise ArchError(f"DARTS genotype {text!r}: needs the fields normal, normal_concat, reduce, reduce_concat")
    cells = []
    for name in CELLS:
        concat = fields[f"{name}_concat"]
        if ast.unparse(concat) not in ("range(2, 6)", str(CONCAT)):
            raise ArchError(f"DARTS genotype {text!r}: {name}_concat must be {CONCAT} (every intermediate node)")
        try:
            cell = ast.literal_eval(fields[name])
        except ValueError:
            raise ArchError(f"DARTS genotype {text!r}: the {name} cell is not a list of (op, input) pairs") from None
        cells.append(check_cell(cell, name, text))
    return cells[0], cells[1]


def format_genotype(arch: Genotype) -> str:
    """DARTS's string of a genotype (the key)."""
    normal, reduce = (check_cell(cell, name, arch) for name, cell in zip(CELLS, arch))
    return f"Genotype(normal={list(normal)}, normal_concat={CONCAT}, reduce={list(reduce)}, reduce_concat={CONCAT})"


def to_compact(arch: Genotype) -> str:
    """NASLib's compact form of a genotype (as zc_nasbench301.json spells its keys)."""
    return repr([[(node, OPS.index(op)) for op, node in cell] for cell in arch])


def function_arch(arch: Genotype) -> Genotype:
    """The genotype with each node's two pairs in sorted order: the representative of the genotypes computing
    the same function (a node sums its two ops, so their order does not matter)."""
    return tuple(tuple(pair for node in range(NUM_NODES) for pair in sorted(cell[2 * node:2 * node + 2], key=_by_input))
                 for cell in arch)  # type: ignore[return-value]


def _by_input(pair: tuple[str, int]) -> tuple[int, str]:
    return pair[1], pair[0]


def random_genotype(rng: random.Random) -> Genotype:
    """A genotype as NAS-Bench-301 (and NASLib) samples one: per cell and node, two distinct inputs drawn
    without replacement from the earlier nodes and an op for each drawn uniformly from OPS (never 'none')."""
    return tuple(tuple((rng.choice(OPS), node) for i in range(NUM_NODES) for node in rng.sample(range(i + 2), 2))
                 for _ in CELLS)  # type: ignore[return-value]


def n_genotypes() -> int:
    """Genotype strings: per cell and node i = 2..5, i(i-1) ordered input pairs times 7^2 op pairs."""
    per_cell = 1
    for i in range(2, NUM_NODES + 2):
        per_cell *= i * (i - 1) * len(OPS) ** 2
    return per_cell ** 2
