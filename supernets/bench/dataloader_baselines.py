"""What `wsnas bench` measures wsnas against: a torchvision-style DataLoader pipeline with per-image transforms,
a plain supernet training loop, xautodl's NAS-Bench-201 random-sampling supernet, and a naive subnet evaluator.
(The free ranking baselines of the analysis are another thing: wsnas.analysis.free_baselines.)

torchvision is not a dependency, so the per-image transforms are written here with PIL and torch the way
torchvision runs them (in `Dataset.__getitem__`, one image at a time): RandomCrop(32, padding=4) pads the PIL
image with zeros and crops at a torch.randint offset, RandomHorizontalFlip transposes the PIL image with
probability 1/2, ToTensor copies the PIL image into a CHW float tensor. Normalize is folded into one
multiply-add with wsnas's own constants (x * 1/(255 std) - mean/std, the arithmetic of the on-device
pipeline), so both pipelines feed bit-identical images and the naive evaluator can be checked for equal results.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
import torch
from PIL import Image, ImageOps
from torch import nn
from torch.autograd.profiler import record_function
from torch.utils.data import DataLoader, Dataset

from wsnas.benchmarks.spaces.nb201.cell import EDGES, NUM_NODES, OPS, Arch201
from wsnas.core.errors import WsnasError
from wsnas.supernets.cifar10 import CIFAR10_MEAN, CIFAR10_STD
from wsnas.supernets.evaluate import batch_norms
from wsnas.supernets.runtime import Runtime, apply_layout

XAUTODL_HINT = "pip install --no-deps xautodl"
Batch = tuple[torch.Tensor, torch.Tensor]


class XautodlMissing(WsnasError):
    """The xautodl package (the peer supernet) is not installed."""


# ------------------------------------------------------------------------------------- DataLoader pipeline


class PerImageTransform:
    """One uint8 HWC image to a normalised CHW float tensor, with optional torchvision-style augmentation."""

    def __init__(self, augment: bool, padding: int = 4) -> None:
        self.augment, self.padding = augment, padding
        self.scale = (1.0 / (255.0 * torch.tensor(CIFAR10_STD))).view(3, 1, 1)
        self.shift = (torch.tensor(CIFAR10_MEAN) / torch.tensor(CIFAR10_STD)).view(3, 1, 1)

    def __call__(self, image: Image.Image) -> torch.Tensor:
        if self.augment:
            width, height = image.size
            image = ImageOps.expand(image, border=self.padding, fill=0)
            top, left = torch.randint(0, 2 * self.padding + 1, (2,)).tolist()
            image = image.crop((left, top, left + width, top + height))
            if torch.rand(1).item() < 0.5:
                image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        tensor = torch.from_numpy(np.array(image, dtype=np.uint8, copy=True)).permute(2, 0, 1).contiguous()
        return tensor.float() * self.scale - self.shift


class ImageDataset(Dataset):
    """uint8 (N, H, W, 3) images and labels, decoded to PIL and transformed one image per __getitem__."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform: PerImageTransform) -> None:
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(Image.fromarray(self.images[i])), int(self.labels[i])


def host_images(data: Any) -> tuple[np.ndarray, np.ndarray]:
    """A DeviceImages split as host uint8 (N, H, W, 3) images and int64 labels (what a DataLoader reads)."""
    return data.images.permute(0, 2, 3, 1).cpu().numpy(), data.labels.cpu().numpy()


def make_loader(images: np.ndarray, labels: np.ndarray, batch_size: int, *, augment: bool, workers: int,
                rt: Runtime, shuffle: bool = False, seed: int = 0, order: Sequence[int] | None = None,
                drop_last: bool = False) -> DataLoader:
    """A torchvision-style DataLoader: per-image transforms, default collate, DataLoader defaults otherwise (so
    with workers, each pass over it starts them anew, as in a script that iterates one loader repeatedly).

    `order` fixes the indices read, in that order (no shuffling); `shuffle` draws a seeded permutation.
    """
    return DataLoader(ImageDataset(images, labels, PerImageTransform(augment)), batch_size=batch_size,
                      shuffle=shuffle, sampler=list(order) if order is not None else None, num_workers=workers,
                      drop_last=drop_last, pin_memory=rt.device.type == "cuda",
                      generator=torch.Generator().manual_seed(seed))


def to_device(batch: Batch, rt: Runtime) -> Batch:
    x, y = batch
    return (x.to(rt.device, non_blocking=True, memory_format=rt.batch_format),
            y.to(rt.device, non_blocking=True))


