"""CIFAR-10 from disk: loading the archive, a batches dir or an ImageFolder tree into uint8 arrays (ImageArrays).

Sources, first that applies: an explicit root; a local mirror's ``datasets/cifar10-jpeg``; the official archive
in the cache (downloaded once, sha256 checked). Decoded arrays are cached as .npy under ``cache_dir()/decoded``,
keyed by the source's file listing, so only the first load pays for decoding. The run's seeded split and its
on-device batches are wsnas.supernets.data.
"""
from __future__ import annotations

import hashlib
import multiprocessing
import os
import pickle
import tarfile
import urllib.request
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image
from tqdm import tqdm

from wsnas.core.atomic import atomic_path
from wsnas.core.errors import WsnasError
from wsnas.core.machine import usable_cpus
from wsnas.core.paths import MIRROR_ENV, cache_dir, mirror_dir

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_SHA256 = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"
ARCHIVE_NAME = "cifar-10-python.tar.gz"
BATCHES_DIR = "cifar-10-batches-py"
MIRROR_SUBDIR = "datasets/cifar10-jpeg"
MANIFEST_NAME = "MANIFEST.sha256.tsv"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
IMAGE_SHAPE = (32, 32, 3)
SPLITS = ("train", "test")
_CACHE_VERSION = "cifar10-decoded-v1"
_DECODE_CHUNK = 500

_HOW_TO_GET = (
    f"Get CIFAR-10 by running online once (wsnas downloads {CIFAR10_URL} into the cache), or point wsnas at a "
    f"local copy: --data DIR (the {ARCHIVE_NAME} file, its extracted {BATCHES_DIR}/, or an ImageFolder root "
    f"with train/<class>/ and test/<class>/ image dirs), or --data-mirror DIR / {MIRROR_ENV}=DIR (a mirror holding "
    f"{MIRROR_SUBDIR}/)."
)


@dataclass(frozen=True)
class ImageArrays:
    """Images as uint8 (N, 32, 32, 3) RGB arrays and int64 labels indexing `classes`.

    Loads served from the decode cache hold read-only memory-mapped arrays; index or copy them to modify.
    """

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    classes: tuple[str, ...] = CIFAR10_CLASSES


@dataclass(frozen=True)
class _Source:
    """One resolvable copy of CIFAR-10: kind is "folder", "batches" or "archive"."""

    kind: str
    path: Path


# ----------------------------------------------------------------------------------------------- loading


def load_cifar10(root: Path | None = None, mirror: Path | None = None, *, progress: bool = True) -> ImageArrays:
    """CIFAR-10 from `root`, else the mirror (argument or $WSNAS_DATA_MIRROR), else the cached/downloaded archive.

    `progress` shows tqdm bars (on a terminal) for a download or a first decode.
    """
    if root is not None:
        source = _source_at(Path(root).expanduser())
    elif (mirror_root := mirror_dir(mirror)) is not None:
        folder = mirror_root / MIRROR_SUBDIR
        if not folder.is_dir():
            raise WsnasError(
                f"data mirror {mirror_root} (from --data-mirror or {MIRROR_ENV}) has no {MIRROR_SUBDIR}/ folder. "
                f"Copy CIFAR-10 there as train/<class>/*.jpg and test/<class>/*.jpg, or unset {MIRROR_ENV}. "
                + _HOW_TO_GET
            )
        source = _Source("folder", folder)
    else:
        archive = cache_dir() / "cifar10" / ARCHIVE_NAME
        if not archive.is_file():
            _download_cifar10(archive, progress)
        source = _Source("archive", archive)
    return _load_cached(source, progress)


