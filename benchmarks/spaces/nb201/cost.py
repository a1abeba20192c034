"""Parameter count and FLOPs of NAS-Bench-201 architectures, computed in closed form (plain Python, no torch).

The network is the benchmark's training skeleton (xautodl ``TinyNetwork``): a 3x3 conv + BN stem, three
stages of N cells at C, 2C and 4C channels separated by two stride-2 ResNet basic blocks, then BN + ReLU,
global average pooling and a linear classifier. Every cell edge maps c channels to c channels at stride 1.

Counting convention, as the benchmark's own ``get_model_infos`` (xautodl ``utils/flop_benchmark.py``):

* params: every ``nn.Parameter`` (conv weights, affine BN weight and bias, linear weight and bias; BN
  running statistics are buffers and do not count), divided by 1e6;
* FLOPs: only ``Conv2d`` and ``Linear`` layers count, one multiply-add is one FLOP, a bias adds one FLOP
  per output element; BN, ReLU, pooling, the residual/edge sums and ``none`` (zero) edges count nothing;
  divided by 1e6. Every op in the cell runs, so a conv on an edge whose result cannot reach the cell output
  still counts: the cost depends only on the op on each edge, not on which edges are live.
"""
from __future__ import annotations

import itertools

from wsnas.benchmarks.space import ArchError
from wsnas.benchmarks.spaces.nb201.cell import EDGES, OPS, Arch201, format_arch, parse_arch

Counts = tuple[int, int]  # (parameters, FLOPs) as raw integers


def _conv(c_in: int, c_out: int, k: int, out_hw: int) -> Counts:
    """Bias-free k x k conv producing an out_hw x out_hw map."""
    weights = k * k * c_in * c_out
    return weights, weights * out_hw * out_hw


def _bn(c: int) -> Counts:
    """Affine BatchNorm: weight and bias are parameters, its FLOPs are not counted."""
    return 2 * c, 0


def _add(*parts: Counts) -> Counts:
    return sum(p for p, _ in parts), sum(f for _, f in parts)


def _edge_op(op: str, c: int, hw: int) -> Counts:
    """One cell edge at c channels on an hw x hw map: ReLU-Conv-BN for the convs, free for the rest."""
    if op == "nor_conv_3x3":
        return _add(_conv(c, c, 3, hw), _bn(c))
    if op == "nor_conv_1x1":
        return _add(_conv(c, c, 1, hw), _bn(c))
    return 0, 0  # none, skip_connect, avg_pool_3x3 (no preprocessing conv since C_in == C_out)


def _resblock(c_in: int, c_out: int, out_hw: int) -> Counts:
    """Stride-2 ResNet basic block: ReLUConvBN 3x3/2, ReLUConvBN 3x3/1, shortcut AvgPool 2x2 + conv 1x1."""
    return _add(_conv(c_in, c_out, 3, out_hw), _bn(c_out),
                _conv(c_out, c_out, 3, out_hw), _bn(c_out),
                _conv(c_in, c_out, 1, out_hw))


def _stages(C: int, image_size: int) -> tuple[tuple[int, int], ...]:
    """(channels, spatial size) of the three cell stages."""
    return (C, image_size), (2 * C, image_size // 2), (4 * C, image_size // 4)


def _check(C: int, N: int, image_size: int) -> None:
    if C < 1 or N < 0:
        raise ValueError(f"need C >= 1 and N >= 0, got C={C}, N={N}")
    if image_size < 4 or image_size % 4:
        raise ValueError(f"image_size must be a positive multiple of 4 (two stride-2 blocks), got {image_size}")


def skeleton_counts(C: int = 16, N: int = 5, num_classes: int = 10, image_size: int = 32) -> Counts:
    """Raw (params, FLOPs) of everything outside the cells: stem, the two ResNet blocks, last BN, classifier."""
    _check(C, N, image_size)
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    (c1, hw1), (c2, hw2), (c3, hw3) = _stages(C, image_size)
    classifier = (c3 * num_classes + num_classes,) * 2  # weight + bias; FLOPs: in*out MACs + out bias adds
    return _add(_conv(3, c1, 3, hw1), _bn(c1),
                _resblock(c1, c2, hw2), _resblock(c2, c3, hw3),
                _bn(c3), classifier)


def op_counts(C: int = 16, N: int = 5, image_size: int = 32) -> dict[str, Counts]:
    """Raw (params, FLOPs) that putting each op on one edge adds to the whole network (all 3N cells)."""
    _check(C, N, image_size)
    return {op: _add(*(_edge_op(op, c, hw) for c, hw in _stages(C, image_size) for _ in range(N))) for op in OPS}


def _as_arch(arch: Arch201 | str) -> Arch201:
    if isinstance(arch, str):
        return parse_arch(arch)
    if len(arch) != len(EDGES) or any(op not in OPS for op in arch):
        raise ArchError(f"NAS-Bench-201 arch needs {len(EDGES)} ops from {OPS}, got {arch!r}")
    return tuple(arch)  # type: ignore[return-value]


def nb201_counts(arch: Arch201 | str, C: int = 16, N: int = 5, num_classes: int = 10,
                 image_size: int = 32) -> Counts:
    """Exact (parameter count, FLOP count) of an arch (6-op tuple or benchmark string) on the skeleton."""
    per_op = op_counts(C, N, image_size)
    return _add(skeleton_counts(C, N, num_classes, image_size), *(per_op[op] for op in _as_arch(arch)))


def nb201_cost(arch: Arch201 | str, C: int = 16, N: int = 5, num_classes: int = 10,
               image_size: int = 32) -> tuple[float, float]:
    """(params in millions, FLOPs in millions) as NAS-Bench-201 reports them (both divided by 1e6)."""
    params, flops = nb201_counts(arch, C, N, num_classes, image_size)
    return params / 1e6, flops / 1e6


def cost_table(C: int = 16, N: int = 5, num_classes: int = 10,
               image_size: int = 32) -> dict[str, tuple[float, float]]:
    """nb201_cost of all 15,625 archs, keyed by canonical arch string (skeleton + per-edge op sums)."""
    base_p, base_f = skeleton_counts(C, N, num_classes, image_size)
    per_op = op_counts(C, N, image_size)
    table: dict[str, tuple[float, float]] = {}
    for arch in itertools.product(OPS, repeat=len(EDGES)):
        params, flops = base_p, base_f
        for op in arch:
            p, f = per_op[op]
            params += p
            flops += f
        table[format_arch(arch)] = (params / 1e6, flops / 1e6)  # type: ignore[arg-type]
    return table
