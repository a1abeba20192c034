"""NAS-Bench-Macro (Su et al., CVPR 2021): 8 searchable layers x 3 blocks = 6,561 CIFAR-10 networks (no torch).

Skeleton (upstream train/model.py, `Network(arch, stages=[2, 3, 3], init_channels=32)`): stem conv3x3 3->32 +
BN + ReLU at 32x32; three stages of 2, 3 and 3 layers; the first layer of each stage halves the resolution and
doubles the channels (32->64 at 16x16, 64->128 at 8x8, 128->256 at 4x4), the others keep both; head conv1x1
256->1280 + BN + ReLU, global average pooling, linear 1280->10. Each layer is one of:

    '0' identity  a true no-op at a stride-1 layer; at a stage's first layer a 1x1 stride-2 conv + BN projection
    '1' mb3_k3    MobileNetV2 block, expansion 3, 3x3 depthwise (pw conv-BN-ReLU, dw conv-BN-ReLU, pw conv-BN)
    '2' mb6_k5    MobileNetV2 block, expansion 6, 5x5 depthwise

MobileNetV2 blocks add their input back where stride is 1 and the channels match (every non-first layer).
An arch is the tuple of the 8 op names; its key is the benchmark's 8-char string over {'0','1','2'}.
"""
from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import Any, Iterator

from wsnas.benchmarks.groundtruth import GroundTruth
from wsnas.benchmarks.space import ArchError, SearchSpace, Slot
from wsnas.benchmarks.xiusu_truth import load_seed_table
from wsnas.core.errors import WsnasError

OPS: tuple[str, ...] = ("identity", "mb3_k3", "mb6_k5")  # key digit = position
MB_SHAPES: dict[str, tuple[int, int]] = {"mb3_k3": (3, 3), "mb6_k5": (6, 5)}  # op -> (expansion, kernel)
STAGES: tuple[int, ...] = (2, 3, 3)
NUM_LAYERS = sum(STAGES)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
IMAGE_SIZE = 32
NUM_CLASSES = 10

ArchMacro = tuple[str, ...]
Counts = tuple[int, int]  # (parameters, FLOPs) as raw integers


@dataclass(frozen=True)
class Layer:
    """One searchable layer of the skeleton: channels in/out, stride, and the output resolution."""

    c_in: int
    c_out: int
    stride: int
    out_hw: int

    @property
    def identity_is_noop(self) -> bool:
        return self.stride == 1 and self.c_in == self.c_out


@dataclass(frozen=True)
class Skeleton:
    """Channel widths and resolutions of the network at a width multiplier."""

    stem: int
    layers: tuple[Layer, ...]
    head: int


def _scaled(channels: int, width_mult: float) -> int:
    """A width at `width_mult` (rounded, at least 1)."""
    return max(1, round(channels * width_mult))


def skeleton(width_mult: float = 1.0) -> Skeleton:
    """The benchmark skeleton with every width scaled by `width_mult` (1.0 = the benchmark's own)."""
    if not width_mult > 0:
        raise WsnasError(f"model.width_mult={width_mult!r} must be > 0 (1.0 = NAS-Bench-Macro's own widths)")
    channels, hw = _scaled(STEM_CHANNELS, width_mult), IMAGE_SIZE
    stem, layers = channels, []
    for depth in STAGES:
        for position in range(depth):
            stride = 2 if position == 0 else 1
            hw = (hw - 1) // stride + 1
            layers.append(Layer(channels, channels * stride, stride, hw))
            channels *= stride
    return Skeleton(stem, tuple(layers), _scaled(HEAD_CHANNELS, width_mult))


# ------------------------------------------------------------------------------------------------ cost model
# Counting convention of the benchmark (upstream train/utils.py): params = every nn.Parameter (conv weights,
# affine BN weight and bias, linear weight and bias); FLOPs = multiply-adds of Conv2d and Linear layers only
# (no bias, BN, ReLU, pooling or residual sums).

def _conv(c_in: int, c_out: int, k: int, out_hw: int, groups: int = 1) -> Counts:
    weights = k * k * c_in * c_out // groups
    return weights, weights * out_hw * out_hw


def _bn(c: int) -> Counts:
    return 2 * c, 0


def _add(*parts: Counts) -> Counts:
    return sum(p for p, _ in parts), sum(f for _, f in parts)


def layer_counts(op: str, layer: Layer) -> Counts:
    """(params, FLOPs) of one op at one layer."""
    if op == "identity":
        return (0, 0) if layer.identity_is_noop else _add(_conv(layer.c_in, layer.c_out, 1, layer.out_hw),
                                                          _bn(layer.c_out))
    expansion, k = MB_SHAPES[op]
    hidden, in_hw = layer.c_in * expansion, layer.out_hw * layer.stride
    return _add(_conv(layer.c_in, hidden, 1, in_hw), _bn(hidden),
                _conv(hidden, hidden, k, layer.out_hw, groups=hidden), _bn(hidden),
                _conv(hidden, layer.c_out, 1, layer.out_hw), _bn(layer.c_out))


