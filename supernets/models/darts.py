"""DARTS-space networks (genotypes: wsnas.benchmarks.spaces.darts.genotype): the single-path supernet and
standalone subnets, on DARTS's search network.

Skeleton (DARTS model_search.Network): a 3x3 conv + BN stem to 3C channels; `layers` cells, those at layers//3
and 2*layers//3 reduction cells that double the channels; global average pooling and a linear classifier. A cell
preprocesses its two inputs (the outputs of the two previous cells) to C channels (ReLU-conv1x1-BN, or a
factorized reduction after a reduction cell), node i = 2..5 sums ops on earlier nodes, and the cell outputs the
concatenation of nodes 2..5. The ops are DARTS's operations.py: sep_conv_kxk (twice ReLU, depthwise kxk, 1x1, BN),
dil_conv_kxk (ReLU, dilated depthwise kxk, 1x1, BN), skip_connect (identity; a factorized reduction at stride 2),
3x3 max and average pooling, each followed by a BN as in DARTS's MixedOp; an edge from a cell input of a
reduction cell runs at stride 2. The BNs of the cell ops and preprocessing are affine only with model.bn_affine
(DARTS's search network: not), and all are stock BatchNorm2d modules, so BN recalibration and the other BN
policies reach them as in every space.

Supernet: every (node, input, op) edge of every cell holds its own op module (14 edges x 7 ops per cell); a
genotype runs only its 8 edges per cell (each node reads two inputs with one op each), the normal genotype in
normal cells and the reduce genotype in reduction cells, so an op's weights are shared by every genotype that
puts that op on that edge. DARTS's own search network (Liu et al., ICLR 2019) holds the same modules but runs
every edge as a softmax mixture of all 8 PRIMITIVES ('none' included) in every step; the single-path one-shot
supernets that Zhang et al. (2021) train on the DARTS space run one sampled path per step, as here, where paths
are drawn as NAS-Bench-301 samples genotypes (DartsSpace.random_arch). For the search methods the supernet also
runs DARTS's relaxation (wsnas.benchmarks.spaces.darts.slots): an arch of 28 slot entries, one per (cell type,
edge), each a plain op or 'none', a Mix (DARTS, SNAS, GAEA: all 14 edges of every cell run) or a Pick (GDAS).
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Hashable, Iterable, Sequence

import torch
from torch import nn

from wsnas.benchmarks.space import ArchError
from wsnas.benchmarks.spaces.darts.cost import STEM_MULTIPLIER, is_reduction
from wsnas.benchmarks.spaces.darts.genotype import CELLS, NUM_NODES, OPS, Genotype
from wsnas.benchmarks.spaces.darts.slots import EDGES, NONE
from wsnas.supernets.selection import run_entry

Plan = tuple[tuple[tuple[int, int, Any], ...], ...]  # per node 2..5: (input, edge index, slot entry) to sum
EDGE_INDEX = {edge: e for e, edge in enumerate(EDGES)}


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, affine: bool) -> None:
        super().__init__(nn.ReLU(inplace=False), nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False),
                         nn.BatchNorm2d(c_out, affine=affine))


class DilConv(nn.Sequential):
    def __init__(self, c: int, kernel: int, stride: int, padding: int, dilation: int, affine: bool) -> None:
        super().__init__(nn.ReLU(inplace=False),
                         nn.Conv2d(c, c, kernel, stride, padding, dilation=dilation, groups=c, bias=False),
                         nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c, affine=affine))


class SepConv(nn.Sequential):
    def __init__(self, c: int, kernel: int, stride: int, padding: int, affine: bool) -> None:
        super().__init__(DilConv(c, kernel, stride, padding, 1, affine), DilConv(c, kernel, 1, padding, 1, affine))


class FactorizedReduce(nn.Module):
    """Halves the resolution: ReLU, two stride-2 1x1 convs (the second offset by one pixel) concatenated, BN."""

    def __init__(self, c_in: int, c_out: int, affine: bool) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out - c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


def make_op(name: str, c: int, stride: int, affine: bool) -> nn.Module:
    """One of DARTS's genotype ops on c channels (pools with the BN of DARTS's MixedOp)."""
    if name == "max_pool_3x3":
        return nn.Sequential(nn.MaxPool2d(3, stride, padding=1), nn.BatchNorm2d(c, affine=False))
    if name == "avg_pool_3x3":
        return nn.Sequential(nn.AvgPool2d(3, stride, padding=1, count_include_pad=False),
                             nn.BatchNorm2d(c, affine=False))
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c, affine)
    if name.startswith("sep_conv"):
        k = int(name[-1])
        return SepConv(c, k, stride, k // 2, affine)
    if name.startswith("dil_conv"):
        k = int(name[-1])
        return DilConv(c, k, stride, k - 1, 2, affine)
    raise KeyError(name)


class Cell(nn.Module):
    """A normal or reduction cell; `ops_of(e)` names the ops edge e (of EDGES) holds."""

    def __init__(self, c_pp: int, c_p: int, c: int, reduction: bool, reduction_prev: bool, affine: bool,
                 ops_of: Callable[[int], Iterable[str]]) -> None:
        super().__init__()
        self.reduction = reduction
        self.preprocess0 = FactorizedReduce(c_pp, c, affine) if reduction_prev else ReLUConvBN(c_pp, c, 1, 1, 0,
                                                                                               affine)
        self.preprocess1 = ReLUConvBN(c_p, c, 1, 1, 0, affine)
        self.edges = nn.ModuleList(
            nn.ModuleDict({op: make_op(op, c, 2 if reduction and src < 2 else 1, affine) for op in ops_of(e)})
            for e, (_, src) in enumerate(EDGES))

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, plan: Plan) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for node_plan in plan:
            total = None
            for src, e, entry in node_plan:
                def run(op: Hashable, h: torch.Tensor = states[src], e: int = e) -> torch.Tensor | None:
                    return None if op == NONE else self.edges[e][op](h)

                out = run_entry(entry, run)
                if out is not None:
                    total = out if total is None else total + out
            if total is None:  # every input 'none': DARTS's Zero op
                stride = 2 if self.reduction else 1
                total = torch.zeros_like(states[1][:, :, ::stride, ::stride])
            states.append(total)
        return torch.cat(states[2:], dim=1)


@functools.lru_cache(maxsize=1 << 12)
def genotype_plans(arch: Genotype) -> tuple[Plan, Plan]:
    """The (normal, reduce) plans of a genotype: its 8 edges per cell, a node's two in the genotype's order."""
    return tuple(tuple(tuple((src, EDGE_INDEX[(node, src)], op) for op, src in cell[2 * (node - 2):2 * (node - 1)])
                       for node in range(2, NUM_NODES + 2)) for cell in arch)  # type: ignore[return-value]


def plans_of(arch: Sequence[Any]) -> tuple[Plan, Plan]:
    """The (normal, reduce) plans of a genotype, or of 28 slot entries (every edge of both cells, see slots)."""
    if len(arch) == len(CELLS):
        return genotype_plans(arch)  # type: ignore[arg-type]
    if len(arch) != len(CELLS) * len(EDGES):
        raise ArchError(f"a DARTS supernet runs a genotype (normal, reduce) or {len(CELLS) * len(EDGES)} slot "
                        f"entries, got {len(arch)} entries")
    plans = []
    for c in range(len(CELLS)):
        entries = arch[c * len(EDGES):(c + 1) * len(EDGES)]
        plans.append(tuple(tuple((src, e, entries[e]) for e, (to, src) in enumerate(EDGES) if to == node)
                           for node in range(2, NUM_NODES + 2)))
    return plans[0], plans[1]


class _DartsNet(nn.Module):
    """Stem, `layers` cells (edges holding `ops_of(reduction, e)`), global pooling, classifier."""

    def __init__(self, C: int, layers: int, num_classes: int, affine: bool,
                 ops_of: Callable[[bool, int], Iterable[str]]) -> None:
        super().__init__()
        if C < 1 or layers < 1:
            raise ArchError(f"a DARTS network needs model.C >= 1 and model.N >= 1 cells, got C={C}, N={layers}")
        self.C, self.layers, self.num_classes, self.affine = C, layers, num_classes, affine
        c_curr = STEM_MULTIPLIER * C
        self.stem = nn.Sequential(nn.Conv2d(3, c_curr, 3, padding=1, bias=False), nn.BatchNorm2d(c_curr))
        c_pp, c_p, c_curr = c_curr, c_curr, C
        reduction_prev = False
        self.cells = nn.ModuleList()
        for i in range(layers):
            reduction = is_reduction(i, layers)
            if reduction:
                c_curr *= 2
            self.cells.append(Cell(c_pp, c_p, c_curr, reduction, reduction_prev, affine,
                                   functools.partial(ops_of, reduction)))
            reduction_prev = reduction
            c_pp, c_p = c_p, NUM_NODES * c_curr
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)

    def _run(self, x: torch.Tensor, plans: tuple[Plan, Plan]) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, plans[cell.reduction])
        return self.classifier(self.pool(s1).flatten(1))


class DartsSupernet(_DartsNet):
    """Single-path weight-sharing supernet over DARTS genotypes: `forward(x, arch)` runs the genotype's 8 edges per
    cell, or DARTS's relaxation given as 28 slot entries (Mix / Pick / op)."""

    def __init__(self, C: int = 16, layers: int = 8, num_classes: int = 10, affine: bool = False) -> None:
        super().__init__(C, layers, num_classes, affine, lambda reduction, e: OPS)

    def forward(self, x: torch.Tensor, arch: Sequence[Any]) -> torch.Tensor:  # type: ignore[override]
        return self._run(x, plans_of(arch))


class DartsNetwork(_DartsNet):
    """A standalone network for one genotype: module names as in DartsSupernet, only the genotype's edge ops."""

    def __init__(self, arch: Genotype, C: int = 16, layers: int = 8, num_classes: int = 10,
                 affine: bool = False) -> None:
        used = [{EDGE_INDEX[(2 + k // 2, src)]: op for k, (op, src) in enumerate(cell)} for cell in arch]
        super().__init__(C, layers, num_classes, affine,
                         lambda reduction, e: [used[reduction][e]] if e in used[reduction] else [])
        self.arch = arch

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self._run(x, genotype_plans(self.arch))


def extract_subnet(supernet: DartsSupernet, arch: Genotype) -> DartsNetwork:
    """A standalone network for `arch` with the supernet's weights and BN buffers copied in."""
    net = DartsNetwork(arch, supernet.C, supernet.layers, supernet.num_classes, supernet.affine)
    source = supernet.state_dict()
    net.load_state_dict({name: source[name].clone() for name in net.state_dict()})
    return net.to(next(supernet.parameters()).device)
