"""Upstream data files pinned by URL and sha256, with their place in a local mirror; fetched or read on demand.

Each space declares its own files (a `Source` each, beside its truth loader); wsnas.benchmarks.all_sources lists
them all. Offline, a local mirror (the layout of ../shared/data, named by --data-mirror or $WSNAS_DATA_MIRROR)
is read and every file is checked against its sha256. Online, the file is downloaded from its pinned upstream
commit into cache_dir()/sources/ and checked the same way. A DERIVED file (`convert` set) is a CSV the mirror
holds converted from an upstream pickle; online, that pickle is downloaded and converted here.
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
    available when these files were registered), so none is given rather than one invented.
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


def plain_unpickle(data: bytes) -> object:
    """Unpickle containers and numbers only: any class or function reference is refused."""

    class Plain(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> object:
            raise pickle.UnpicklingError(f"refusing {module}.{name}: expected plain Python data only")

    return Plain(io.BytesIO(data)).load()


def pandas_pickle_to_csv(data: bytes, out: Path) -> None:
    """A pickled pandas DataFrame -> CSV via df.to_csv(index=False), as the mirror's copy was made."""
    import pandas as pd

    pd.read_pickle(io.BytesIO(data)).to_csv(out, index=False)


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
