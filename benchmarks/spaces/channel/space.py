"""Channel-Bench-Macro (github xiusu/Channel-Bench-Macro): width search on a MobileNet and a ResNet skeleton.

Each skeleton has 7 independently searchable layers; a layer's width is 1/4, 2/4, 3/4 or 4/4 of its maximum
channels, written as the digit 1..4, so an arch is a 7-digit key like '4444342' (4^7 = 16,384 archs per
skeleton). A layer's width is `round(digit * max_channels / 4)`, as the benchmark's model.py computes it. Every
config is a distinct function (different widths, different networks): there is no isomorphism.

The skeletons (upstream model.py, CIFAR-10 at 32x32, every conv bias-free and followed by an affine BN):

* MobileNet: 3x3 stride-2 stem conv to layer 0's width; two inverted-residual (MB) blocks c0 -> c_k -> c0 with
  skip (expansions: layers 1, 2); an MB block c0 -> c3 -> c4 with a stride-2 depthwise conv and no skip; an MB
  block c4 -> c5 -> c4 with skip; a 1x1 head conv to c6 + BN + ReLU; global pooling; linear classifier.
  MB block: 1x1 conv + BN + ReLU, 3x3 depthwise conv + BN + ReLU, 1x1 conv + BN (no ReLU), then the skip sum.
  Max channels 128, 768, 768, 768, 256, 1536, 1024.
* ResNet: the same stem to c0; basic blocks (3x3 conv + BN + ReLU, 3x3 conv + BN) c0 -> c1 -> c0 and
  c0 -> c2 -> c0 with skip; c0 -> c3 -> c4 with a stride-2 first conv and no skip; c4 -> c5 -> c4 and
  c4 -> c6 -> c4 with skip; a ReLU after every block (after the sum); global pooling; linear classifier.
  Max channels 256, 256, 256, 512, 512, 512, 512.

Layers 0 and 4 set a whole stage's width (the stem or stride-2 block output and every skip line of that stage);
they are named "stage1"/"stage2", the block expansions "mb<k>"/"rs<k>", MobileNet's last "head".

Cost model, as upstream utils.py counts it (reproduces the table's `params` and `flops` for all archs):
params are every nn.Parameter (conv weights, BN weight and bias, linear weight and bias); FLOPs are
multiply-adds of the convs (depthwise: per group) and the linear layer, nothing for BN, ReLU, pooling, sums or
the linear bias.
"""
from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import Any, ClassVar, Iterator

from wsnas.benchmarks.groundtruth import GroundTruth
from wsnas.benchmarks.space import ArchError, SearchSpace, Slot, SpaceError
from wsnas.benchmarks.xiusu_truth import load_seed_table

ArchC = tuple[int, ...]  # one digit 1..4 per searchable layer
CHOICES: tuple[int, ...] = (1, 2, 3, 4)
RATIOS: dict[int, str] = {1: "0.25", 2: "0.5", 3: "0.75", 4: "1.0"}
NUM_LAYERS = 7
IMAGE = -1  # `layer` of the input image (3 channels)
IMAGE_SIZE = 32
NUM_CLASSES = 10


@dataclass(frozen=True)
class Conv:
    """A bias-free conv + BN (+ ReLU) whose in/out channels are the widths of searchable layers."""

    c_in: int  # layer index, or IMAGE
    c_out: int
    kernel: int
    stride: int = 1
    depthwise: bool = False
    relu: bool = True


@dataclass(frozen=True)
class Block:
    """Convs in sequence; `residual` adds the block input to their output; `post_relu` applies ReLU last."""

    convs: tuple[Conv, ...]
    residual: bool = False
    post_relu: bool = False


@dataclass(frozen=True)
class Skeleton:
    """One of the benchmark's networks: blocks in order, then global pooling and a linear classifier."""

    name: str
    title: str
    max_channels: tuple[int, ...]
    slots: tuple[str, ...]  # a name per searchable layer
    blocks: tuple[Block, ...]
    classifier_in: int  # layer whose width feeds the classifier
    source: str  # name of the ground-truth file in wsnas.benchmarks.xiusu_truth.XIUSU_SOURCES


