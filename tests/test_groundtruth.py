"""NAS-Bench-201 ground truth: sources (mirror, cache, download), the combined table and its queries."""
from __future__ import annotations

import dataclasses
import io
import pickle
import shutil
import urllib.error
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wsnas.benchmarks import sources
from wsnas.benchmarks.all_sources import SOURCES
from wsnas.benchmarks.groundtruth import GroundTruth, GroundTruthError, load_ground_truth
from wsnas.benchmarks.registry import UnknownSpaceError, register_space, unregister_space
from wsnas.benchmarks.sources import SourceError, resolve
from wsnas.benchmarks.space import SearchSpace, SpaceError
from wsnas.benchmarks.spaces.nb201 import truth as nb201_truth
from wsnas.benchmarks.spaces.nb201.space import NB201Space
from wsnas.benchmarks.spaces.nb201.truth import NB201_COLUMNS, NB201_SOURCES, _combine_nb201, load_nb201
from wsnas.core.errors import WsnasError

NB201_DIR = "groundtruth/nas-bench-201/"
BEST_CIFAR10 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


@pytest.fixture(scope="module")
def truth(mirror: Path) -> GroundTruth:
    return load_nb201(mirror)


def test_one_row_per_arch_with_canonical_keys(truth: GroundTruth) -> None:
    frame = truth.frame
    assert len(truth) == 15625 and truth.space == "nb201"
    assert frame["key"].is_unique
    assert frame["index"].tolist() == list(range(15625))
    space = NB201Space()
    assert set(frame["key"]) == {space.format(a) for a in space.enumerate()}
    assert truth.metrics() == list(NB201_COLUMNS)
    assert "cifar10/test NATS-tss-v1_0 (v-tao/nats-bench-landscape@b307ae5)" in truth.source


def test_published_optima(truth: GroundTruth) -> None:
    best = {m: round(truth.frame[m].max(), 2) for m in truth.metrics()}
    assert best["cifar10/test"] == 94.37
    assert best["cifar100/test"] == 73.51
    assert best["ImageNet16-120/test"] == 47.31
    assert best["cifar10-valid/valid"] == 91.61
    assert best["cifar10-valid/test"] == 91.52
    assert best["cifar100/valid"] == 73.49
    assert best["ImageNet16-120/valid"] == 46.73
    assert best["cifar10/test@12ep"] == 89.16
    assert truth.key_of(int(truth.frame["cifar10/test"].idxmax())) == BEST_CIFAR10
    assert not truth.frame[truth.metrics()].isna().any().any()


def test_per_seed_counts(truth: GroundTruth) -> None:
    seeds = truth.seed_columns("cifar10/test")
    assert seeds == ["cifar10/test#seed0", "cifar10/test#seed1", "cifar10/test#seed2"]
    counts = truth.frame[seeds].notna().sum(axis=1).value_counts().to_dict()
    assert counts == {3: 7961, 2: 5439, 1: 2225}
    assert truth.seed_columns("cifar100/test") == []
    # runs fill the columns from #seed0 on: no arch has a gap
    assert not (truth.frame[seeds[1]].isna() & truth.frame[seeds[2]].notna()).any()


def test_index_order_matches_the_upstream_arch_strings(truth: GroundTruth, mirror: Path) -> None:
    nats = pd.read_csv(mirror / NB201_DIR / "nats_tss_200ep_test_acc.csv")
    assert [truth.key_of(i) for i in range(0, 15625, 97)] == nats["ArchitectureString"].iloc[::97].tolist()
    assert truth.frame["key"].tolist() == nats["ArchitectureString"].tolist()
    mini = pd.read_csv(mirror / NB201_DIR / "mini-bench-arch-cell-accs_12epoch.csv")
    assert truth.frame["key"].tolist() == mini["cellstr"].tolist()
    assert truth.index_of(BEST_CIFAR10) == nats["ArchitectureString"].tolist().index(BEST_CIFAR10)


