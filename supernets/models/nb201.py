"""NAS-Bench-201 networks on the benchmark's training skeleton: the weight-sharing supernet and standalone cells.

Skeleton (NAS-Bench-201 "infer.tiny"): stem conv3x3+BN, three stages of N cells at C, 2C, 4C channels joined
by residual reduction blocks, BN+ReLU, global pooling, linear classifier. Cell ops are ReLU-Conv-BN, 3x3
average pooling, identity and `none` (zero). Edges whose work cannot reach the cell output (a `none` op, a
zero source, a node the output does not use) are never computed, in the supernet and in a standalone subnet
alike; this is the same zero convention as the isomorphism key, so one function key is one computed function.

The supernet also runs the search methods' relaxed archs (wsnas.supernets.selection): an edge entry may be a
weighted mixture of ops (every edge then runs every op) or a hard pick with a straight-through weight (only the
picked arch's live edges run, each scaled by its weight, which is 1 in value).
"""
from __future__ import annotations

import functools
from typing import Callable, Hashable

import torch
from torch import nn

from wsnas.benchmarks.spaces.nb201.cell import EDGES, NUM_NODES, OPS, Arch201, live_edges
from wsnas.supernets.selection import is_discrete, picked, run_entry, scale
from wsnas.supernets.stages import IMAGES, Step, add_in_order


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, affine: bool) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )


class ResidualReduction(nn.Module):
    """NAS-Bench-201's ResNet basic block between stages: stride-2 conv path plus pooled 1x1 shortcut."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, affine=True)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, affine=True)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_b(self.conv_a(x)) + self.shortcut(x)


@functools.lru_cache(maxsize=64)
def _window_sizes(shape: tuple[int, int, int], dtype: torch.dtype, device: torch.device,
                  memory_format: torch.memory_format) -> torch.Tensor:
    """Pixels of each 3x3 window inside a (channels, height, width) image (the padding not counted), as a
    (1, channels, height, width) tensor in `memory_format`: the divisor of AvgPool3x3 laid out as its dividend,
    so the division runs elementwise (in channels_last, 2-3x faster than broadcasting an (h, w) divisor)."""
    def along(n: int) -> torch.Tensor:
        counts = torch.full((n,), 3.0)
        counts[0] -= 1  # the first and last windows overhang the edge by one pixel (a 1-pixel side: both)
        counts[-1] -= 1
        return counts

    channels, height, width = shape
    with torch.inference_mode(False):  # cached: a normal tensor even when first made in inference mode
        sizes = torch.outer(along(height), along(width)).expand(1, channels, height, width)
        return sizes.to(device=device, dtype=dtype, memory_format=memory_format)


@functools.lru_cache(maxsize=64)
def _ones_kernel(channels: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The depthwise 3x3 ones kernel of AvgPool3x3, made once per shape rather than at every forward."""
    with torch.inference_mode(False):  # a normal tensor, usable with autograd after a first call in inference
        return torch.ones(channels, 1, 3, 3, dtype=dtype, device=device)


