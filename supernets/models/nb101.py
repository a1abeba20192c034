"""NAS-Bench-101 networks (cell specs: wsnas.benchmarks.spaces.nb101.spec): the single-path supernet and
standalone nets.

The skeleton is the benchmark's (wsnas.benchmarks.spaces.nb101.cost): a 3x3 conv-BN-ReLU stem, three stacks of
`cells_per_stack` cells with a 2x2 max pool and a channel doubling between stacks, global average pooling and a
linear classifier; at width_mult 1.0 and 3 cells per stack a standalone net has the benchmark's parameter count.

Supernet: every cell holds, at each of the 5 interior vertex positions, a conv3x3-BN-ReLU and a conv1x1-BN-ReLU
(max pooling has no weights) and a 1x1 conv-BN-ReLU projection of the cell input, plus the projection of the
input to the output; a path (a canonical cell, see nb101_spec.canonical) runs at vertex i the op its spec puts
at vertex i, so an op's weights are shared by every cell that places that op at that position. Channels follow
NAS-Bench-101's rules per arch (nb101_cost.vertex_channels: the output's channels split over the vertices that
feed it, other vertices as wide as the widest one they feed), so a vertex's width varies with the arch: every
conv and BN holds the widest shape (the cell's output channels) and a path uses the first channels, as the
channel spaces slice theirs. The BNs are sliced too (their first c running statistics and affine parameters),
and stay stock BatchNorm2d modules, so BN recalibration and the other BN policies apply as everywhere.

Relation to the published NAS-Bench-101 supernets: Zhang et al. ("Deeper insights into weight sharing in NAS",
2020) and NAS-Bench-1Shot1 (Zela et al., ICLR 2020) share each op per choice block of a cell in the same way,
but NAS-Bench-1Shot1 restricts the space to its three sub-spaces, whose cells all feed the output from fixed
choice blocks, and mixes ops continuously for DARTS-style search, and neither follows the benchmark's
per-arch channel split: their vertices run at fixed widths, so a subnet there is not the benchmark's network.
Here a path is, at width_mult 1.0, exactly the network the benchmark trained for that cell (single-path
training, uniform over raw specs as NAS-Bench-101's random search draws them).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from wsnas.benchmarks.space import SpaceError
from wsnas.benchmarks.spaces.nb101.cost import STEM_CHANNELS, vertex_channels
from wsnas.benchmarks.spaces.nb101.spec import MAX_VERTICES, MAXPOOL3X3, OPS, SHORT, Spec

Layout = Callable[[int, int], tuple[list[tuple[int, set[str]]], bool]]  # (c_in, c_out) -> Cell's layout, out_proj
CONV_OPS = tuple(SHORT[op] for op in OPS if op != MAXPOOL3X3)  # conv3x3, conv1x1: the ops holding weights
NUM_STACKS = 3


class SlicedBN(nn.BatchNorm2d):
    """A BatchNorm2d over its widest channels that normalises an input of fewer channels with its first ones."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        c, track = x.shape[1], self.track_running_stats
        factor = 0.0
        if self.training and track:
            self.num_batches_tracked.add_(1)
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        weight, bias = (self.weight[:c], self.bias[:c]) if self.affine else (None, None)
        mean, var = (self.running_mean[:c], self.running_var[:c]) if track else (None, None)
        return F.batch_norm(x, mean, var, weight, bias, self.training or not track, factor, self.eps)


class ConvBNReLU(nn.Module):
    """A bias-free k x k conv, BN and ReLU holding the widest shape; `forward(x, c)` gives c channels out."""

    def __init__(self, c_in: int, c_out: int, k: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False)
        self.bn = SlicedBN(c_out)

    def forward(self, x: torch.Tensor, c: int) -> torch.Tensor:
        weight = self.conv.weight[:c, :x.shape[1]]
        return F.relu(self.bn(F.conv2d(x, weight, None, 1, self.conv.padding)))