# ------------------------------------------------------------------------------------------ training loop


def train_steps(model: nn.Module, batches: Iterator[Batch], sample_arch: Callable[[], Any], opt, sched,
                rt: Runtime, grad_clip: float, steps: int, bar: Any = None) -> None:
    """`steps` SGD steps of a supernet called as `model(x, arch)`, one sampled path per step (as in
    wsnas.supernets.train), each phase labelled for torch.profiler: data, forward, backward, optimizer."""
    criterion = nn.CrossEntropyLoss()
    model.train()
    for _ in range(steps):
        with record_function("data"):
            x, y = to_device(next(batches), rt)
        arch = sample_arch()
        with record_function("forward"), rt.autocast():
            loss = criterion(model(x, arch), y)
        with record_function("backward"):
            opt.zero_grad(set_to_none=True)
            loss.backward()
        with record_function("optimizer"):
            if grad_clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            opt.step()
            sched.step()
        if bar is not None:
            bar.update(1)


# --------------------------------------------------------------------------------------- xautodl adapter


class XautodlNB201(nn.Module):
    """xautodl's TinyNetworkRANDOM (the NAS-Bench-201 random-sampling supernet of Li & Talwalkar's RSWS, as the
    benchmark's authors ship it) called as `model(x, arch)`: the arch becomes its `arch_cache` (what its own
    `random_genotype(set_cache=True)` sets each step) and the logits are returned."""

    def __init__(self, C: int, N: int, num_classes: int) -> None:
        super().__init__()
        try:
            from xautodl.models.cell_operations import SearchSpaceNames
            from xautodl.models.cell_searchs import TinyNetworkRANDOM
            from xautodl.models.cell_searchs.genotypes import Structure
        except ImportError as exc:
            raise XautodlMissing(f"xautodl is not importable ({exc}); install it with `{XAUTODL_HINT}` (its "
                                 f"metadata pins an old numpy, so without its dependencies)") from None
        if list(SearchSpaceNames["nas-bench-201"]) != list(OPS):
            raise XautodlMissing(f"this xautodl's NAS-Bench-201 ops {SearchSpaceNames['nas-bench-201']} differ "
                                 f"from {list(OPS)}; install the PyPI release with `{XAUTODL_HINT}`")
        self.structure = Structure
        self.net = TinyNetworkRANDOM(C, N, NUM_NODES, num_classes, list(OPS), affine=False,
                                     track_running_stats=True)

    def genotype(self, arch: Arch201) -> Any:
        """The xautodl Structure of an arch (node by node, (op, input) pairs)."""
        ops = dict(zip(EDGES, arch))
        return self.structure([tuple((ops[(j, i)], i) for i in range(j)) for j in range(1, NUM_NODES)])

    def forward(self, x: torch.Tensor, arch: Arch201) -> torch.Tensor:
        self.net.arch_cache = self.genotype(arch)
        return self.net(x)[1]


# -------------------------------------------------------------------------------------- naive evaluator


class NaiveEvaluator:
    """Scores a subnet the usual way: build the standalone network and load the supernet's weights into it,
    reset its BN statistics and re-estimate them (cumulative average) from calibration images in train mode,
    then evaluate; every image comes through a DataLoader with per-image transforms."""

    def __init__(self, supernet: nn.Module, extract: Callable[[nn.Module, Any], nn.Module],
                 calib: Iterable[Batch], evaluation: Iterable[Batch], rt: Runtime) -> None:
        self.supernet, self.extract, self.calib, self.evaluation, self.rt = supernet, extract, calib, evaluation, rt

    @torch.no_grad()
    def score(self, arch: Any) -> tuple[float, float]:
        """Top-1 accuracy (%) and mean cross-entropy of `arch` on the evaluation images."""
        rt = self.rt
        net = apply_layout(self.extract(self.supernet, arch), rt.layout)
        for bn in batch_norms(net):
            bn.reset_running_stats()
            bn.momentum = None
        net.train()
        with rt.autocast():
            for batch in self.calib:
                net(to_device(batch, rt)[0])
        net.eval()
        correct, loss, count = 0, 0.0, 0
        with rt.autocast():
            for batch in self.evaluation:
                x, y = to_device(batch, rt)
                logits = net(x).float()
                correct += int((logits.argmax(1) == y).sum())
                loss += float(nn.functional.cross_entropy(logits, y, reduction="sum"))
                count += len(y)
        return 100.0 * correct / count, loss / count
