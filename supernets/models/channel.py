"""Channel-Bench-Macro networks: the slimmable (channel-slicing) supernet and standalone subnets.

Both are built from the skeleton description in wsnas.benchmarks.spaces.channel.space, so the graph (stem, MB or ResNet
blocks, skips, head) is written once. Weight sharing is by slicing: every conv holds the weights of its layers'
widest choice, and a path at width w uses the first w output (and input) channels; the classifier uses the
first inputs. Widths follow the benchmark's rounding, `layer_width` (at model.width_mult 1.0 exactly the
benchmark's networks; below it, every layer narrowed by the same factor for a cheaper supernet).

BatchNorm is switchable, as in Slimmable Networks (Yu et al., 2019): every BN position has one plain
BatchNorm2d per width choice of the layer that sets its channels, selected by that layer's digit, so a narrow
path is never normalised with statistics or affine parameters shaped by the wide paths (Slimmable Networks'
reason for private BN; a shared, sliced BN would also need recalibration to be usable, and `inherit` would then
read statistics mixed over all widths). They are stock BatchNorm2d modules, so wsnas's BN policies apply unchanged:
`recalibrate` resets every BN and re-estimates the ones on the arch's path (the others are not used by the
path), `inherit` uses each width's running statistics from training (averaged over the other layers' choices),
`batch` the evaluation batch's. A standalone subnet keeps only its path's BN per position, with the same
module names, so `extract_subnet` copies the supernet's tensors by name, each cut to the subnet's shape.
"""
from __future__ import annotations

import functools
from typing import Any, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from wsnas.benchmarks.spaces.channel.space import (CHOICES, ArchC, Block, Conv, Skeleton, check_width_mult, layer_width,
                                                   widths)
from wsnas.supernets.stages import IMAGES, Step

Candidates = tuple[dict[int, int], ...]  # per searchable layer: width digit -> channels


class SlicedConv(nn.Conv2d):
    """A bias-free conv holding its widest weights; `forward(x, c_out)` uses the first c_out filters over the
    channels of x (a depthwise conv: the first c_out groups)."""

    def __init__(self, conv: Conv, c_in: int, c_out: int) -> None:
        super().__init__(c_in, c_out, conv.kernel, conv.stride, padding=conv.kernel // 2, bias=False,
                         groups=c_out if conv.depthwise else 1)
        self.depthwise = conv.depthwise

    def forward(self, x: torch.Tensor, c_out: int) -> torch.Tensor:  # type: ignore[override]
        weight = self.weight[:c_out] if self.depthwise else self.weight[:c_out, :x.shape[1]]
        return F.conv2d(x, weight, None, self.stride, self.padding, groups=c_out if self.depthwise else 1)


class SwitchableBN(nn.ModuleDict):
    """One BatchNorm2d per width digit (keys '1'..'4'), each exactly as wide as that choice."""

    def __init__(self, choices: dict[int, int], affine: bool) -> None:
        super().__init__({str(d): nn.BatchNorm2d(c, affine=affine) for d, c in choices.items()})


class SlimBlock(nn.Module):
    """A skeleton block: convs in sequence, each with its switchable BN and optional ReLU, then skip / ReLU."""

    def __init__(self, block: Block, candidates: Candidates, affine: bool) -> None:
        super().__init__()
        self.block = block
        widest = [max(choices.values()) for choices in candidates] + [3]  # IMAGE (-1): the RGB input
        self.convs = nn.ModuleList(SlicedConv(c, widest[c.c_in], widest[c.c_out]) for c in block.convs)
        self.bns = nn.ModuleList(SwitchableBN(candidates[c.c_out], affine) for c in block.convs)

    def forward(self, x: torch.Tensor, arch: ArchC, channels: Sequence[int]) -> torch.Tensor:
        out = x
        for spec, conv, bn in zip(self.block.convs, self.convs, self.bns):
            out = bn[str(arch[spec.c_out])](conv(out, channels[spec.c_out]))
            if spec.relu:
                out = F.relu(out)
        if self.block.residual:
            out = out + x
        return F.relu(out) if self.block.post_relu else out