def _source_at(path: Path) -> _Source:
    """Recognise what a user-given CIFAR-10 path holds."""
    if not path.exists():
        raise WsnasError(f"CIFAR-10 data path {path} does not exist. " + _HOW_TO_GET)
    if path.is_file():
        if path.name.endswith((".tar.gz", ".tgz")):
            return _Source("archive", path)
        raise WsnasError(f"CIFAR-10 data path {path} is a file but not a .tar.gz archive. " + _HOW_TO_GET)
    if (path / TEST_BATCH).exists() or (path / TRAIN_BATCHES[0]).exists():
        return _Source("batches", path)
    for sub, kind in ((BATCHES_DIR, "batches"), (ARCHIVE_NAME, "archive"), (MIRROR_SUBDIR, "folder")):
        if (path / sub).exists():
            return _Source(kind, path / sub)
    return _Source("folder", path)


def _load_cached(source: _Source, progress: bool) -> ImageArrays:
    """Load decoded arrays from the cache, decoding and caching them first if needed."""
    listing = _scan_folder(source.path) if source.kind == "folder" else None
    folder = cache_dir() / "decoded" / _cache_key(source, listing)
    names = ("train_x", "train_y", "test_x", "test_y")
    if all((folder / f"{name}.npy").is_file() for name in names):
        return ImageArrays(*(np.load(folder / f"{name}.npy", mmap_mode="r") for name in names))
    arrays = _read_batches(source) if listing is None else _decode_folder(source.path, listing, progress)
    for name in names:
        with atomic_path(folder / f"{name}.npy") as tmp, open(tmp, "wb") as fh:
            np.save(fh, getattr(arrays, name))
    return arrays


def _cache_key(source: _Source, listing: dict[str, dict[str, list[tuple[str, int, int]]]] | None) -> str:
    """Hash of the source's location and file listing (names, sizes, mtimes)."""
    if listing is not None:
        files = [(f"{split}/{cls}/{name}", size, mtime) for split, classes in listing.items()
                 for cls, entries in classes.items() for name, size, mtime in entries]
    else:
        paths = [source.path] if source.kind == "archive" else sorted(source.path.iterdir())
        files = [(p.name, (st := p.stat()).st_size, st.st_mtime_ns) for p in paths if p.is_file()]
    lines = [_CACHE_VERSION, source.kind, str(source.path.resolve())] + [f"{n}\t{s}\t{m}" for n, s, m in files]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:24]


# -------------------------------------------------------------------------------------- python archive


def _read_batches(source: _Source) -> ImageArrays:
    """Read the official pickled batches from the .tar.gz or from the extracted directory."""
    wanted = set(TRAIN_BATCHES) | {TEST_BATCH}
    batches: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if source.kind == "archive":
        try:
            with tarfile.open(source.path, "r:gz") as tar:
                for member in tar:
                    name = Path(member.name).name
                    if member.isfile() and name in wanted:
                        batches[name] = _parse_batch(tar.extractfile(member), f"{source.path}:{member.name}")
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise WsnasError(
                f"CIFAR-10 archive {source.path} cannot be read ({exc}). Delete it and download it again "
                f"from {CIFAR10_URL}, or pass another copy with --data."
            ) from exc
    else:
        for name in sorted(wanted):
            if (source.path / name).is_file():
                with open(source.path / name, "rb") as fh:
                    batches[name] = _parse_batch(fh, str(source.path / name))
    missing = sorted(wanted - batches.keys())
    if missing:
        raise WsnasError(
            f"CIFAR-10 copy {source.path} is incomplete: missing batch file(s) {', '.join(missing)} "
            f"(expected {', '.join(TRAIN_BATCHES)} and {TEST_BATCH}). Replace it with the complete "
            f"{ARCHIVE_NAME}. " + _HOW_TO_GET
        )
    train = [batches[name] for name in TRAIN_BATCHES]
    return ImageArrays(
        np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train]), *batches[TEST_BATCH]
    )


