"""Device, precision and memory-format choices, resolved once per run and logged.

Memory layouts (runtime.channels_last): `contiguous` (NCHW), `channels_last` (NHWC: every convolution and the
input batches), and `wide`: channels_last only on convolutions with at least WIDE_CHANNELS output channels, the
narrower ones and the input batches contiguous. On a CPU, bf16 channels_last convolutions are faster at every
width, but the per-channel kernels around them (batch norm, in training and in inference) fall off their
vector path below 16 channels: at 8 channels, 32x32, batch 64, bf16 batch norm's forward and backward took 4.93
ms in channels_last against 0.90 ms contiguous (`wsnas bench`'s layout section; a 2-core Xeon, 2 threads), which
made a C=8 NAS-Bench-201 step slower in channels_last than contiguous. `wide` keeps the fast half of each."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import ContextManager

import torch
from torch import nn

from wsnas.core.config import RuntimeConfig
from wsnas.core.errors import WsnasError

LAYOUTS = ("contiguous", "channels_last", "wide")
WIDE_CHANNELS = 16  # `wide`: convolutions with at least this many output channels go channels_last


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    amp_dtype: torch.dtype | None     # autocast dtype, None = full precision
    layout: str = "contiguous"        # one of LAYOUTS
    source: str = "config"            # how amp and the layout were chosen: config, or autotune's (autotune.py)

    def autocast(self) -> ContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    @property
    def batches_channels_last(self) -> bool:
        """Whether input batches go channels_last (the `channels_last` layout; `wide` keeps them contiguous)."""
        return self.layout == "channels_last"

    @property
    def batch_format(self) -> torch.memory_format:
        """The input batches' memory format."""
        return batch_format(self.layout)

    def place(self, model: nn.Module) -> nn.Module:
        """`model` on the device in this runtime's layout (apply_layout)."""
        return apply_layout(model.to(self.device), self.layout)

    @property
    def amp(self) -> str:
        """The autocast precision as runtime.amp spells it: off or bf16."""
        return str(self.amp_dtype).replace("torch.", "").replace("bfloat16", "bf16") if self.amp_dtype else "off"

    def describe(self) -> dict[str, str | bool]:
        """For logs and records; "amp" is torch's dtype name (bfloat16, or off), as score sets hash it."""
        return {"device": str(self.device),
                "amp": str(self.amp_dtype).replace("torch.", "") if self.amp_dtype else "off",
                "layout": self.layout, "threads": str(torch.get_num_threads()), "chosen_by": self.source}


def resolve_runtime(cfg: RuntimeConfig) -> Runtime:
    """Turn `auto` settings into concrete ones: GPU when present, bf16 autocast and channels_last on GPU, full
    precision and the contiguous format on CPU (`autotuned_runtime` measures the CPU's choice instead)."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if cfg.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            device = torch.device(cfg.device)
        except RuntimeError:
            raise WsnasError(f"runtime.device={cfg.device!r} is not a device; use auto, cpu or cuda[:i]") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise WsnasError(f"runtime.device={cfg.device!r} but torch sees no CUDA GPU; use --device cpu or auto")
    on_gpu = device.type == "cuda"
    amp = {"auto": torch.bfloat16 if on_gpu else None, "off": None, "bf16": torch.bfloat16}
    if cfg.amp not in amp:
        raise WsnasError(f"runtime.amp={cfg.amp!r}; use auto, off or bf16")
    layouts = {"auto": "channels_last" if on_gpu else "contiguous", "on": "channels_last", "off": "contiguous",
               "wide": "wide"}
    if cfg.channels_last not in layouts:
        raise WsnasError(f"runtime.channels_last={cfg.channels_last!r}; use auto, on, off or wide")
    return Runtime(device=device, amp_dtype=amp[cfg.amp], layout=layouts[cfg.channels_last])


def batch_format(layout: str) -> torch.memory_format:
    """The memory format of input batches under `layout` (channels_last only in the `channels_last` layout)."""
    return torch.channels_last if layout == "channels_last" else torch.contiguous_format


def apply_layout(model: nn.Module, layout: str) -> nn.Module:
    """Lay out `model`'s convolution weights (in place) for `layout`; a convolution's output follows its weight's
    format, so this sets the activations' layout too (torch's oneDNN convolutions run channels_last when the input
    or the weight is)."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout {layout!r}; one of {LAYOUTS}")
    if layout != "wide":
        return model.to(memory_format=torch.channels_last if layout == "channels_last" else torch.contiguous_format)
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            wide = module.out_channels >= WIDE_CHANNELS
            module.to(memory_format=torch.channels_last if wide else torch.contiguous_format)
    return model