def test_tables_that_disagree_on_the_index_order_are_refused(mirror: Path, tmp_path: Path) -> None:
    paths = {s.name: mirror / s.mirror_path for s in SOURCES.values()}
    mini = pd.read_csv(paths["mini_nasbench201_12epoch"])
    mini.loc[[0, 1], "arch"] = [1, 0]  # two archs swap their index
    paths["mini_nasbench201_12epoch"] = tmp_path / "mini.csv"
    mini.to_csv(paths["mini_nasbench201_12epoch"], index=False)
    with pytest.raises(GroundTruthError, match=r"disagree on the index -> arch order.*\(2 archs differ\)"):
        _combine_nb201(paths)
    mini.drop(index=7).to_csv(paths["mini_nasbench201_12epoch"], index=False)
    with pytest.raises(GroundTruthError, match="should list each of the 15625 NB201 archs once"):
        _combine_nb201(paths)


def test_values_follow_the_order_of_the_keys_and_accept_any_spelling(truth: GroundTruth) -> None:
    keys = [truth.key_of(5), truth.key_of(3)]
    assert truth.values("cifar100/valid", keys).tolist() == truth.frame["cifar100/valid"].iloc[[5, 3]].tolist()
    # the inputs of node 3 listed in another order name the same arch
    respelled = "|nor_conv_3x3~0|+|nor_conv_3x3~1|nor_conv_3x3~0|+|nor_conv_1x1~2|skip_connect~0|nor_conv_3x3~1|"
    assert truth.values("cifar10/test", [respelled])[0] == pytest.approx(94.3733, abs=1e-4)  # the value to 4 decimals
    assert truth.index_of(respelled) == truth.index_of(BEST_CIFAR10)
    single = truth.frame.index[truth.frame["cifar10/test#seed1"].isna()][0]
    assert np.isnan(truth.values("cifar10/test#seed1", [truth.key_of(int(single))])[0])


def test_missing_archs_are_counted_with_examples(truth: GroundTruth) -> None:
    with pytest.raises(GroundTruthError, match=r"2 of 3 archs are not in the nb201 ground truth.*'nonsense'"):
        truth.values("cifar10/test", [BEST_CIFAR10, "nonsense", "|foo~0|+|none~0|none~1|+|none~0|none~1|none~2|"])
    with pytest.raises(GroundTruthError, match="benchmark index 15625 is not in"):
        truth.key_of(15625)


def test_unknown_metric_lists_the_available_ones(truth: GroundTruth) -> None:
    with pytest.raises(GroundTruthError, match=r"unknown metric 'cifar10/tset'.*cifar10/test, cifar10-valid/train"):
        truth.values("cifar10/tset", [BEST_CIFAR10])
    with pytest.raises(GroundTruthError, match="unknown metric 'key'"):
        truth.seed_columns("key")


def test_check_space(truth: GroundTruth) -> None:
    truth.check_space("nb201")
    with pytest.raises(GroundTruthError, match="is for space 'nb201', not 'nasbench-macro'"):
        truth.check_space("nasbench-macro")


def test_csv_round_trip(truth: GroundTruth, tmp_path: Path) -> None:
    path = tmp_path / "nb201.csv"
    truth.to_csv(path)
    again = GroundTruth.from_csv(path)
    pd.testing.assert_frame_equal(again.frame, truth.frame, check_exact=True)
    assert again.space == "nb201" and str(path) in again.source


def test_from_csv_rejects_a_table_of_another_space(tmp_path: Path) -> None:
    path = tmp_path / "macro.csv"
    pd.DataFrame({"key": ["01201120", "22222222"], "index": [0, 1], "cifar10/test": [92.1, 93.0]}).to_csv(path)
    with pytest.raises(GroundTruthError, match="2 of 2 keys are not nb201 archs.*seems to be for another space"):
        GroundTruth.from_csv(path)


