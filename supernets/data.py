"""The data a supernet trains and is scored on: a seeded, stratified split of the training images and the
splits held on the device (DeviceImages: batches with on-device augmentation). CIFAR-10 is read from disk by
wsnas.supernets.cifar10.
"""
from __future__ import annotations

import copy
import functools
import math
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from wsnas.core.config import DataConfig
from wsnas.core.errors import WsnasError
from wsnas.core.paths import CACHE_ENV, mirror_dir
from wsnas.supernets.cifar10 import CIFAR10_MEAN, CIFAR10_STD, ImageArrays, load_cifar10


# ------------------------------------------------------------------------------------------------ split


def split_indices(
    labels: np.ndarray, n_train: int | None, n_valid: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified, seeded (supernet-train, valid) indices into `labels`; sorted int64 arrays.

    One seeded permutation orders each class; valid takes the first share of every class, train the next, so the
    valid set depends only on (labels, n_valid, seed) and a smaller train set is a subset of a larger one.
    """
    labels = np.asarray(labels)
    n = len(labels)
    n_rest = n - n_valid
    if n_valid < 0 or n_rest < 0 or (n_train is not None and not 0 <= n_train <= n_rest):
        raise WsnasError(
            f"split sizes n_train={n_train}, n_valid={n_valid} do not fit {n} training images: both must be "
            f">= 0 and n_train + n_valid <= {n}. Lower them (n_train None takes all that valid leaves)."
        )
    order = np.random.default_rng(seed).permutation(n)
    classes, counts = np.unique(labels, return_counts=True)
    valid_counts = _apportion(counts, n_valid)
    train_counts = counts - valid_counts if n_train is None else _apportion(counts - valid_counts, n_train)
    train, valid = [], []
    for cls, n_v, n_t in zip(classes, valid_counts, train_counts):
        members = order[labels[order] == cls]
        valid.append(members[:n_v])
        train.append(members[n_v:n_v + n_t])
    return np.sort(np.concatenate(train)).astype(np.int64), np.sort(np.concatenate(valid)).astype(np.int64)


def _apportion(counts: np.ndarray, total: int) -> np.ndarray:
    """Split `total` over classes in proportion to `counts` (largest remainder, ties to the lower class)."""
    exact = counts * total / max(int(counts.sum()), 1)
    share = np.floor(exact).astype(np.int64)
    extra = np.argsort(-(exact - share), kind="stable")[: total - int(share.sum())]
    share[extra] += 1
    return share


# ------------------------------------------------------------------------------------- device batching


class DeviceImages:
    """A uint8 NCHW image set and its labels held on one torch device, batched with on-device augmentation."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, device: str | torch.device = "cpu") -> None:
        """`images`: uint8 (N, H, W, 3) as in ImageArrays; `labels`: N class indices."""
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] != 3 or len(images) != len(labels):
            raise WsnasError(
                f"DeviceImages needs uint8 (N, H, W, 3) images and N labels, got {images.dtype} {images.shape} "
                f"and {len(labels)} labels; pass ImageArrays fields (e.g. train_x[idx], train_y[idx])."
            )
        self.device = torch.device(device)
        self.images = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))).to(self.device)
        self.labels = torch.tensor(np.asarray(labels), dtype=torch.int64, device=self.device)
        self._scale = (1.0 / (255.0 * torch.tensor(CIFAR10_STD))).view(1, 3, 1, 1).to(self.device)
        self._shift = (torch.tensor(CIFAR10_MEAN) / torch.tensor(CIFAR10_STD)).view(1, 3, 1, 1).to(self.device)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray) -> "DeviceImages":
        """The images at `index` (positions in this set) as a set of their own, on the same device."""
        part = copy.copy(self)
        where = torch.as_tensor(np.asarray(index), dtype=torch.int64, device=self.device)
        part.images, part.labels = self.images[where], self.labels[where]
        return part

    def num_batches(self, batch_size: int, drop_last: bool) -> int:
        """Batches per pass over the set."""
        return len(self) // batch_size if drop_last else math.ceil(len(self) / batch_size)

    def batches(
        self,
        batch_size: int,
        *,
        shuffle: bool,
        augment: bool,
        generator: torch.Generator | None = None,
        drop_last: bool = False,
        channels_last: bool = False,
        dtype: torch.dtype = torch.float32,
        padding: int = 4,
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One pass: (normalised images (B, 3, H, W) of `dtype`, int64 labels) on the set's device.

        augment = random crop with `padding` zero pixels on each side + horizontal flip, per sample. All randomness
        comes from `generator` (needed when shuffling or augmenting); draws happen on its device and are moved
        here, so a CPU generator gives the same batches on any device.
        """
        if batch_size < 1:
            raise WsnasError(f"batch_size must be >= 1, got {batch_size}; pass a positive batch size.")
        if generator is None and (shuffle or augment):
            raise WsnasError("batches(shuffle=True or augment=True) needs a seeded torch.Generator; pass generator=.")
        n = len(self)
        if shuffle:
            order = torch.randperm(n, generator=generator, device=generator.device).to(self.device)
        else:
            order = torch.arange(n, device=self.device)
        for start in range(0, self.num_batches(batch_size, drop_last) * batch_size, batch_size):
            index = order[start:start + batch_size]
            images = self._augmented(index, generator, padding) if augment else self.images[index]
            out = (images.float() * self._scale - self._shift).to(dtype)
            if channels_last:
                out = out.contiguous(memory_format=torch.channels_last)
            yield out, self.labels[index]

    def _augmented(self, index: torch.Tensor, generator: torch.Generator, padding: int) -> torch.Tensor:
        """Padded random crops and flips of images[index] as a single gather from the unpadded images."""
        b = len(index)
        _, c, h, w = self.images.shape
        offsets = torch.randint(0, 2 * padding + 1, (2, b), generator=generator, device=generator.device)
        flip = torch.randint(0, 2, (b,), generator=generator, device=generator.device).bool()
        offsets, flip = offsets.to(self.device) - padding, flip.to(self.device)
        rows = offsets[0, :, None] + torch.arange(h, device=self.device)  # (B, H) source row per output row
        cols = offsets[1, :, None] + torch.arange(w, device=self.device)  # (B, W) source col per output col
        cols = torch.where(flip[:, None], cols.flip(1), cols)
        inside = ((rows >= 0) & (rows < h))[:, None, :, None] & ((cols >= 0) & (cols < w))[:, None, None, :]
        pixel = rows.clamp(0, h - 1)[:, :, None] * w + cols.clamp(0, w - 1)[:, None, :]  # (B, H, W)
        plane = (index * c)[:, None] + torch.arange(c, device=self.device)  # (B, C): channel plane in the set
        return torch.take(self.images, plane[:, :, None, None] * (h * w) + pixel[:, None]) * inside


@functools.lru_cache(maxsize=2)
def _loaded_cifar10(root: Path | None, mirror: Path | None, cache: str | None) -> ImageArrays:
    """load_cifar10 once per process and resolved source (`cache` keys the download location): `wsnas study`
    trains then evaluates on the same read-only arrays without listing the 60,000 files again."""
    return load_cifar10(root, mirror)


def prepare_cifar10(cfg: DataConfig, device: str | torch.device) -> tuple[DeviceImages, DeviceImages]:
    """The run's supernet-train and held-out valid images on `device` (a seeded split of the training set)."""
    arrays = _loaded_cifar10(Path(cfg.root).expanduser() if cfg.root else None, mirror_dir(cfg.mirror),
                             os.environ.get(CACHE_ENV))
    train_idx, valid_idx = split_indices(arrays.train_y, cfg.n_train, cfg.n_valid, cfg.split_seed)
    return (DeviceImages(arrays.train_x[train_idx], arrays.train_y[train_idx], device),
            DeviceImages(arrays.train_x[valid_idx], arrays.train_y[valid_idx], device))