def _parse_batch(fh: IO[bytes] | None, where: str) -> tuple[np.ndarray, np.ndarray]:
    """One pickled batch dict (b'data': (N, 3072) uint8 CHW rows, b'labels': N ints) as NHWC images + labels."""
    try:
        batch = pickle.load(fh, encoding="bytes")
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
        images = data.reshape(len(labels), 3, 32, 32).transpose(0, 2, 3, 1)
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as exc:
        raise WsnasError(
            f"CIFAR-10 batch {where} is not in the official python format ({exc}); it must be a pickled dict "
            f"with b'data' (N x 3072 uint8) and b'labels'. Replace it with the file from {ARCHIVE_NAME}."
        ) from exc
    if labels.size and (labels.min() < 0 or labels.max() >= len(CIFAR10_CLASSES)):
        raise WsnasError(f"CIFAR-10 batch {where} has labels outside 0..9. Replace it with the official file.")
    return np.ascontiguousarray(images), labels


# ----------------------------------------------------------------------------------------- ImageFolder


def _scan_folder(root: Path) -> dict[str, dict[str, list[tuple[str, int, int]]]]:
    """split -> class -> sorted (file name, size, mtime_ns); raises if a split or class dir is missing or short."""
    missing = [split for split in SPLITS if not (root / split).is_dir()]
    if missing:
        raise WsnasError(
            f"CIFAR-10 image folder {root} is missing the split dir(s) {', '.join(f'{s}/' for s in missing)}; "
            f"it needs train/<class>/ and test/<class>/ for the 10 classes {' '.join(CIFAR10_CLASSES)}. "
            + _HOW_TO_GET
        )
    listing: dict[str, dict[str, list[tuple[str, int, int]]]] = {}
    for split in SPLITS:
        found = sorted(e.name for e in os.scandir(root / split) if e.is_dir() and not e.name.startswith("."))
        if tuple(found) != CIFAR10_CLASSES:
            absent = [c for c in CIFAR10_CLASSES if c not in found]
            extra = [c for c in found if c not in CIFAR10_CLASSES]
            raise WsnasError(
                f"CIFAR-10 image folder {root / split} has the wrong class dirs: "
                + (f"missing {', '.join(absent)}" if absent else "")
                + ("; " if absent and extra else "")
                + (f"unexpected {', '.join(extra)}" if extra else "")
                + f". It needs exactly these 10: {' '.join(CIFAR10_CLASSES)}. " + _HOW_TO_GET
            )
        listing[split] = {}
        for cls in CIFAR10_CLASSES:
            with os.scandir(root / split / cls) as it:
                entries = [(e.name, (st := e.stat()).st_size, st.st_mtime_ns) for e in it
                           if e.is_file() and e.name.lower().endswith(IMAGE_SUFFIXES)]
            listing[split][cls] = sorted(entries)
        counts = {cls: len(entries) for cls, entries in listing[split].items()}
        expected = max(counts.values())
        short = [f"{cls} has {n}" for cls, n in counts.items() if n < expected]
        if expected == 0 or short:
            raise WsnasError(
                f"CIFAR-10 image folder {root / split} is incomplete: "
                + (f"found no images (*{', *'.join(IMAGE_SUFFIXES)}) in any class dir" if expected == 0
                   else f"{', '.join(short)} images where the other classes have {expected}")
                + ". Copy the missing images (CIFAR-10 is balanced) or fetch a complete copy. " + _HOW_TO_GET
            )
    return listing


def _check_manifest(root: Path, listing: dict[str, dict[str, list[tuple[str, int, int]]]]) -> None:
    """If `root` has a MANIFEST.sha256.tsv ("<path>\\t<sha256>" lines), every listed image must be present."""
    manifest = root / MANIFEST_NAME
    if not manifest.is_file():
        return
    listed = {line.split("\t", 1)[0] for line in manifest.read_text().splitlines() if line.strip()}
    present = {f"{split}/{cls}/{name}" for split, classes in listing.items()
               for cls, entries in classes.items() for name, _, _ in entries}
    missing = sorted(listed - present)
    if missing:
        per_dir: dict[str, int] = {}
        for path in missing:
            per_dir[path.rsplit("/", 1)[0]] = per_dir.get(path.rsplit("/", 1)[0], 0) + 1
        detail = ", ".join(f"{d}/ lacks {n}" for d, n in sorted(per_dir.items())[:10])
        raise WsnasError(
            f"CIFAR-10 image folder {root} is incomplete: {len(missing)} of the {len(listed)} images listed in "
            f"{MANIFEST_NAME} are missing ({detail}{', ...' if len(per_dir) > 10 else ''}; first: {missing[0]}). "
            "Copy the missing files again from the original source. " + _HOW_TO_GET
        )


