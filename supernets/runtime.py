"""Device, precision and memory-format choices, resolved once per run and logged."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import ContextManager

import torch

from wsnas.config import RuntimeConfig
from wsnas.errors import WsnasError


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    amp_dtype: torch.dtype | None     # autocast dtype, None = full precision
    channels_last: bool
    source: str = "config"            # how amp and channels_last were chosen: config, or autotune's (autotune.py)

    def autocast(self) -> ContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    @property
    def amp(self) -> str:
        """The autocast precision as runtime.amp spells it: off or bf16."""
        return str(self.amp_dtype).replace("torch.", "").replace("bfloat16", "bf16") if self.amp_dtype else "off"

    def describe(self) -> dict[str, str | bool]:
        """For logs and records; "amp" is torch's dtype name (bfloat16, or off), as score sets hash it."""
        return {"device": str(self.device),
                "amp": str(self.amp_dtype).replace("torch.", "") if self.amp_dtype else "off",
                "channels_last": self.channels_last, "threads": str(torch.get_num_threads()), "chosen_by": self.source}


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
    cl = {"auto": on_gpu, "on": True, "off": False}
    if cfg.channels_last not in cl:
        raise WsnasError(f"runtime.channels_last={cfg.channels_last!r}; use auto, on or off")
    return Runtime(device=device, amp_dtype=amp[cfg.amp], channels_last=cl[cfg.channels_last])