def macro_counts(arch: ArchMacro, width_mult: float = 1.0, num_classes: int = NUM_CLASSES) -> Counts:
    """Exact (parameter count, FLOP count) of an arch, as the benchmark's table reports them at width 1."""
    net = skeleton(width_mult)
    last = net.layers[-1]
    return _add(_conv(3, net.stem, 3, IMAGE_SIZE), _bn(net.stem),
                *(layer_counts(op, layer) for op, layer in zip(arch, net.layers)),
                _conv(last.c_out, net.head, 1, last.out_hw), _bn(net.head),
                (net.head * num_classes + num_classes, net.head * num_classes))


# ------------------------------------------------------------------------------------------------ the space

def parse_arch(text: str) -> ArchMacro:
    """Decode the benchmark's 8-char key ('0' identity, '1' mb3_k3, '2' mb6_k5 per layer)."""
    if not isinstance(text, str):
        raise ArchError(f"NAS-Bench-Macro arch must be a string, got {type(text).__name__}")
    key = text.strip()
    if len(key) != NUM_LAYERS or any(c not in "012" for c in key):
        raise ArchError(f"NAS-Bench-Macro arch {text!r}: expected {NUM_LAYERS} digits from 0 (identity), "
                        f"1 (mb3_k3), 2 (mb6_k5), one per layer, e.g. '22212220'")
    return tuple(OPS[int(c)] for c in key)


def format_arch(arch: ArchMacro) -> str:
    """The benchmark's key of an arch."""
    if len(arch) != NUM_LAYERS or any(op not in OPS for op in arch):
        raise ArchError(f"NAS-Bench-Macro arch needs {NUM_LAYERS} ops from {OPS}, got {arch!r}")
    return "".join(str(OPS.index(op)) for op in arch)


def function_arch(arch: ArchMacro) -> ArchMacro:
    """The representative of an arch's function class: in each stage the no-op identities after the first layer
    move to the stage's end (the upstream `get_real_arch`, the one string per class the benchmark trained)."""
    out: list[str] = []
    start = 0
    for depth in STAGES:
        rest = arch[start + 1:start + depth]
        blocks = [op for op in rest if op != "identity"]
        out += [arch[start], *blocks, *["identity"] * (len(rest) - len(blocks))]
        start += depth
    return tuple(out)


class MacroSpace(SearchSpace):
    """The 6,561-network NAS-Bench-Macro space (CIFAR-10)."""

    name = "macro"
    description = "NAS-Bench-Macro: 8 layers x {identity, MB3_K3, MB6_K5} = 6,561 CIFAR-10 networks"
    # cpu: a quarter-width supernet (stages of 16/32/64 channels, head 320), trained and scored less than the
    # global cpu preset, so that `wsnas study --space macro` takes about 10 minutes on 2 idle cores.
    presets = {
        "smoke": {"model.width_mult": 0.125},
        "cpu": {"model.width_mult": 0.25, "train.epochs": 8, "eval.n_archs": 200},
        "paper": {"model.width_mult": 1.0},
    }

    def parse(self, text: str) -> ArchMacro:
        return parse_arch(text)

    def format(self, arch: ArchMacro) -> str:
        return format_arch(arch)

    def enumerate(self) -> Iterator[ArchMacro]:
        """All archs in increasing order of their key read as a base-3 number (the ground truth's index)."""
        return iter(itertools.product(OPS, repeat=NUM_LAYERS))

    def size(self) -> int:
        return len(OPS) ** NUM_LAYERS

    def function_key(self, arch: ArchMacro) -> str:
        """Key of the class's representative (see function_arch). Identity layers do create isomorphic duplicates:
        at the 5 stride-1 layers (not a stage's first) identity is a no-op, so only the order of a stage's
        MobileNetV2 blocks matters ('22212220' and '22212202' compute the same function); at the 3
        reducing layers identity is a 1x1 projection and never merges. 6,561 strings form 9 x 21 x 21 = 3,969
        functions; the benchmark trained each once and copies its row to every member. In a weight-sharing
        supernet each layer position has its own weights, so members of a class share only the ground truth."""
        return format_arch(function_arch(arch))

    def slots(self) -> tuple[Slot, ...]:
        """One slot per layer ("layer 0".."layer 7"; 0, 2 and 5 open a stage), each choosing one of OPS."""
        return tuple(Slot(f"layer {i}", OPS) for i in range(NUM_LAYERS))

    def features(self, arch: ArchMacro) -> dict[str, Any]:
        """Cost on the benchmark's full-width skeleton (whatever width the supernet was trained at), op counts and
        the op at each layer, layers named "0".."7" (0, 2 and 5 are the stride-2 stage openers)."""
        params, flops = macro_counts(arch)
        features: dict[str, Any] = {"params_M": params / 1e6, "flops_M": flops / 1e6}
        features.update({f"n_ops:{op}": arch.count(op) for op in OPS})
        features.update({f"edge:{layer}": op for layer, op in enumerate(arch)})
        return features

    def extremes(self) -> tuple[ArchMacro, ArchMacro]:
        """(all mb6_k5, all identity): the most and the fewest parameters and FLOPs."""
        return (OPS[2],) * NUM_LAYERS, (OPS[0],) * NUM_LAYERS

    def ground_truth(self, mirror: str | os.PathLike | None = None) -> GroundTruth:
        return load_seed_table(self, "nas-bench-macro_cifar10", "test_acc", "mean_acc", "NAS-Bench-Macro", mirror)
