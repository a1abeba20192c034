"""CIFAR-10 data layer: loading from the three formats, decode cache, clear errors, split, on-device augmentation."""
from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import wsnas.supernets.cifar10 as cifar10
from wsnas.core.errors import WsnasError
from wsnas.core.paths import cache_dir
from wsnas.supernets.cifar10 import CIFAR10_CLASSES, CIFAR10_MEAN, CIFAR10_STD, ImageArrays, load_cifar10
from wsnas.supernets.data import DeviceImages, split_indices

PER_CLASS = {"train": 5, "test": 2}  # 5 train images per class = one per data_batch


def _original(seed: int = 0) -> ImageArrays:
    """A tiny CIFAR-10 in batch order: every class appears once in each of the 5 training batches."""
    rng = np.random.default_rng(seed)
    train_y = np.tile(np.arange(10, dtype=np.int64), PER_CLASS["train"])
    test_y = np.tile(np.arange(10, dtype=np.int64), PER_CLASS["test"])
    image = lambda n: rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)  # noqa: E731
    return ImageArrays(image(len(train_y)), train_y, image(len(test_y)), test_y)


def _batch_bytes(x: np.ndarray, y: np.ndarray) -> bytes:
    """The official python batch format: pickled dict, b'data' (N, 3072) CHW rows, b'labels' list."""
    return pickle.dumps({b"batch_label": b"fake", b"labels": y.tolist(),
                         b"data": x.transpose(0, 3, 1, 2).reshape(len(x), -1)})


def _write_batches(folder: Path, arrays: ImageArrays) -> Path:
    folder.mkdir(parents=True)
    for i, (x, y) in enumerate(zip(np.split(arrays.train_x, 5), np.split(arrays.train_y, 5)), start=1):
        (folder / f"data_batch_{i}").write_bytes(_batch_bytes(x, y))
    (folder / "test_batch").write_bytes(_batch_bytes(arrays.test_x, arrays.test_y))
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [c.encode() for c in CIFAR10_CLASSES]}))
    return folder


def _write_archive(path: Path, arrays: ImageArrays, skip: str | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for i, (x, y) in enumerate(zip(np.split(arrays.train_x, 5), np.split(arrays.train_y, 5)), start=1):
            members = {f"data_batch_{i}": _batch_bytes(x, y)}
            if i == 5:
                members["test_batch"] = _batch_bytes(arrays.test_x, arrays.test_y)
            for name, payload in members.items():
                if name != skip:
                    info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
                    info.size = len(payload)
                    tar.addfile(info, io.BytesIO(payload))
    return path


def _write_folder(root: Path, arrays: ImageArrays, suffix: str = ".png") -> Path:
    """ImageFolder tree; within a class, files follow the batch order (as in the mirror)."""
    for split, x, y in (("train", arrays.train_x, arrays.train_y), ("test", arrays.test_x, arrays.test_y)):
        for label, cls in enumerate(CIFAR10_CLASSES):
            (root / split / cls).mkdir(parents=True)
            for i, image in enumerate(x[y == label]):
                Image.fromarray(image).save(root / split / cls / f"{i:04d}{suffix}")
    return root


def _by_class(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(y, kind="stable")
    return x[order], y[order]


# ----------------------------------------------------------------------------------------------- loading


def test_archive_batches_dir_and_folder_agree(tmp_path: Path) -> None:
    arrays = _original()
    from_tar = load_cifar10(_write_archive(tmp_path / "cifar-10-python.tar.gz", arrays))
    from_dir = load_cifar10(_write_batches(tmp_path / "extracted" / "cifar-10-batches-py", arrays))
    from_parent = load_cifar10(tmp_path / "extracted")  # a dir holding cifar-10-batches-py/
    from_png = load_cifar10(_write_folder(tmp_path / "folder", arrays))
    for loaded in (from_tar, from_dir, from_parent):
        for name in ("train_x", "train_y", "test_x", "test_y"):
            got = getattr(loaded, name)
            assert got.dtype == getattr(arrays, name).dtype and np.array_equal(got, getattr(arrays, name))
    assert from_tar.train_x.shape == (50, 32, 32, 3) and from_tar.train_y.dtype == np.int64
    # The folder is ordered class by class, each class in file-name order, labels in CIFAR-10 order.
    for split in ("train", "test"):
        x, y = _by_class(getattr(arrays, f"{split}_x"), getattr(arrays, f"{split}_y"))
        assert np.array_equal(getattr(from_png, f"{split}_x"), x)
        assert np.array_equal(getattr(from_png, f"{split}_y"), y)
    assert from_png.classes == CIFAR10_CLASSES


def test_jpeg_folder_matches_pil_and_class_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cifar10, "_DECODE_CHUNK", 16)  # several chunks: decoded by the process pool
    root = _write_folder(tmp_path / "jpeg", _original(1), suffix=".jpg")
    loaded = load_cifar10(root)
    for label, cls in enumerate(CIFAR10_CLASSES):
        files = sorted((root / "train" / cls).glob("*.jpg"))
        expected = np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files])
        assert np.array_equal(loaded.train_x[loaded.train_y == label], expected)
    assert np.bincount(loaded.test_y).tolist() == [2] * 10


