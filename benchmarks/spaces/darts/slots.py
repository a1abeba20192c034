"""The DARTS space as the search methods see it (no torch): DARTS's continuous relaxation and its derivation rule.

DARTS relaxes a cell over its 14 (node, input) edges, node i = 2..5 reading inputs 0..i-1, each a mixture of the 8
PRIMITIVES ('none' and the 7 genotype ops), one set of arch weights for the normal cell and one for the reduction
cell: 28 slots, normal edges first, each named "<cell>:<node><-<input>". A genotype is derived by DARTS's rule
(Liu et al. 2019, model_search.Network.genotype): per node, the two incoming edges whose strongest non-none op
weighs most, each with that op, the stronger edge first (ties: the lower input, as DARTS's stable sort keeps it).

A genotype's choices put its op on each of its 16 edges and 'none' on the other 12; any choice per slot gives the
genotype DARTS's rule derives from its one-hot weights (a node whose non-none edges are not exactly two still
gets two: its lowest-input ones among the strongest, each with the first op of OPS where the choice is 'none').
"""
from __future__ import annotations

from typing import Hashable, Mapping, Sequence

from wsnas.benchmarks.space import ArchError, Slot
from wsnas.benchmarks.spaces.darts.genotype import CELLS, NUM_NODES, OPS, Cell, Genotype

NONE = "none"
PRIMITIVES: tuple[str, ...] = (NONE, *OPS)  # DARTS's genotypes.PRIMITIVES, in its order
EDGES: tuple[tuple[int, int], ...] = tuple((node, src) for node in range(2, NUM_NODES + 2) for src in range(node))
RULE = "DARTS's rule: per node the two edges of strongest non-none op weight, each with that op"

Weights = Sequence[Mapping[Hashable, float]]  # one {choice: weight} per slot, in slot order


def darts_slots() -> tuple[Slot, ...]:
    """The 28 slots: the 14 edges of the normal cell, then those of the reduction cell, each over PRIMITIVES."""
    return tuple(Slot(f"{cell}:{node}<-{src}", PRIMITIVES) for cell in CELLS for node, src in EDGES)


def derive_cell(weights: Weights) -> Cell:
    """A cell's 8 (op, input) pairs from its 14 edges' weights, by DARTS's rule."""
    pairs: list[tuple[str, int]] = []
    start = 0
    for node in range(2, NUM_NODES + 2):
        edges = weights[start:start + node]
        best = [max(OPS, key=lambda op, w=w: w.get(op, 0.0)) for w in edges]  # first of equals, as DARTS's k_best
        strongest = sorted(range(node), key=lambda src: -edges[src].get(best[src], 0.0))[:2]
        pairs.extend((best[src], src) for src in strongest)
        start += node
    return tuple(pairs)


def derive_genotype(weights: Weights) -> Genotype:
    """The genotype DARTS's rule derives from the 28 slots' weights (e.g. softmax(alpha))."""
    if len(weights) != len(CELLS) * len(EDGES):
        raise ArchError(f"DARTS's relaxation has {len(CELLS) * len(EDGES)} slots (14 edges per cell), got "
                        f"{len(weights)} weight vectors")
    return derive_cell(weights[:len(EDGES)]), derive_cell(weights[len(EDGES):])


def genotype_from_choices(choices: Sequence[Hashable]) -> Genotype:
    """The genotype of one choice per slot: DARTS's rule on the choices' one-hot weights (see the module
    docstring); the inverse of choices_of_genotype up to the order of a node's two pairs."""
    for choice in choices:
        if choice not in PRIMITIVES:
            raise ArchError(f"DARTS slot choice {choice!r} is not one of {', '.join(PRIMITIVES)}")
    return derive_genotype([{choice: 1.0} for choice in choices])


def choices_of_genotype(arch: Genotype) -> tuple[str, ...]:
    """Each slot's choice: the genotype's op on its 16 edges, 'none' on the other 12."""
    choices: list[str] = []
    for cell in arch:
        on_edge = {(2 + k // 2, src): op for k, (op, src) in enumerate(cell)}
        choices.extend(on_edge.get(edge, NONE) for edge in EDGES)
    return tuple(choices)