def test_from_csv_names_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(GroundTruthError, match="does not exist"):
        GroundTruth.from_csv(tmp_path / "absent.csv")
    path = tmp_path / "bad.csv"
    pd.DataFrame({"arch": [BEST_CIFAR10], "acc": [94.0]}).to_csv(path, index=False)
    with pytest.raises(GroundTruthError, match="needs 'key', 'index' and at least one metric"):
        GroundTruth.from_csv(path)
    pd.DataFrame({"key": [BEST_CIFAR10], "index": [0], "cifar10/test": ["high"]}).to_csv(path, index=False)
    with pytest.raises(GroundTruthError, match="'cifar10/test' is not numeric"):
        GroundTruth.from_csv(path)
    pd.DataFrame({"key": [BEST_CIFAR10], "index": [0], "cifar10/test": [94.0]}).to_csv(path, index=False)
    with pytest.raises(WsnasError, match="unknown search space 'nb301'"):
        GroundTruth.from_csv(path, space="nb301")


def test_second_load_reads_the_cache(mirror: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = load_nb201(mirror)

    def rebuild(*_: object) -> None:
        raise AssertionError("the combined table was rebuilt instead of read from the cache")

    monkeypatch.setattr(nb201_truth, "_combine_nb201", rebuild)
    second = load_nb201(mirror)
    pd.testing.assert_frame_equal(first.frame, second.frame, check_exact=True)


def test_registry(mirror: Path, tmp_path: Path) -> None:
    assert len(load_ground_truth("nb201", mirror)) == 15625
    with pytest.raises(UnknownSpaceError, match="unknown search space 'nb999'; known spaces: .*nb201"):
        load_ground_truth("nb999", mirror)

    class NoTable(NB201Space):
        name = "no-table"
        ground_truth = SearchSpace.ground_truth

    register_space("no-table", NoTable)
    try:
        with pytest.raises(SpaceError, match="'no-table' has no built-in ground truth; .*analysis.truth_file"):
            load_ground_truth("no-table", mirror)
        table = tmp_path / "mine.csv"
        load_nb201(mirror).to_csv(table)
        assert len(load_ground_truth("no-table", mirror, table)) == 15625  # the user's own table
    finally:
        unregister_space("no-table")


# ------------------------------------------------------------------------------------------------- sources

def test_sources_match_the_mirror(mirror: Path) -> None:
    for source in SOURCES.values():
        assert resolve(source, mirror) == mirror / source.mirror_path
        assert source.url.startswith("https://raw.githubusercontent.com/")


def test_mirror_from_the_environment(mirror: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WSNAS_DATA_MIRROR", str(mirror))
    source = SOURCES["nats_tss_200ep_test_acc"]
    assert resolve(source) == mirror / source.mirror_path


def test_corrupt_mirror_file_is_refused(mirror: Path, tmp_path: Path) -> None:
    source = SOURCES["nasbench201_cifar100_200ep"]
    copy = tmp_path / source.mirror_path
    copy.parent.mkdir(parents=True)
    for other in SOURCES.values():
        if other != source:
            (tmp_path / other.mirror_path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / other.mirror_path).symlink_to(mirror / other.mirror_path)
    data = bytearray((mirror / source.mirror_path).read_bytes())
    data[1000] ^= 1  # same size, one bit flipped
    copy.write_bytes(bytes(data))
    with pytest.raises(SourceError, match=rf"{copy}.*does not match the pinned nasbench201_cifar100_200ep.*sha256"):
        resolve(source, tmp_path)
    with pytest.raises(SourceError, match="does not match"):
        load_nb201(tmp_path)


def test_missing_mirror_file_says_where_it_is_expected(tmp_path: Path) -> None:
    source = SOURCES["mini_nasbench201_12epoch"]
    with pytest.raises(SourceError) as caught:
        resolve(source, tmp_path)
    message = str(caught.value)
    assert str(tmp_path / source.mirror_path) in message
    assert "WSNAS_DATA_MIRROR" in message and "--data-mirror" in message and source.url in message


class _Web:
    """Stands in for urllib.request.urlopen: serves bytes per URL and counts the requests."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files, self.requests = files, 0

    def __call__(self, url: str, timeout: float) -> io.BytesIO:
        self.requests += 1
        if url not in self.files:
            raise urllib.error.URLError("no route to host")
        return io.BytesIO(self.files[url])


def _upstream_files(mirror: Path) -> dict[str, bytes]:
    """What the pinned URLs serve, rebuilt from the mirror (the derived files back in their upstream format)."""
    files = {s.url: (mirror / s.mirror_path).read_bytes() for s in SOURCES.values() if s.convert is None}
    seeds = pd.read_csv(mirror / SOURCES["nb201_cifar10_200ep_test_acc_per_seed"].mirror_path,
                        dtype={"op_tuple": str})
    accs = seeds[["acc_seed_a", "acc_seed_b", "acc_seed_c"]].to_numpy()
    per_seed = {tuple(int(c) for c in ops): [float(a) for a in row if not np.isnan(a)]
                for ops, row in zip(seeds["op_tuple"], accs)}
    files[SOURCES["nb201_cifar10_200ep_test_acc_per_seed"].url] = pickle.dumps(per_seed)
    buffer = io.BytesIO()
    pd.read_csv(mirror / SOURCES["mini_nasbench201_12epoch"].mirror_path).to_pickle(buffer)
    files[SOURCES["mini_nasbench201_12epoch"].url] = buffer.getvalue()
    return files


def test_online_load_downloads_converts_and_caches(mirror: Path, truth: GroundTruth, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WSNAS_DATA_MIRROR", raising=False)
    monkeypatch.setenv("WSNAS_CACHE", str(tmp_path / "cache"))
    files = _upstream_files(mirror)
    for name in ("nb201_cifar10_200ep_test_acc_per_seed", "mini_nasbench201_12epoch"):
        # the rebuilt pickles are not byte-identical to upstream's: check them by their own size
        source = NB201_SOURCES[name]
        monkeypatch.setitem(NB201_SOURCES, name, dataclasses.replace(
            source, upstream_size=len(files[source.url]), upstream_git_blob=None))
    web = _Web(files)
    monkeypatch.setattr(sources.urllib.request, "urlopen", web)
    online = load_nb201()
    pd.testing.assert_frame_equal(online.frame, truth.frame, check_exact=True)
    assert web.requests == len(nb201_truth.NB201_TABLES)
    mini = sources.resolve(NB201_SOURCES["mini_nasbench201_12epoch"])
    assert sources.file_sha256(mini) == NB201_SOURCES["mini_nasbench201_12epoch"].sha256  # same CSV as the mirror's
    assert load_nb201().frame.equals(truth.frame) and web.requests == len(nb201_truth.NB201_TABLES)  # served from the cache


def test_download_failures_are_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WSNAS_DATA_MIRROR", raising=False)
    monkeypatch.setenv("WSNAS_CACHE", str(tmp_path))
    source = SOURCES["nasbench201_cifar10_200ep"]
    monkeypatch.setattr(sources.urllib.request, "urlopen", _Web({}))
    with pytest.raises(SourceError, match=r"could not download nasbench201_cifar10_200ep.*WSNAS_DATA_MIRROR"):
        resolve(source)
    monkeypatch.setattr(sources.urllib.request, "urlopen", _Web({source.url: b"<html>rate limited</html>"}))
    with pytest.raises(SourceError, match="is not the pinned file"):
        resolve(source)
    assert not (tmp_path / "sources" / "nasbench201_cifar10_200ep.csv").exists()


def test_a_pickle_with_code_references_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WSNAS_DATA_MIRROR", raising=False)
    monkeypatch.setenv("WSNAS_CACHE", str(tmp_path))
    payload = pickle.dumps({(0, 1, 2, 3, 4, 0): [Path("x")]})  # references pathlib.PosixPath
    source = dataclasses.replace(SOURCES["nb201_cifar10_200ep_test_acc_per_seed"], upstream_size=len(payload))
    monkeypatch.setattr(sources.urllib.request, "urlopen", _Web({source.url: payload}))
    with pytest.raises(SourceError, match="could not convert.*refusing pathlib"):
        resolve(source)


def test_hashes_are_remembered_until_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"one")
    first = sources.file_sha256(path)
    assert sources.file_sha256(path) == first
    path.write_bytes(b"two!")
    assert sources.file_sha256(path) != first
    shutil.copy(path, tmp_path / "g.bin")
    assert sources.file_sha256(tmp_path / "g.bin") == sources.file_sha256(path)