def _decode_folder(
    root: Path, listing: dict[str, dict[str, list[tuple[str, int, int]]]], progress: bool
) -> ImageArrays:
    """Decode every image of both splits with a process pool, in split/class/file-name order."""
    _check_manifest(root, listing)
    paths: list[str] = []
    labels: dict[str, np.ndarray] = {}
    for split, classes in listing.items():
        counts = [len(classes[cls]) for cls in CIFAR10_CLASSES]
        labels[split] = np.repeat(np.arange(len(CIFAR10_CLASSES), dtype=np.int64), counts)
        paths += [str(root / split / cls / name) for cls in CIFAR10_CLASSES for name, _, _ in classes[cls]]
    chunks = [paths[i:i + _DECODE_CHUNK] for i in range(0, len(paths), _DECODE_CHUNK)]
    workers = min(usable_cpus(), len(chunks))
    images = np.empty((len(paths), *IMAGE_SHAPE), dtype=np.uint8)
    with (multiprocessing.Pool(workers) if workers > 1 else nullcontext()) as pool, \
            tqdm(total=len(paths), desc=f"decoding {root.name}", unit="img", disable=None if progress else True) as bar:
        decoded: Iterator[np.ndarray] = pool.imap(_decode_files, chunks) if pool else map(_decode_files, chunks)
        pos = 0
        for block in decoded:
            images[pos:pos + len(block)] = block
            pos += len(block)
            bar.update(len(block))
    n_train = len(labels["train"])
    return ImageArrays(images[:n_train], labels["train"], images[n_train:], labels["test"])


def _decode_files(paths: list[str]) -> np.ndarray:
    """Decode image files to one uint8 (N, 32, 32, 3) array (runs in pool workers)."""
    out = np.empty((len(paths), *IMAGE_SHAPE), dtype=np.uint8)
    for i, path in enumerate(paths):
        try:
            with Image.open(path, formats=("JPEG", "PNG")) as image:
                array = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
        except (OSError, SyntaxError, ValueError) as exc:
            raise WsnasError(f"image {path} cannot be decoded ({exc}); replace or delete the file.") from exc
        if array.shape != IMAGE_SHAPE:
            raise WsnasError(
                f"image {path} is {array.shape[1]}x{array.shape[0]} pixels; CIFAR-10 images must be 32x32. "
                "Replace it with the original image."
            )
        out[i] = array
    return out



def _download_cifar10(dest: Path, progress: bool) -> None:
    """Download the official archive to `dest` atomically, checking its sha256."""
    digest = hashlib.sha256()
    try:
        with atomic_path(dest) as tmp, urllib.request.urlopen(CIFAR10_URL, timeout=60) as response:
            size = int(response.headers.get("Content-Length") or 0) or None
            with open(tmp, "wb") as fh, tqdm(total=size, unit="B", unit_scale=True, desc=ARCHIVE_NAME,
                                             disable=None if progress else True) as bar:
                while chunk := response.read(1 << 20):
                    fh.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
            if digest.hexdigest() != CIFAR10_SHA256:
                raise WsnasError(
                    f"download of {CIFAR10_URL} has sha256 {digest.hexdigest()}, expected {CIFAR10_SHA256} "
                    "(corrupt or changed upstream); nothing was saved. Retry later. " + _HOW_TO_GET
                )
    except OSError as exc:
        raise WsnasError(
            f"CIFAR-10 is not available locally and downloading {CIFAR10_URL} failed ({exc}). " + _HOW_TO_GET
        ) from exc
