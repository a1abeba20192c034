"""Parameters and FLOPs of NAS-Bench-101 cells on the benchmark's network, in closed form (plain Python, no torch).

Skeleton (nasbench model_builder.py, the benchmark's config): a 3x3 conv-BN-ReLU stem 3->128 at 32x32; three
stacks of three cells at 128, 256 and 512 channels (32x32, 16x16, 8x8), a 2x2 stride-2 max pool before the
second and third stack, whose first cell doubles the channels; global average pooling and a dense 512->10.

Channel rules (model_builder.compute_vertex_channels): the cell's output channels are split evenly over the
vertices feeding the output (the first ones get one extra channel when the division has a remainder); every
other interior vertex takes the largest channel count among the vertices it feeds. The input reaches a
vertex through a 1x1 conv-BN-ReLU projection to that vertex's channels (and the output through one to the
cell's channels); interior edges pass tensors unchanged (truncated by one channel where the split left one
over). Each conv op maps its vertex's channels to themselves; max pooling keeps them.

Counting conventions, as the file's `params` and `flops` (NASLib's zc_nasbench101.json) report them:

* params: every trainable weight (bias-free convs, BN scale and offset, the dense weight and bias), as
  NAS-Bench-101's `trainable_parameters`;
* FLOPs: multiply-adds of the convs and of the dense weight (not its bias); 3 per output element of every
  conv-BN-ReLU for its BN and ReLU; one per output element and kernel position of every max pool (9 for the
  cells' 3x3 pools, 4 for the 2x2 pools between stacks); the sums, the concatenation and the global average
  pool count nothing. The file states no convention; this one was fitted to its figures and reproduces all
  500 exactly (see tests/test_nb101.py). Divided by 1e6 it gives the file's MFLOPs.
"""
from __future__ import annotations

from wsnas.benchmarks.spaces.nb101.spec import CONV1X1, CONV3X3, MAXPOOL3X3, Spec

STEM_CHANNELS = 128
NUM_STACKS = 3
CELLS_PER_STACK = 3
IMAGE_SIZE = 32
NUM_CLASSES = 10
KERNEL = {CONV3X3: 3, CONV1X1: 1}

Counts = tuple[int, int]  # (parameters, FLOPs) as raw integers


def vertex_channels(spec: Spec, c_in: int, c_out: int) -> list[int]:
    """Channels of every vertex of a cell mapping c_in to c_out channels (model_builder's rule)."""
    n, m = spec.n_vertices, spec.matrix
    channels = [0] * n
    channels[0], channels[-1] = c_in, c_out
    if n == 2:
        return channels
    fan_in = sum(m[v][n - 1] for v in range(1, n - 1))
    share, extra = divmod(c_out, fan_in)
    for v in range(1, n - 1):
        if m[v][n - 1]:
            channels[v] = share + (1 if extra > 0 else 0)
            extra -= 1
    for v in range(n - 3, 0, -1):
        if not m[v][n - 1]:
            channels[v] = max(channels[w] for w in range(v + 1, n - 1) if m[v][w])
    return channels


def _conv_bn_relu(c_in: int, c_out: int, k: int, hw: int) -> Counts:
    weights = k * k * c_in * c_out
    return weights + 2 * c_out, (weights + 3 * c_out) * hw * hw


def cell_counts(spec: Spec, c_in: int, c_out: int, hw: int) -> Counts:
    """(params, FLOPs) of one cell at hw x hw."""
    n = spec.n_vertices
    channels = vertex_channels(spec, c_in, c_out)
    parts: list[Counts] = []
    for v in range(1, n - 1):
        c = channels[v]
        if spec.matrix[0][v]:
            parts.append(_conv_bn_relu(c_in, c, 1, hw))
        op = spec.ops[v]
        if op == MAXPOOL3X3:
            parts.append((0, 9 * c * hw * hw))
        else:
            parts.append(_conv_bn_relu(c, c, KERNEL[op], hw))
    if spec.matrix[0][n - 1]:
        parts.append(_conv_bn_relu(c_in, c_out, 1, hw))
    return sum(p for p, _ in parts), sum(f for _, f in parts)


def nb101_counts(spec: Spec) -> Counts:
    """Exact (parameters, FLOPs) of the benchmark's network built on a pruned spec."""
    params, flops = _conv_bn_relu(3, STEM_CHANNELS, 3, IMAGE_SIZE)
    c_in, hw = STEM_CHANNELS, IMAGE_SIZE
    for stack in range(NUM_STACKS):
        c_out = STEM_CHANNELS * 2 ** stack
        if stack:
            hw //= 2
            flops += 4 * c_in * hw * hw
        for _ in range(CELLS_PER_STACK):
            p, f = cell_counts(spec, c_in, c_out, hw)
            params, flops, c_in = params + p, flops + f, c_out
    return params + c_in * NUM_CLASSES + NUM_CLASSES, flops + c_in * NUM_CLASSES