class ChannelNet(nn.Module):
    """The skeleton with, per layer, the width choices in `candidates`; `_run(x, arch)` runs one arch."""

    def __init__(self, skeleton: Skeleton, candidates: Candidates, num_classes: int, affine: bool) -> None:
        super().__init__()
        self.skeleton, self.candidates, self.num_classes, self.affine = skeleton, candidates, num_classes, affine
        self.blocks = nn.ModuleList(SlimBlock(b, candidates, affine) for b in skeleton.blocks)
        self.classifier = nn.Linear(max(candidates[skeleton.classifier_in].values()), num_classes)

    def _run(self, x: torch.Tensor, arch: ArchC) -> torch.Tensor:
        channels = [self.candidates[layer][d] for layer, d in enumerate(arch)]
        for block in self.blocks:
            x = block(x, arch, channels)
        return self._classify(x)

    def _classify(self, x: torch.Tensor) -> torch.Tensor:
        """Global average pooling, then the classifier's first inputs."""
        features = x.mean((2, 3))
        return F.linear(features, self.classifier.weight[:, :features.shape[1]], self.classifier.bias)


class ChannelSupernet(ChannelNet):
    """Slimmable supernet over all 4^7 width configs: `forward(x, arch)` computes only the arch's channels."""

    def __init__(self, skeleton: Skeleton, width_mult: float = 1.0, num_classes: int = 10,
                 affine: bool = True) -> None:
        check_width_mult(width_mult)
        candidates = tuple({d: layer_width(c, d, width_mult) for d in CHOICES} for c in skeleton.max_channels)
        super().__init__(skeleton, candidates, num_classes, affine)
        self.width_mult = width_mult

    def forward(self, x: torch.Tensor, arch: ArchC) -> torch.Tensor:  # type: ignore[override]
        return self._run(x, arch)

    def stages(self, arch: ArchC) -> list[Step]:
        """`forward(x, arch)` as steps for scoring many archs at once (wsnas.supernets.stages): one step per
        block, keyed by the width digits of every layer it and the blocks before it use, then the classifier."""
        channels = [self.candidates[layer][d] for layer, d in enumerate(arch)]
        used: set[int] = set()
        steps: list[Step] = []
        for b, block in enumerate(self.blocks):
            used |= {layer for conv in block.block.convs for layer in (conv.c_in, conv.c_out) if layer >= 0}
            steps.append(Step(("block", b, tuple((layer, arch[layer]) for layer in sorted(used))),
                              functools.partial(block, arch=arch, channels=channels),
                              (steps[-1].key if steps else IMAGES,), (block,)))
        steps.append(Step(("out", tuple(arch)), self._classify, (steps[-1].key,), ()))
        return steps


class ChannelNetwork(ChannelNet):
    """A standalone network for one arch (at width_mult 1.0, the benchmark's network for that key)."""

    def __init__(self, skeleton: Skeleton, arch: ArchC, width_mult: float = 1.0, num_classes: int = 10,
                 affine: bool = True) -> None:
        check_width_mult(width_mult)
        channels = widths(skeleton, arch, width_mult)
        super().__init__(skeleton, tuple({d: c} for d, c in zip(arch, channels)), num_classes, affine)
        self.arch = tuple(arch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self._run(x, self.arch)


def extract_subnet(supernet: ChannelSupernet, arch: Any) -> ChannelNetwork:
    """A standalone network for `arch` with the supernet's sliced weights and its path's BN buffers copied in."""
    net = ChannelNetwork(supernet.skeleton, arch, supernet.width_mult, supernet.num_classes, supernet.affine)
    source = supernet.state_dict()
    net.load_state_dict({name: source[name][tuple(slice(0, n) for n in tensor.shape)].clone()
                         for name, tensor in net.state_dict().items()})
    return net.to(next(supernet.parameters()).device)