def test_decode_cache_is_used_and_keyed_by_listing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WSNAS_CACHE", str(tmp_path / "cache"))
    root = _write_folder(tmp_path / "folder", _original(2))
    calls: list[Path] = []
    decode = cifar10._decode_folder
    monkeypatch.setattr(cifar10, "_decode_folder", lambda path, *args: calls.append(path) or decode(path, *args))
    first = load_cifar10(root)
    cached = sorted(p.relative_to(cache_dir() / "decoded").parts[1] for p in (cache_dir() / "decoded").rglob("*.npy"))
    assert len(calls) == 1 and cached == ["test_x.npy", "test_y.npy", "train_x.npy", "train_y.npy"]
    second = load_cifar10(root)
    assert len(calls) == 1, "second load decoded again instead of using the cache"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # read-only cached arrays must not trip torch's non-writable warning
        assert len(DeviceImages(second.train_x, second.train_y)) == 50
    assert all(np.array_equal(getattr(first, n), getattr(second, n)) for n in ("train_x", "train_y", "test_x"))
    # A changed file (new mtime here) changes the listing, so the tree is decoded afresh.
    os.utime(root / "train" / "cat" / "0000.png", ns=(1, 1))
    load_cifar10(root)
    assert len(calls) == 2


def test_archive_decode_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = _write_archive(tmp_path / "c.tar.gz", _original(3))
    load_cifar10(archive)
    monkeypatch.setattr(cifar10, "_read_batches", lambda source: pytest.fail("archive read again"))
    assert load_cifar10(archive).train_x.shape == (50, 32, 32, 3)