class Cell(nn.Module):
    """One cell: per interior vertex position an input projection and conv ops, and the output's projection.

    `layout` lists, per vertex position 1..5, the channels of its modules and which of them to build ({'proj',
    'conv3x3', 'conv1x1'}); `out_proj` whether to build the input's projection to the output."""

    def __init__(self, c_in: int, c_out: int, layout: list[tuple[int, set[str]]], out_proj: bool) -> None:
        super().__init__()
        self.c_out = c_out
        self.vertices = nn.ModuleList()
        for c, parts in layout:
            vertex = nn.ModuleDict({op: ConvBNReLU(c, c, 3 if op == "conv3x3" else 1)
                                    for op in CONV_OPS if op in parts})
            if "proj" in parts:
                vertex["proj"] = ConvBNReLU(c_in, c, 1)
            self.vertices.append(vertex)
        self.out_proj = ConvBNReLU(c_in, c_out, 1) if out_proj else None

    def forward(self, x: torch.Tensor, spec: Spec) -> torch.Tensor:
        n, m = spec.n_vertices, spec.matrix
        channels = vertex_channels(spec, x.shape[1], self.c_out)
        tensors, concat = [x], []
        for v in range(1, n - 1):
            c, vertex = channels[v], self.vertices[v - 1]
            inputs = [tensors[u][:, :c] for u in range(1, v) if m[u][v]]
            if m[0][v]:
                inputs.append(vertex["proj"](x, c))
            h = inputs[0] if len(inputs) == 1 else torch.stack(inputs).sum(0)
            op = spec.ops[v]
            h = F.max_pool2d(h, 3, 1, 1) if op == MAXPOOL3X3 else vertex[SHORT[op]](h, c)
            tensors.append(h)
            if m[v][n - 1]:
                concat.append(h)
        if not concat:
            return self.out_proj(x, self.c_out)
        out = concat[0] if len(concat) == 1 else torch.cat(concat, 1)
        return out + self.out_proj(x, self.c_out) if m[0][n - 1] else out


class _NB101Net(nn.Module):
    """Stem, 3 stacks of cells (`layout(c_in, c_out)` gives a cell's Cell arguments), pooling and classifier."""

    def __init__(self, width_mult: float, cells_per_stack: int, num_classes: int, layout: Layout) -> None:
        super().__init__()
        stem = round(STEM_CHANNELS * width_mult)
        if stem < MAX_VERTICES - 2:
            raise SpaceError(f"model.width_mult={width_mult!r} gives a {stem}-channel stem; NAS-Bench-101's channel "
                             f"split needs at least {MAX_VERTICES - 2} (width_mult >= {(MAX_VERTICES - 2) / 128:.3f})")
        if cells_per_stack < 1:
            raise SpaceError(f"model.N={cells_per_stack!r}: NAS-Bench-101 needs at least 1 cell per stack (the "
                             f"benchmark: 3)")
        self.width_mult, self.cells_per_stack, self.num_classes = width_mult, cells_per_stack, num_classes
        self.stem = ConvBNReLU(3, stem, 3)
        self.cells = nn.ModuleList()
        c_in = stem
        for stack in range(NUM_STACKS):
            for _ in range(cells_per_stack):
                c_out = stem * 2 ** stack
                self.cells.append(Cell(c_in, c_out, *layout(c_in, c_out)))
                c_in = c_out
        self.classifier = nn.Linear(c_in, num_classes)

    def _run(self, x: torch.Tensor, spec: Spec) -> torch.Tensor:
        x = self.stem(x, self.stem.conv.out_channels)
        for i, cell in enumerate(self.cells):
            if i and i % self.cells_per_stack == 0:
                x = F.max_pool2d(x, 2, 2)
            x = cell(x, spec)
        return self.classifier(x.mean((2, 3)))


class NB101Supernet(_NB101Net):
    """Single-path weight-sharing supernet over every NAS-Bench-101 cell: `forward(x, arch)` runs the arch's path."""

    def __init__(self, width_mult: float = 1.0, cells_per_stack: int = 3, num_classes: int = 10) -> None:
        every = {"proj", *CONV_OPS}
        super().__init__(width_mult, cells_per_stack, num_classes,
                         lambda c_in, c_out: ([(c_out, every)] * (MAX_VERTICES - 2), True))

    def forward(self, x: torch.Tensor, arch: Spec) -> torch.Tensor:  # type: ignore[override]
        return self._run(x, arch)


class NB101Network(_NB101Net):
    """A standalone network for one cell (module names as in NB101Supernet, each module at its exact width)."""

    def __init__(self, arch: Spec, width_mult: float = 1.0, cells_per_stack: int = 3, num_classes: int = 10) -> None:
        def layout(c_in: int, c_out: int) -> tuple[list[tuple[int, set[str]]], bool]:
            channels, n = vertex_channels(arch, c_in, c_out), arch.n_vertices
            return ([(channels[v], {SHORT[arch.ops[v]], *(("proj",) if arch.matrix[0][v] else ())})
                     for v in range(1, n - 1)], bool(arch.matrix[0][n - 1]))

        super().__init__(width_mult, cells_per_stack, num_classes, layout)
        self.arch = arch

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self._run(x, self.arch)


def extract_subnet(supernet: NB101Supernet, arch: Spec) -> NB101Network:
    """A standalone network for `arch` with the supernet's weights and BN buffers, cut to its widths, copied in."""
    net = NB101Network(arch, supernet.width_mult, supernet.cells_per_stack, supernet.num_classes)
    source = supernet.state_dict()
    net.load_state_dict({name: source[name][tuple(slice(0, n) for n in tensor.shape)].clone()
                         for name, tensor in net.state_dict().items()})
    return net.to(next(supernet.parameters()).device)