class AvgPool3x3(nn.Module):
    """NAS-Bench-201's avg_pool_3x3 (stride 1, padding 1, padding not counted) as a depthwise convolution with a
    ones kernel divided by each window's pixel count: nn.AvgPool2d(3, 1, 1, count_include_pad=False) up to float
    rounding, and several times faster on CPU, where torch's pooling kernels (forward and backward) were a large
    share of a CPU-sized training step (`wsnas bench` profile)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels, height, width = x.shape[1:]
        summed = nn.functional.conv2d(x, _ones_kernel(channels, x.dtype, x.device), padding=1, groups=channels)
        layout = torch.channels_last if summed.is_contiguous(memory_format=torch.channels_last) and not \
            summed.is_contiguous() else torch.contiguous_format
        return summed / _window_sizes((channels, height, width), summed.dtype, summed.device, layout)


def make_op(name: str, channels: int, affine: bool) -> nn.Module:
    """One candidate operation of a cell edge; `none` and `skip_connect` carry no module work."""
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1, affine)
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1, affine)
    if name == "avg_pool_3x3":
        return AvgPool3x3()
    if name in ("skip_connect", "none"):
        return nn.Identity()  # `none` edges are never run: see cell_forward
    raise KeyError(name)


@functools.lru_cache(maxsize=None)
def _plan(arch: Arch201) -> tuple[tuple[int, int, int, str], ...]:
    """(edge index, to node, from node, op) for every live edge of the cell, in execution order."""
    live = live_edges(arch)
    return tuple((e, j, i, arch[e]) for e, ((j, i), op) in enumerate(zip(EDGES, arch)) if live[e])


def cell_forward(x: torch.Tensor, arch: Arch201, op_of: Callable[[int, str], nn.Module]) -> torch.Tensor:
    """Run a cell: node j sums op(node i) over its live incoming edges; a node with none is zero.

    An arch of hard picks (selection.Pick) runs the picked arch's live edges, each scaled by its pick's weight; an
    arch holding a mixture (selection.Mix) runs every edge (_mixed_cell)."""
    weights: tuple | None = None
    if not is_discrete(arch):
        hard = picked(arch)
        if hard is None:
            return _mixed_cell(x, arch, op_of)
        arch, weights = hard, tuple(arch)  # type: ignore[assignment]
    nodes: list[torch.Tensor | None] = [x] + [None] * (NUM_NODES - 1)
    for e, j, i, op in _plan(arch):
        src = nodes[i]
        out = src if op == "skip_connect" else op_of(e, op)(src)
        if weights is not None and (weight := scale(weights[e])) is not None:
            out = out * weight
        nodes[j] = out if nodes[j] is None else nodes[j] + out
    out = nodes[-1]
    return torch.zeros_like(x) if out is None else out


def _mixed_cell(x: torch.Tensor, arch, op_of: Callable[[int, str], nn.Module]) -> torch.Tensor:
    """A cell whose edges are slot entries (a choice, a Mix or a Pick): every edge from a non-zero node runs."""
    nodes: list[torch.Tensor | None] = [x] + [None] * (NUM_NODES - 1)
    for e, (j, i) in enumerate(EDGES):
        src = nodes[i]
        if src is None:  # a zero node: every op of it is zero (the convention of the isomorphism key)
            continue

        def run(op: str, e: int = e, src: torch.Tensor = src) -> torch.Tensor | None:
            return None if op == "none" else src if op == "skip_connect" else op_of(e, op)(src)

        out = run_entry(arch[e], run)
        if out is not None:
            nodes[j] = out if nodes[j] is None else nodes[j] + out
    out = nodes[-1]
    return torch.zeros_like(x) if out is None else out


class SearchCell(nn.Module):
    """A cell holding every candidate op on every edge (weights shared by all archs)."""

    def __init__(self, channels: int, affine: bool) -> None:
        super().__init__()
        self.edges = nn.ModuleList(
            nn.ModuleDict({op: make_op(op, channels, affine) for op in OPS if op != "none"}) for _ in EDGES
        )

    def forward(self, x: torch.Tensor, arch: Arch201) -> torch.Tensor:
        return cell_forward(x, arch, lambda e, op: self.edges[e][op])


class FixedCell(nn.Module):
    """A standalone cell with one op per edge (module names match SearchCell for weight transfer)."""

    def __init__(self, channels: int, affine: bool, arch: Arch201) -> None:
        super().__init__()
        self.arch = arch
        self.edges = nn.ModuleList(
            nn.ModuleDict({op: make_op(op, channels, affine)} if op != "none" else {}) for op in arch
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return cell_forward(x, self.arch, lambda e, op: self.edges[e][op])


class _Skeleton(nn.Module):
    """Stem, 3 stages of `cells_per_stage` cells with reductions, head; cells come from `make_cell(channels)`."""

    def __init__(self, C: int, N: int, num_classes: int, make_cell: Callable[[int], nn.Module]) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        layers: list[nn.Module] = []
        channels = C
        for stage in range(3):
            if stage > 0:
                layers.append(ResidualReduction(channels, channels * 2))
                channels *= 2
            layers.extend(make_cell(channels) for _ in range(N))
        self.layers = nn.ModuleList(layers)
        self.head = nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(inplace=True))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes)

    def _run(self, x: torch.Tensor, run_cell: Callable[[nn.Module, torch.Tensor], torch.Tensor],
             start: int = 0) -> torch.Tensor:
        """The logits of images `x`; with `start` > 0, of `x` taken as the input of self.layers[start]."""
        if start == 0:
            x = self.stem(x)
        for layer in self.layers[start:]:
            x = layer(x) if isinstance(layer, ResidualReduction) else run_cell(layer, x)
        return self.classifier(self.pool(self.head(x)).flatten(1))


class NB201Supernet(_Skeleton):
    """Weight-sharing supernet: `forward(x, arch)` runs exactly one path (single-path one-shot), or a relaxed arch
    of the search methods (wsnas.supernets.selection), every cell with the same arch entries."""

    def __init__(self, C: int = 16, N: int = 5, num_classes: int = 10, affine: bool = False) -> None:
        super().__init__(C, N, num_classes, lambda c: SearchCell(c, affine))
        self.C, self.N, self.num_classes, self.affine = C, N, num_classes, affine

    def forward(self, x: torch.Tensor, arch: Arch201) -> torch.Tensor:  # type: ignore[override]
        return self._run(x, lambda cell, h: cell(h, arch))

    def stages(self, arch: Arch201) -> list[Step]:
        """`forward(x, arch)` as steps for scoring many archs at once (wsnas.supernets.stages): the stem (the same
        for every arch); in the first cell each live op, keyed by its edge, op and the key of its input node, and
        each node's sum of two or more terms, in the order cell_forward adds them; then the rest of the network,
        keyed by the live plan (archs that differ only in dead edges compute the same function)."""
        plan, first = _plan(arch), self.layers[0]
        steps = [Step(("stem",), self.stem, (IMAGES,), (self.stem,))]
        terms: dict[int, list[Hashable]] = {j: [] for j in range(1, NUM_NODES)}

        def node(i: int) -> Hashable:
            """The key of node i's value (its incoming edges all precede its outgoing ones in the plan)."""
            if i == 0:
                return steps[0].key
            if len(terms[i]) == 1:
                return terms[i][0]
            key = ("node", i, tuple(terms[i]))
            if all(step.key != key for step in steps):
                steps.append(Step(key, add_in_order, tuple(terms[i]), ()))
            return key

        for e, j, i, op in plan:
            source = node(i)
            if op == "skip_connect":
                terms[j].append(source)
            else:
                module = first.edges[e][op]
                steps.append(Step(("op", e, op, source), module, (source,), (module,)))
                terms[j].append(steps[-1].key)
        live = bool(terms[NUM_NODES - 1])
        cell_out = node(NUM_NODES - 1) if live else steps[0].key

        def rest(h: torch.Tensor) -> torch.Tensor:
            return self._run(h if live else torch.zeros_like(h), lambda cell, x: cell(x, arch), start=1)

        steps.append(Step(("out", plan), rest, (cell_out,), (*self.layers[1:], self.head)))
        return steps


class NB201Network(_Skeleton):
    """A standalone NAS-Bench-201 network for one arch (training from scratch, or a supernet's extract)."""

    def __init__(self, arch: Arch201, C: int = 16, N: int = 5, num_classes: int = 10, affine: bool = True) -> None:
        super().__init__(C, N, num_classes, lambda c: FixedCell(c, affine, arch))
        self.arch = arch

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self._run(x, lambda cell, h: cell(h))


def extract_subnet(supernet: NB201Supernet, arch: Arch201) -> NB201Network:
    """A standalone network for `arch` with the supernet's weights and BN buffers copied in."""
    net = NB201Network(arch, supernet.C, supernet.N, supernet.num_classes, supernet.affine)
    source = supernet.state_dict()
    net.load_state_dict({name: source[name].clone() for name in net.state_dict()})
    return net.to(next(supernet.parameters()).device)

