"""TinyConv networks in torch: the weight-sharing supernet and the standalone network of one arch.

Every layer position holds its own six candidate blocks; `TinyConvSupernet(x, arch)` runs one per layer (a
skip runs none). `extract_subnet` copies a path's weights into a `TinyConvNetwork`, whose module names match.
The supernet also runs the search methods' relaxed archs (a layer entry that mixes its choices or picks one with a
straight-through weight, wsnas.supernets.selection), so plugin.py registers it with `relaxed=True`.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from wsnas.supernets.selection import is_discrete, run_entry

from .space import CHANNELS, CHOICES, NUM_LAYERS, SKIP, ArchTiny, block_shape


class Block(nn.Module):
    """Residual bottleneck: conv KxK CHANNELS -> W, BN, ReLU, conv 1x1 W -> CHANNELS, BN; + input, ReLU."""

    def __init__(self, kernel: int, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(CHANNELS, width, kernel, padding=kernel // 2, bias=False), nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, CHANNELS, 1, bias=False), nn.BatchNorm2d(CHANNELS),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


class _TinyNet(nn.Module):
    """Stem, NUM_LAYERS layers of candidate blocks (`choices_at(i)` names those built at layer i), classifier."""

    def __init__(self, num_classes: int, choices_at: Callable[[int], tuple[str, ...]]) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.stem = nn.Sequential(nn.Conv2d(3, CHANNELS, 3, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(CHANNELS), nn.ReLU(inplace=True), nn.MaxPool2d(2))
        self.layers = nn.ModuleList(
            nn.ModuleDict({c: Block(*block_shape(c)) for c in choices_at(i) if c != SKIP}) for i in range(NUM_LAYERS))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(CHANNELS, num_classes)

    def _run(self, x: torch.Tensor, arch: ArchTiny) -> torch.Tensor:
        x = self.stem(x)
        if is_discrete(arch):
            for blocks, choice in zip(self.layers, arch):
                if choice != SKIP:
                    x = blocks[choice](x)
        else:  # a search method's entries: skip contributes the layer's input
            for blocks, entry in zip(self.layers, arch):
                x = run_entry(entry, lambda c, h=x, blocks=blocks: h if c == SKIP else blocks[c](h))
        return self.classifier(self.pool(x).flatten(1))


class TinyConvSupernet(_TinyNet):
    """All 343 archs in one module: `forward(x, arch)` runs exactly one path."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__(num_classes, lambda i: CHOICES)

    def forward(self, x: torch.Tensor, arch: ArchTiny) -> torch.Tensor:  # type: ignore[override]
        return self._run(x, arch)


class TinyConvNetwork(_TinyNet):
    """The standalone network of one arch."""

    def __init__(self, arch: ArchTiny, num_classes: int = 10) -> None:
        super().__init__(num_classes, lambda i: (arch[i],))
        self.arch = tuple(arch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self._run(x, self.arch)


def extract_subnet(supernet: TinyConvSupernet, arch: ArchTiny) -> TinyConvNetwork:
    """The standalone network of `arch` with the supernet's weights and BN buffers copied in."""
    net = TinyConvNetwork(arch, supernet.num_classes)
    source = supernet.state_dict()
    net.load_state_dict({name: source[name].clone() for name in net.state_dict()})
    return net.to(next(supernet.parameters()).device)
