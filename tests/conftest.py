"""Shared test fixtures: the local data mirror, and a per-session cache and results database (tests never
write to ~/.cache or ./runs).

Numerical tolerances, so that the suite passes on any x86 or ARM CPU at any thread count: a comparison of float32
torch results states its error bound where it is made (u = 2^-24 = 6e-8; a sum of n terms in another order
differs by at most 2 n u of the magnitudes summed), or is made in float64. Statistics computed with numpy, scipy
and pandas are float64 (u = 1.1e-16): pytest.approx's default (rel 1e-6) and abs=1e-12 on correlations in
[-1, 1] lie far above their rounding (Kendall from integer pair counts: a few ulps; a correlation over the at most
a few thousand values here: n u < 1e-12). Tolerances on Monte Carlo estimates are stated as multiples of their
standard errors where they are made, and tolerances on table values as the table's own rounding."""
from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

DEFAULT_MIRROR = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def _session_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """WSNAS_CACHE and the results database (WSNAS_DB) live in temporary paths for the whole session, and commands
    the tests run read the data mirror ../shared/data when $WSNAS_DATA_MIRROR is not set (README command 2)."""
    path = tmp_path_factory.mktemp("wsnas-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WSNAS_CACHE", str(path))
        patch.setenv("WSNAS_DB", str(path / "results.sqlite"))
        if not os.environ.get("WSNAS_DATA_MIRROR") and DEFAULT_MIRROR.is_dir():
            patch.setenv("WSNAS_DATA_MIRROR", str(DEFAULT_MIRROR))
        yield path


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The local data mirror: $WSNAS_DATA_MIRROR, else ../shared/data beside the repository."""
    path = Path(os.environ.get("WSNAS_DATA_MIRROR") or DEFAULT_MIRROR)
    if not path.is_dir():
        pytest.skip(f"no local data mirror at {path}; set WSNAS_DATA_MIRROR to a copy of shared/data")
    return path


@pytest.fixture(scope="session")
def cifar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in cifar-10-batches-py: 500 random training images, 50 test images."""
    root = tmp_path_factory.mktemp("cifar")
    rng = np.random.default_rng(0)
    for name, n in [(f"data_batch_{i}", 100) for i in range(1, 6)] + [("test_batch", 50)]:
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        (root / name).write_bytes(pickle.dumps({b"labels": (np.arange(n) % 10).tolist(), b"data": data}))
    return root


def synthetic_group(path: Path, mirror: Path, archs: int = 150) -> Path:
    """A replicate group of 3 runs on `archs` NB201 archs whose scores (two BN policies, epochs 1 and 2) are the
    cifar10/test truth plus noise: recalibrate has little noise (less at epoch 2), inherit a lot; the supernets
    differ only in their noise draws. No training: what the analysis reads, written as a study writes it."""
    import pandas as pd

    from wsnas.benchmarks.groundtruth import load_ground_truth
    from wsnas.benchmarks.registry import get_space
    from wsnas.core.config import build_config
    from wsnas.core.groups import ReplicateGroup, member_config

    space = get_space("nb201")
    keys = [space.format(a) for a in space.sample(archs, seed=0)]
    values = load_ground_truth("nb201", mirror).values("cifar10/test", keys)
    cfg = build_config("smoke", overrides={"data.mirror": str(mirror), "replicates": 3})
    group = ReplicateGroup(path)
    group.init(cfg)
    for r in range(3):
        run = group.member(r)
        run.init(member_config(cfg, r))
        rng = np.random.default_rng(r)
        rows = [{"key": k, "epoch": e, "score_set": f"set-{policy}", "bn_policy": policy, "finetune_batches": 0,
                 "supernet_acc": v + noise * rng.normal()}
                for e, scale in ((1, 3.0), (2, 1.0)) for policy, noise in (("recalibrate", scale), ("inherit", 8.0))
                for k, v in zip(keys, values)]
        run.write_table(run.scores_path, pd.DataFrame(rows))
    return path


def assert_identical(a: Any, b: Any, where: str = "checkpoint") -> None:
    """The same nested structure (checkpoints: dicts, lists, tensors) with torch.equal tensors."""
    import torch

    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_identical(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_identical(x, y, f"{where}[{i}]")
    else:
        assert a == b, where