def test_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _write_folder(tmp_path / "root", _original(4))
    mirror = tmp_path / "mirror"
    _write_folder(mirror / "datasets" / "cifar10-jpeg", _original(5))
    monkeypatch.setenv("WSNAS_DATA_MIRROR", str(mirror))
    from_root = load_cifar10(root, mirror=mirror)
    from_mirror = load_cifar10()
    assert np.array_equal(from_root.train_x, load_cifar10(root).train_x)
    assert not np.array_equal(from_root.train_x, from_mirror.train_x)
    assert np.array_equal(from_mirror.train_x, load_cifar10(mirror, mirror=root).train_x)  # mirror root as --data
    monkeypatch.setenv("WSNAS_DATA_MIRROR", str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(WsnasError, match=r"has no datasets/cifar10-jpeg/ folder.*WSNAS_DATA_MIRROR"):
        load_cifar10()


def test_download_checks_sha256(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WSNAS_DATA_MIRROR", raising=False)
    monkeypatch.setenv("WSNAS_CACHE", str(tmp_path / "cache"))
    archive = _write_archive(tmp_path / "upstream.tar.gz", _original(6))
    monkeypatch.setattr(cifar10, "CIFAR10_URL", archive.as_uri())
    monkeypatch.setattr(cifar10, "CIFAR10_SHA256", "0" * 64)
    with pytest.raises(WsnasError, match="sha256 .* expected 0000.*nothing was saved"):
        load_cifar10()
    assert not list((tmp_path / "cache" / "cifar10").iterdir())
    monkeypatch.setattr(cifar10, "CIFAR10_SHA256", hashlib.sha256(archive.read_bytes()).hexdigest())
    loaded = load_cifar10()
    assert (tmp_path / "cache" / "cifar10" / "cifar-10-python.tar.gz").read_bytes() == archive.read_bytes()
    assert np.array_equal(loaded.test_x, _original(6).test_x)


def test_offline_error_says_how_to_point_at_a_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WSNAS_DATA_MIRROR", raising=False)
    monkeypatch.setenv("WSNAS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(cifar10, "CIFAR10_URL", (tmp_path / "nowhere.tar.gz").as_uri())
    with pytest.raises(WsnasError, match=r"downloading .* failed .*--data DIR.*WSNAS_DATA_MIRROR=DIR"):
        load_cifar10()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda r: r / "absent", r"absent does not exist\. Get CIFAR-10"),
        (lambda r: (os.rename(r / "test", r / "tst"), r)[1], r"missing the split dir\(s\) test/; it needs train"),
        (lambda r: (os.rename(r / "train" / "cat", r / "train" / "kat"), r)[1], r"wrong class dirs: missing cat; "
                                                                                   r"unexpected kat\. It needs"),
        (lambda r: ([p.unlink() for p in (r / "test").rglob("*.png")], r)[1], r"test is incomplete: found no images"),
        (lambda r: ([(r / "train" / "dog" / f"000{i}.png").unlink() for i in (1, 3)], r)[1],
         r"train is incomplete: dog has 3 images where the other classes have 5"),
        (lambda r: ((r / "train" / "ship" / "0002.png").write_bytes(b"not a png"), r)[1],
         r"0002\.png cannot be decoded"),
        (lambda r: (Image.new("RGB", (16, 32)).save(r / "test" / "frog" / "0001.png"), r)[1],
         r"0001\.png is 16x32 pixels; CIFAR-10 images must be 32x32"),
    ],
)
def test_folder_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage, message: str) -> None:  # noqa: ANN001
    monkeypatch.setattr(cifar10, "_DECODE_CHUNK", 16)  # decode errors must cross the process pool intact
    root = _write_folder(tmp_path / "folder", _original(7))
    with pytest.raises(WsnasError, match=message):
        load_cifar10(damage(root))


def test_manifest_reports_missing_files(tmp_path: Path) -> None:
    root = _write_folder(tmp_path / "folder", _original(8))
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.png"))
    (root / "MANIFEST.sha256.tsv").write_text("".join(f"{f}\t{'0' * 64}\n" for f in files))
    assert len(load_cifar10(root).train_y) == 50
    for i in range(5):  # balanced but short: only the manifest can tell
        (root / "train" / CIFAR10_CLASSES[i] / "0004.png").unlink()
        (root / "train" / CIFAR10_CLASSES[i + 5] / "0004.png").unlink()
    with pytest.raises(WsnasError, match=r"10 of the 70 images listed in MANIFEST.sha256.tsv are missing "
                                         r"\(train/airplane/ lacks 1,.*first: train/airplane/0004.png"):
        load_cifar10(root)


def test_batch_errors(tmp_path: Path) -> None:
    with pytest.raises(WsnasError, match=r"missing batch file\(s\) data_batch_3 \(expected data_batch_1"):
        load_cifar10(_write_archive(tmp_path / "a.tar.gz", _original(9), skip="data_batch_3"))
    (tmp_path / "bad.tar.gz").write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(WsnasError, match=r"bad.tar.gz cannot be read .*download it again"):
        load_cifar10(tmp_path / "bad.tar.gz")
    folder = _write_batches(tmp_path / "batches", _original(9))
    (folder / "test_batch").write_bytes(pickle.dumps({b"wrong": 1}))
    with pytest.raises(WsnasError, match=r"test_batch is not in the official python format"):
        load_cifar10(folder)


# ------------------------------------------------------------------------------------------------ split