def _stem() -> Block:
    return Block((Conv(IMAGE, 0, 3, stride=2),))


def _mb(c_in: int, hidden: int, c_out: int, stride: int = 1) -> Block:
    """Inverted residual with expansion width `hidden`; skip when the stride is 1 (c_in is c_out then)."""
    return Block((Conv(c_in, hidden, 1), Conv(hidden, hidden, 3, stride, depthwise=True),
                  Conv(hidden, c_out, 1, relu=False)), residual=stride == 1)


def _rs(c_in: int, hidden: int, c_out: int, stride: int = 1) -> Block:
    """ResNet basic block with middle width `hidden`; skip when the stride is 1; ReLU after the sum."""
    return Block((Conv(c_in, hidden, 3, stride), Conv(hidden, c_out, 3, relu=False)),
                 residual=stride == 1, post_relu=True)


MOBILENET = Skeleton(
    "mobilenet", "MobileNet", (128, 768, 768, 768, 256, 1536, 1024),
    ("stage1", "mb1", "mb2", "mb3", "stage2", "mb4", "head"),
    (_stem(), _mb(0, 1, 0), _mb(0, 2, 0), _mb(0, 3, 4, stride=2), _mb(4, 5, 4), Block((Conv(4, 6, 1),))),
    classifier_in=6, source="channel_bench_macro_mobilenet")
RESNET = Skeleton(
    "resnet", "ResNet", (256, 256, 256, 512, 512, 512, 512),
    ("stage1", "rs1", "rs2", "rs3", "stage2", "rs4", "rs5"),
    (_stem(), _rs(0, 1, 0), _rs(0, 2, 0), _rs(0, 3, 4, stride=2), _rs(4, 5, 4), _rs(4, 6, 4)),
    classifier_in=4, source="channel_bench_macro_resnet")
SKELETONS: dict[str, Skeleton] = {s.name: s for s in (MOBILENET, RESNET)}


def layer_width(max_channels: int, digit: int, width_mult: float = 1.0) -> int:
    """Channels of a layer at width digit 1..4: round(digit * max * width_mult / 4), at least 1 (at
    width_mult 1 exactly the benchmark's round(digit * max / 4))."""
    return max(1, round(digit * max_channels * width_mult / 4))


def check_width_mult(width_mult: float) -> None:
    if not width_mult > 0:
        raise SpaceError(f"model.width_mult={width_mult!r}: the channel multiplier must be > 0 (1.0 = the "
                         f"benchmark's widths, e.g. 0.25 for a quarter-width CPU supernet)")


def widths(skeleton: Skeleton, arch: ArchC, width_mult: float = 1.0) -> tuple[int, ...]:
    """Channels of every searchable layer of `arch`."""
    return tuple(layer_width(c, d, width_mult) for c, d in zip(skeleton.max_channels, arch))


def _out_size(size: int, conv: Conv) -> int:
    pad = conv.kernel // 2
    return (size + 2 * pad - conv.kernel) // conv.stride + 1


def counts(skeleton: Skeleton, arch: ArchC, num_classes: int = NUM_CLASSES) -> tuple[int, int]:
    """Exact (parameters, FLOPs) of `arch` on the benchmark skeleton (see the module docstring)."""
    channels = (*widths(skeleton, arch), 3)  # IMAGE (-1) reads the last entry: the RGB input
    params = flops = 0
    size = IMAGE_SIZE
    for block in skeleton.blocks:
        for conv in block.convs:
            c_in, c_out = channels[conv.c_in], channels[conv.c_out]
            groups = c_out if conv.depthwise else 1
            size = _out_size(size, conv)
            params += conv.kernel ** 2 * c_in * c_out // groups + 2 * c_out
            flops += c_in * c_out * size * size // groups * conv.kernel ** 2
    features = channels[skeleton.classifier_in]
    return params + features * num_classes + num_classes, flops + features * num_classes


