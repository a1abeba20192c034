"""Parameter count of DARTS genotypes on DARTS's evaluation network, in closed form (plain Python, no torch).

Network (DARTS model.py NetworkCIFAR): a 3x3 conv + BN stem to 3C channels; `layers` cells, the ones at
layers//3 and 2*layers//3 reduction cells that double the channels; global average pooling and a linear
classifier. Each cell preprocesses its two inputs to C channels (ReLU-conv1x1-BN, or a factorized reduction
after a reduction cell) and concatenates its 4 nodes (4C channels out). Ops, all with affine BN:
sep_conv_kxk = 2 x (ReLU, kxk depthwise, 1x1, BN); dil_conv_kxk = ReLU, dilated kxk depthwise, 1x1, BN;
skip_connect at stride 2 = factorized reduction (two 1x1 convs to C/2 each, BN); pools and the stride-1 skip
hold nothing. The optional auxiliary head (after the second reduction) is a 1x1 conv to 128, a 2x2 conv to
768, each with BN, and a linear classifier. Counted: every parameter (conv weights, BN scale and offset where
the BN is affine, linear weight and bias). FLOPs are not modelled (the file's `flops` column has them).
"""
from __future__ import annotations

from wsnas.benchmarks.spaces.darts.genotype import NUM_NODES, Cell, Genotype

NUM_CLASSES = 10
STEM_MULTIPLIER = 3


def _relu_conv_bn(c_in: int, c_out: int) -> int:
    return c_in * c_out + 2 * c_out


def _factorized_reduce(c_in: int, c_out: int) -> int:
    return 2 * c_in * (c_out // 2) + 2 * c_out


def op_params(op: str, c: int, stride: int, affine: bool = True) -> int:
    """Parameters of one op on c channels (`affine`: its BNs hold a scale and an offset)."""
    bn = 2 * c if affine else 0
    if op.startswith("sep_conv"):
        k = int(op[-1])
        return 2 * (c * k * k + c * c + bn)
    if op.startswith("dil_conv"):
        k = int(op[-1])
        return c * k * k + c * c + bn
    if op == "skip_connect" and stride == 2:
        return 2 * c * (c // 2) + bn
    return 0


def is_reduction(i: int, layers: int) -> bool:
    """Whether cell i of `layers` is a reduction cell (DARTS: the cells at layers//3 and 2*layers//3)."""
    return i in (layers // 3, 2 * layers // 3)


def cell_params(cell: Cell, c_pp: int, c_p: int, c: int, reduction: bool, reduction_prev: bool,
                op_affine: bool) -> int:
    params = _factorized_reduce(c_pp, c) if reduction_prev else _relu_conv_bn(c_pp, c)
    params += _relu_conv_bn(c_p, c)
    for op, node in cell:
        params += op_params(op, c, 2 if reduction and node < 2 else 1, op_affine)
    return params


def darts_params(arch: Genotype, C: int = 36, layers: int = 20, auxiliary: bool = False,
                 op_affine: bool = True) -> int:
    """Parameters of NetworkCIFAR with C initial channels and `layers` cells. The defaults are DARTS's evaluation
    network without its auxiliary head, as DARTS counts it (DARTS_V2: 3,349,342, its reported 3.35 M)."""
    normal, reduce = arch
    c_curr = STEM_MULTIPLIER * C
    params = 9 * 3 * c_curr + 2 * c_curr
    c_pp, c_p, c_curr = c_curr, c_curr, C
    reduction_prev = False
    for i in range(layers):
        reduction = is_reduction(i, layers)
        if reduction:
            c_curr *= 2
        params += cell_params(reduce if reduction else normal, c_pp, c_p, c_curr, reduction, reduction_prev,
                              op_affine)
        reduction_prev = reduction
        c_pp, c_p = c_p, NUM_NODES * c_curr
        if auxiliary and i == 2 * layers // 3:
            params += c_p * 128 + 2 * 128 + 128 * 768 * 4 + 2 * 768 + 768 * NUM_CLASSES + NUM_CLASSES
    return params + c_p * NUM_CLASSES + NUM_CLASSES


def nb301_params(arch: Genotype) -> int:
    """Parameters as NASLib's NAS-Bench-301 sample counts them (its `params`, exact for all 500 rows): NAS-Bench-
    301's training network of C=32 and 8 cells, no auxiliary head, the ops' BNs without affine parameters (the
    cell preprocessing, stem and classifier keep theirs)."""
    return darts_params(arch, C=32, layers=8, auxiliary=False, op_affine=False)