def test_split_stratified_disjoint_deterministic() -> None:
    labels = np.repeat(np.arange(10), 100)
    np.random.default_rng(0).shuffle(labels)
    train, valid = split_indices(labels, n_train=500, n_valid=200, seed=3)
    assert len(train) == 500 and len(valid) == 200 and not set(train) & set(valid)
    assert np.bincount(labels[valid]).tolist() == [20] * 10 and np.bincount(labels[train]).tolist() == [50] * 10
    assert train.dtype == valid.dtype == np.int64 and np.all(np.diff(valid) > 0)
    again = split_indices(labels, n_train=500, n_valid=200, seed=3)
    assert np.array_equal(train, again[0]) and np.array_equal(valid, again[1])
    assert not np.array_equal(valid, split_indices(labels, n_train=500, n_valid=200, seed=4)[1])
    rest, valid_all = split_indices(labels, n_train=None, n_valid=200, seed=3)
    small, valid_small = split_indices(labels, n_train=30, n_valid=200, seed=3)
    assert np.array_equal(valid_all, valid) and np.array_equal(valid_small, valid)
    assert len(rest) == 800 and set(small) <= set(train) <= set(rest)
    assert np.array_equal(np.sort(np.concatenate([rest, valid])), np.arange(1000))


def test_split_uneven_and_pinned() -> None:
    labels = np.array([0] * 7 + [1] * 3)
    train, valid = split_indices(labels, n_train=None, n_valid=5, seed=0)
    assert np.bincount(labels[valid]).tolist() == [4, 1]  # 3.5 / 1.5: the tie goes to the lower class
    assert train.tolist() == [0, 1, 5, 8, 9] and valid.tolist() == [2, 3, 4, 6, 7]
    # Pinned: a change here silently changes every recorded experiment's held-out valid set.
    train, valid = split_indices(np.repeat(np.arange(10), 5000), n_train=20, n_valid=10, seed=0)
    assert valid.tolist() == [4214, 5892, 10377, 15123, 22391, 25461, 34451, 37810, 43565, 49155]
    assert train.tolist()[:6] == [1844, 1936, 7707, 9578, 12954, 13985]
    for bad in ((None, -1), (None, 1001), (990, 20)):
        with pytest.raises(WsnasError, match=r"do not fit 1000 training images"):
            split_indices(np.zeros(1000), *bad, seed=0)


# ------------------------------------------------------------------------------------- device batching

MEAN = torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1)
STD = torch.tensor(CIFAR10_STD).view(1, 3, 1, 1)


def _images(n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, n)


def _reference_crop(image: np.ndarray, dy: int, dx: int, flip: bool, pad: int = 4) -> np.ndarray:
    """Slow per-image reference: zero-pad, crop at (dy, dx), optionally mirror left-right; HWC uint8."""
    padded = np.zeros((32 + 2 * pad, 32 + 2 * pad, 3), np.uint8)
    padded[pad:pad + 32, pad:pad + 32] = image
    crop = padded[dy:dy + 32, dx:dx + 32]
    return crop[:, ::-1] if flip else crop


def _unnormalise(x: torch.Tensor) -> np.ndarray:
    """Back to HWC uint8 (exact up to float rounding)."""
    return (x.float() * STD + MEAN).mul(255).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def test_no_augmentation_is_exact_normalised_image() -> None:
    x, y = _images()
    images = DeviceImages(x, y)
    batches = list(images.batches(16, shuffle=False, augment=False))
    assert [len(b) for b, _ in batches] == [16, 16, 8] and images.num_batches(16, drop_last=False) == 3
    out = torch.cat([b for b, _ in batches])
    assert out.dtype == torch.float32 and out.shape == (40, 3, 32, 32)
    expected = (torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255 - MEAN) / STD
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-5)  # float32 of values < 3: a few ulps (2.4e-7)
    assert torch.equal(torch.cat([t for _, t in batches]), torch.from_numpy(y).long())


