"""TinyConv: a small CIFAR-10 search space written as a wsnas plugin would write it (plain Python, no torch).

The network: a fixed stem (conv 3x3 stride 2, 3 -> 16 channels, BN, ReLU, max-pool 2x2; 32x32 -> 8x8), three
searchable layers at 16 channels and 8x8, global average pooling and a linear classifier 16 -> 10. Small enough
to train on a CPU in seconds. Each layer is one of

    skip      no block: the layer passes its input on unchanged
    k<K>w<W>  a residual bottleneck block: conv KxK 16 -> W, BN, ReLU, conv 1x1 W -> 16, BN, added to the input,
              then ReLU; kernel K in {1, 3, 5}, width W in {8, 16}

so 7 choices per layer and 7^3 = 343 archs. An arch is the tuple of the three choices; its canonical key joins
them with '-' ('k3w16-skip-k5w8'). Every BN is affine; convolutions have no bias.
"""
from __future__ import annotations

import itertools
import re
from typing import Any, Iterator

from wsnas.benchmarks.space import ArchError, SearchSpace, Slot

KERNELS = (1, 3, 5)
WIDTHS = (8, 16)
SKIP = "skip"
CHOICES: tuple[str, ...] = (SKIP, *(f"k{k}w{w}" for k in KERNELS for w in WIDTHS))
NUM_LAYERS = 3
CHANNELS = 16      # between layers (stem output, block input and output)
STEM_RESOLUTION = 16  # output of the stem's stride-2 conv on CIFAR-10's 32x32
RESOLUTION = 8     # of the searchable layers (after the stem's max-pool)
NUM_CLASSES = 10
EXAMPLE_KEY = "k3w16-skip-k5w8"

ArchTiny = tuple[str, ...]


def block_shape(choice: str) -> tuple[int, int]:
    """(kernel, width) of a block choice such as 'k3w16'."""
    kernel, width = choice[1:].split("w")
    return int(kernel), int(width)


def parse_arch(text: str) -> ArchTiny:
    """Decode a key: three choices separated by '-', ',' or spaces, any case ('K3W16, skip, k5w8' works too)."""
    if not isinstance(text, str):
        raise ArchError(f"TinyConv arch must be a string, got {type(text).__name__}")
    parts = tuple(p for p in re.split(r"[-,\s]+", text.strip().lower()) if p)
    if len(parts) != NUM_LAYERS or any(p not in CHOICES for p in parts):
        raise ArchError(f"TinyConv arch {text!r}: expected {NUM_LAYERS} choices from {', '.join(CHOICES)} joined "
                        f"by '-', e.g. {EXAMPLE_KEY!r}")
    return parts


def format_arch(arch: ArchTiny) -> str:
    """The canonical key of an arch."""
    if len(arch) != NUM_LAYERS or any(c not in CHOICES for c in arch):
        raise ArchError(f"TinyConv arch needs {NUM_LAYERS} choices from {CHOICES}, got {arch!r}")
    return "-".join(arch)


def cost(arch: ArchTiny) -> tuple[int, int]:
    """(parameters, FLOPs) of the network, counted analytically: parameters are conv weights, BN weight and bias,
    linear weight and bias; FLOPs are the multiply-adds of the convolutions and the classifier."""
    pixels = RESOLUTION * RESOLUTION
    stem = 3 * CHANNELS * 9
    params, flops = stem + 2 * CHANNELS, stem * STEM_RESOLUTION * STEM_RESOLUTION
    for choice in arch:
        if choice != SKIP:
            kernel, width = block_shape(choice)
            weights = CHANNELS * width * kernel * kernel + width * CHANNELS
            params += weights + 2 * width + 2 * CHANNELS
            flops += weights * pixels
    return params + CHANNELS * NUM_CLASSES + NUM_CLASSES, flops + CHANNELS * NUM_CLASSES


class TinyConvSpace(SearchSpace):
    """3 layers x {skip, k1/k3/k5 at width 8/16} = 343 CIFAR-10 networks."""

    name = "tinyconv"
    description = "TinyConv (worked plugin example): 3 layers x {skip, conv k1/k3/k5 x width 8/16} = 343 archs"
    # Config values at each preset, applied over the global preset whenever --space tinyconv. The global smoke
    # preset is small enough already (seconds); cpu trains on 2,500 images, so that standalone ground truth for
    # its 40 archs x 2 seeds (`wsnas standalone`) takes about half an hour on 2 cores; paper covers the space.
    presets = {
        "smoke": {},
        "cpu": {"data.n_train": 2500, "train.epochs": 10, "eval.n_archs": 40},
        "paper": {"train.epochs": 100, "eval.n_archs": None},
    }

    def parse(self, text: str) -> ArchTiny:
        return parse_arch(text)

    def format(self, arch: ArchTiny) -> str:
        return format_arch(arch)

    def enumerate(self) -> Iterator[ArchTiny]:
        return iter(itertools.product(CHOICES, repeat=NUM_LAYERS))

    def size(self) -> int:
        return len(CHOICES) ** NUM_LAYERS

    def function_key(self, arch: ArchTiny) -> str:
        """A skip layer is a no-op and every layer has the same shape, so only the order of the blocks matters:
        'skip-k3w8-k1w16' builds the same network as 'k3w8-k1w16-skip'. The key moves skips to the end
        (343 strings, 259 functions). In the supernet each layer position keeps its own weights, so isomorphic
        archs share the ground truth of a standalone network, not supernet weights."""
        blocks = [c for c in arch if c != SKIP]
        return format_arch((*blocks, *[SKIP] * (NUM_LAYERS - len(blocks))))

    def features(self, arch: ArchTiny) -> dict[str, Any]:
        """Size (millions) of the network as trained, how many layers carry each choice, the choice per layer."""
        params, flops = cost(arch)
        features: dict[str, Any] = {"params_M": params / 1e6, "flops_M": flops / 1e6}
        features.update({f"n_ops:{c}": arch.count(c) for c in CHOICES})
        features.update({f"edge:{layer}": c for layer, c in enumerate(arch)})
        return features

    def slots(self) -> tuple[Slot, ...]:
        """One slot per layer, each choosing one of CHOICES: what the search methods (`wsnas search`) size their
        arch parameters or controller from."""
        return tuple(Slot(f"layer {i}", CHOICES) for i in range(NUM_LAYERS))

    def extremes(self) -> tuple[ArchTiny, ArchTiny]:
        """(the widest 5x5 block everywhere, no block at all): the most and the fewest parameters."""
        return (f"k{KERNELS[-1]}w{WIDTHS[-1]}",) * NUM_LAYERS, (SKIP,) * NUM_LAYERS
