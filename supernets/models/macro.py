"""NAS-Bench-Macro networks (skeleton: wsnas.benchmarks.spaces.macro.space): the weight-sharing supernet and
standalone nets.

Every layer position holds its own candidate blocks; a path runs exactly one per layer, and an identity at a
stride-1 layer is no module at all (it costs nothing). Blocks are built as the benchmark's train/model.py builds
them (affine BatchNorm throughout), so a standalone net at width_mult 1.0 has the table's parameter count.
The supernet also runs the search methods' relaxed archs (wsnas.supernets.selection): a layer entry may mix its
blocks (a no-op identity contributes its input) or pick one with a straight-through weight.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from wsnas.benchmarks.spaces.macro.space import MB_SHAPES, OPS, ArchMacro, Layer, skeleton
from wsnas.supernets.selection import is_discrete, run_entry
from wsnas.supernets.stages import IMAGES, Step


def _conv_bn(c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1, relu: bool = True) -> list[nn.Module]:
    layers = [nn.Conv2d(c_in, c_out, k, stride, padding=k // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out)]
    return layers + [nn.ReLU(inplace=True)] if relu else layers


class InvertedResidual(nn.Module):
    """MobileNetV2 block: pw expand, dw k x k (carries the stride), pw project; residual when shapes match."""

    def __init__(self, layer: Layer, expansion: int, k: int) -> None:
        super().__init__()
        hidden = layer.c_in * expansion
        self.conv = nn.Sequential(*_conv_bn(layer.c_in, hidden, 1),
                                  *_conv_bn(hidden, hidden, k, layer.stride, groups=hidden),
                                  *_conv_bn(hidden, layer.c_out, 1, relu=False))
        self.residual = layer.identity_is_noop

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) + x if self.residual else self.conv(x)


def make_block(op: str, layer: Layer) -> nn.Module | None:
    """One candidate of a layer; None for an identity that is a no-op (else a 1x1 stride-2 projection + BN)."""
    if op == "identity":
        return None if layer.identity_is_noop else nn.Sequential(*_conv_bn(layer.c_in, layer.c_out, 1, layer.stride,
                                                                           relu=False))
    return InvertedResidual(layer, *MB_SHAPES[op])


def _candidates(layer: Layer, ops: tuple[str, ...]) -> nn.ModuleDict:
    return nn.ModuleDict({op: block for op in ops if (block := make_block(op, layer)) is not None})


class _MacroNet(nn.Module):
    """Stem, 8 layers of candidate blocks (`ops_at(i)` names those built at layer i), head and classifier."""

    def __init__(self, width_mult: float, num_classes: int, ops_at: Callable[[int], tuple[str, ...]]) -> None:
        super().__init__()
        net = skeleton(width_mult)
        self.width_mult, self.num_classes = width_mult, num_classes
        self.stem = nn.Sequential(*_conv_bn(3, net.stem, 3))
        self.layers = nn.ModuleList(_candidates(layer, ops_at(i)) for i, layer in enumerate(net.layers))
        self.head = nn.Sequential(*_conv_bn(net.layers[-1].c_out, net.head, 1), nn.AdaptiveAvgPool2d(1))
        self.classifier = nn.Linear(net.head, num_classes)

    def _run(self, x: torch.Tensor, arch: ArchMacro) -> torch.Tensor:
        x = self.stem(x)
        if is_discrete(arch):
            for blocks, op in zip(self.layers, arch):
                if op in blocks:  # absent: a no-op identity
                    x = blocks[op](x)
        else:
            for blocks, entry in zip(self.layers, arch):
                x = run_entry(entry, lambda op, h=x, blocks=blocks: blocks[op](h) if op in blocks else h)
        return self.classifier(self.head(x).flatten(1))


class MacroSupernet(_MacroNet):
    """Weight-sharing supernet over all 6,561 archs: `forward(x, arch)` runs one block per layer."""

    def __init__(self, width_mult: float = 1.0, num_classes: int = 10) -> None:
        super().__init__(width_mult, num_classes, lambda i: OPS)

    def forward(self, x: torch.Tensor, arch: ArchMacro) -> torch.Tensor:  # type: ignore[override]
        return self._run(x, arch)

    def stages(self, arch: ArchMacro) -> list[Step]:
        """`forward(x, arch)` as steps for scoring many archs at once (wsnas.supernets.stages): the stem, then one
        step per layer that runs a block, keyed by the arch up to that layer, then the head."""
        steps = [Step(("stem",), self.stem, (IMAGES,), (self.stem,))]
        for i, (blocks, op) in enumerate(zip(self.layers, arch)):
            if op in blocks:  # absent: a no-op identity, the previous output goes on
                steps.append(Step(("layer", tuple(arch[:i + 1])), blocks[op], (steps[-1].key,), (blocks[op],)))
        steps.append(Step(("out", tuple(arch)), lambda x: self.classifier(self.head(x).flatten(1)), (steps[-1].key,),
                          (self.head,)))
        return steps


class MacroNetwork(_MacroNet):
    """A standalone NAS-Bench-Macro network (module names match MacroSupernet for weight transfer)."""

    def __init__(self, arch: ArchMacro, width_mult: float = 1.0, num_classes: int = 10) -> None:
        super().__init__(width_mult, num_classes, lambda i: (arch[i],))
        self.arch = tuple(arch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self._run(x, self.arch)


def extract_subnet(supernet: MacroSupernet, arch: ArchMacro) -> MacroNetwork:
    """A standalone network for `arch` with the supernet's weights and BN buffers copied in."""
    net = MacroNetwork(arch, supernet.width_mult, supernet.num_classes)
    source = supernet.state_dict()
    net.load_state_dict({name: source[name].clone() for name in net.state_dict()})
    return net.to(next(supernet.parameters()).device)