def test_augmented_crops_match_reference_and_flip() -> None:
    x, y = _images(64, seed=1)
    out, labels = next(DeviceImages(x, y).batches(64, shuffle=False, augment=True,
                                                  generator=torch.Generator().manual_seed(0)))
    assert out.shape == (64, 3, 32, 32) and torch.equal(labels, torch.from_numpy(y).long())
    got = _unnormalise(out)
    seen = set()
    for i in range(64):
        matches = [(dy, dx, f) for dy in range(9) for dx in range(9) for f in (False, True)
                   if np.array_equal(got[i], _reference_crop(x[i], dy, dx, f))]
        assert len(matches) == 1, f"sample {i} is no padded crop (+flip) of its image"
        seen.add(matches[0])
    assert len(seen) > 40 and {f for _, _, f in seen} == {False, True}
    # padding 0: each sample is its image or its mirror image, exactly.
    out0, _ = next(DeviceImages(x, y).batches(64, shuffle=False, augment=True, padding=0,
                                              generator=torch.Generator().manual_seed(1)))
    flipped = [np.array_equal(a, b[:, ::-1]) for a, b in zip(_unnormalise(out0), x)]
    assert all(f or np.array_equal(a, b) for f, a, b in zip(flipped, _unnormalise(out0), x))
    assert 10 < sum(flipped) < 54


def test_batches_reproducible_shuffled_and_typed() -> None:
    x, y = _images(50, seed=2)
    images = DeviceImages(x, y)

    def epoch(seed: int, **kw: object) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return list(images.batches(16, shuffle=True, augment=True, generator=torch.Generator().manual_seed(seed),
                                   drop_last=True, **kw))

    a, b, c = epoch(5), epoch(5), epoch(6)
    assert len(a) == 3 == images.num_batches(16, drop_last=True)
    assert all(torch.equal(p[0], q[0]) and torch.equal(p[1], q[1]) for p, q in zip(a, b))
    assert not torch.equal(a[0][0], c[0][0])
    order = next(images.batches(50, shuffle=True, augment=False, generator=torch.Generator().manual_seed(5)))[1]
    assert sorted(order.tolist()) == sorted(y.tolist()) and not torch.equal(order, torch.from_numpy(y).long())
    half = epoch(5, channels_last=True, dtype=torch.bfloat16)
    assert half[0][0].dtype == torch.bfloat16 and half[0][0].is_contiguous(memory_format=torch.channels_last)
    # bf16 keeps 8 significant bits: relative rounding 2^-9 = 0.002, values < 3 (0.006 absolute at most)
    torch.testing.assert_close(half[0][0].float(), a[0][0], atol=0.02, rtol=0.01)
    with pytest.raises(WsnasError, match="needs a seeded torch.Generator"):
        next(images.batches(16, shuffle=True, augment=False))
    with pytest.raises(WsnasError, match="uint8 \\(N, H, W, 3\\)"):
        DeviceImages(x.astype(np.float32), y)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_batches_equal_cpu_batches() -> None:
    x, y = _images(64, seed=3)
    cpu = list(DeviceImages(x, y).batches(32, shuffle=True, augment=True, generator=torch.Generator().manual_seed(0)))
    gpu = list(DeviceImages(x, y, "cuda").batches(32, shuffle=True, augment=True,
                                                  generator=torch.Generator().manual_seed(0)))
    for (c, c_labels), (g, g_labels) in zip(cpu, gpu, strict=True):
        assert g.is_cuda and torch.equal(c_labels, g_labels.cpu())
        torch.testing.assert_close(g.cpu(), c, rtol=0, atol=1e-6)  # float32 of values < 3: a few ulps


# ------------------------------------------------------------------------------------------ real mirror


def test_real_mirror_cifar10(mirror: Path) -> None:
    if not (mirror / "datasets" / "cifar10-jpeg").is_dir():
        pytest.skip(f"{mirror} has no datasets/cifar10-jpeg")
    start = time.perf_counter()
    arrays = load_cifar10(mirror=mirror)
    first = time.perf_counter() - start
    start = time.perf_counter()
    again = load_cifar10(mirror=mirror)
    second = time.perf_counter() - start
    print(f"\nCIFAR-10 mirror: first load {first:.1f} s, cached load {second:.2f} s")
    assert arrays.train_x.shape == (50000, 32, 32, 3) and arrays.test_x.shape == (10000, 32, 32, 3)
    assert np.bincount(arrays.train_y).tolist() == [5000] * 10
    assert np.bincount(arrays.test_y).tolist() == [1000] * 10
    mean = arrays.train_x.reshape(-1, 3).mean(axis=0) / 255
    np.testing.assert_allclose(mean, [0.4913, 0.4821, 0.4465], atol=1e-3)  # float64; published to 4 digits
    assert np.array_equal(again.test_x[:100], arrays.test_x[:100]) and second < 2.0
