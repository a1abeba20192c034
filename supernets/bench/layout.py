"""`wsnas bench`'s layout measurement: forward + backward milliseconds of a batch norm and of a ReLU-conv3x3 at
each NB201 stage's width and resolution, contiguous against channels_last, interleaved: what the autotune's
`wide` layout rests on (wsnas.supernets.runtime)."""
from __future__ import annotations

import itertools
from typing import Any

from wsnas.core.config import Config
from wsnas.supernets.bench.measure import interleave, summary, timed
from wsnas.supernets.bench.sizes import Shape, shape_config, silent


def layout_ops(base: Config, shape: Shape, rounds: int, repeats: int = 20) -> dict[str, Any]:
    """Forward + backward ms of BatchNorm2d (training mode) and of ReLU-conv3x3 at each stage of `shape` (C, 2C, 4C
    channels at 32, 16, 8 pixels), contiguous against channels_last, at the autotuned training precision (inputs
    and gradients in that precision and layout, as inside the network): the median over interleaved rounds of the
    mean of `repeats` calls."""
    import torch
    from torch import nn

    from wsnas.supernets.autotune import autotuned_runtime

    rt = autotuned_runtime(shape_config(base, shape), "train", None, log=silent)
    formats = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}
    stages = []
    for channels, pixels in ((shape.C, 32), (2 * shape.C, 16), (4 * shape.C, 8)):
        ops = {"batch_norm": lambda c=channels: nn.BatchNorm2d(c, affine=False),
               "relu_conv3x3": lambda c=channels: nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, 3, padding=1, bias=False))}
        runs = {}
        for (op, make), (fmt, memory_format) in itertools.product(ops.items(), formats.items()):
            torch.manual_seed(0)
            module = make().to(rt.device, memory_format=memory_format)  # one module per layout
            x = torch.randn(shape.batch, channels, pixels, pixels, device=rt.device,  # as a conv's output gives it
                            dtype=rt.amp_dtype or torch.float32).contiguous(memory_format=memory_format).requires_grad_()
            with rt.autocast():
                grad = torch.randn_like(module(x))  # a gradient in the output's dtype and layout, as in a network

            def run(_round: int, module: nn.Module = module, x: torch.Tensor = x, grad: torch.Tensor = grad) -> float:
                with timed(rt.device) as t:
                    for _ in range(repeats):
                        with rt.autocast():
                            out = module(x)
                        out.backward(grad)
                return 1000 * t["seconds"] / repeats

            run(-1)  # warm-up: oneDNN builds its kernels for the shape
            runs[f"{op}/{fmt}"] = run
        ms = {name: summary(values) for name, values in interleave(runs, rounds).items()}
        stages.append({"channels": channels, "pixels": pixels, "ms": ms})
    return {"shape": shape.name, "batch": shape.batch, "amp": rt.amp, "stages": stages}