class ChannelSpace(SearchSpace):
    """Channel-Bench-Macro on one skeleton: 7 layers x 4 width ratios = 16,384 archs, keys like '4444342'.

    Enumeration is lexicographic over the keys ('1111111' first, '4444444' last); the ground truth's `index`
    is the position in it. Every arch computes its own function, so function_key is the key itself.
    """

    # Affine BN everywhere, as in the benchmark's networks. CPU: a 1/8-width supernet (MobileNet 4..192 channels
    # per layer, ResNet 8..64); both skeletons then cost about the same per image (measured: ~350 training
    # images per CPU-second on one core), so one size fits both.
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "smoke": {"model.width_mult": 0.0625, "model.bn_affine": True},
        "cpu": {"model.width_mult": 0.125, "model.bn_affine": True, "train.epochs": 15, "eval.n_archs": 100},
        "paper": {"model.bn_affine": True},
    }

    def __init__(self, skeleton: Skeleton) -> None:
        self.skeleton = skeleton
        self.name = f"channel-{skeleton.name}"
        self.description = (f"Channel-Bench-Macro {skeleton.title}: {NUM_LAYERS} layers x width ratios "
                            f"0.25/0.5/0.75/1.0 = {self.size():,} archs (CIFAR-10)")

    def parse(self, text: str) -> ArchC:
        hint = (f"expected {NUM_LAYERS} digits from 1-4 (width ratio 0.25/0.5/0.75/1.0 of layers "
                f"{', '.join(self.skeleton.slots)}), e.g. '4444342'")
        if not isinstance(text, str):
            raise ArchError(f"{self.name} arch must be a string, got {type(text).__name__}; {hint}")
        key = text.strip()
        if len(key) != NUM_LAYERS or any(ch not in "1234" for ch in key):
            raise ArchError(f"{self.name} arch {text!r} is not a Channel-Bench-Macro key; {hint}")
        return tuple(int(ch) for ch in key)

    def format(self, arch: ArchC) -> str:
        if len(arch) != NUM_LAYERS or any(d not in CHOICES for d in arch):
            raise ArchError(f"{self.name} arch needs {NUM_LAYERS} width digits from {CHOICES}, got {arch!r}")
        return "".join(map(str, arch))

    def enumerate(self) -> Iterator[ArchC]:
        return iter(itertools.product(CHOICES, repeat=NUM_LAYERS))

    def size(self) -> int:
        return len(CHOICES) ** NUM_LAYERS

    def extremes(self) -> tuple[ArchC, ArchC]:
        return (max(CHOICES),) * NUM_LAYERS, (min(CHOICES),) * NUM_LAYERS

    def slots(self) -> tuple[Slot, ...]:
        """One slot per searchable layer (the skeleton's names), each choosing a width digit 1-4."""
        return tuple(Slot(name, CHOICES) for name in self.skeleton.slots)

    def features(self, arch: ArchC) -> dict[str, Any]:
        """Cost on the benchmark's full-width skeleton (whatever width the supernet was trained at), how many
        layers take each ratio, and the ratio of each named layer."""
        params, flops = counts(self.skeleton, arch)
        features: dict[str, Any] = {"params_M": params / 1e6, "flops_M": flops / 1e6}
        features.update({f"n_ops:{RATIOS[d]}": arch.count(d) for d in CHOICES})
        features.update({f"edge:{slot}": RATIOS[d] for slot, d in zip(self.skeleton.slots, arch)})
        return features

    def ground_truth(self, mirror: str | os.PathLike | None = None) -> GroundTruth:
        return load_seed_table(self, self.skeleton.source, "acc", "mean", f"Channel-Bench-Macro {self.skeleton.title}",
                               mirror)


class ChannelMobileNetSpace(ChannelSpace):
    """Channel-Bench-Macro's MobileNet skeleton: "channel-mobilenet"."""

    def __init__(self) -> None:
        super().__init__(MOBILENET)


class ChannelResNetSpace(ChannelSpace):
    """Channel-Bench-Macro's ResNet skeleton: "channel-resnet"."""

    def __init__(self) -> None:
        super().__init__(RESNET)
