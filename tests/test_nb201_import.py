"""Import of official NAS-Bench-201 files, checked on a tiny file in the official format built here."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from wsnas.benchmarks.groundtruth import GroundTruthError
from wsnas.benchmarks.spaces.nb201.official import import_official

torch = pytest.importorskip("torch")
nas_201_api = pytest.importorskip("nas_201_api")

ARCHS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
    # node 3's inputs listed out of order: imported under the canonical key
    "|none~0|+|none~0|none~1|+|skip_connect~2|none~0|none~1|",
]
CANONICAL_3 = "|none~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|"
EPOCHS = 2  # only the last epoch is read


def _run(arch: str, dataset: str, seed: int, train: float, evals: dict[str, float]):
    """One training run (ResultsCount) with constant accuracies over its epochs."""
    per_epoch = {e: train for e in range(EPOCHS)}
    run = nas_201_api.ResultsCount(dataset, None, per_epoch, {e: 0.1 for e in range(EPOCHS)}, 0.5, 50.0,
                                   {"arch_str": arch}, seed, EPOCHS, [0.01])
    keys = [f"{name}@{e}" for name in evals for e in range(EPOCHS)]
    run.update_eval({k: evals[k.split("@")[0]] for k in keys}, {k: 0.2 for k in keys}, {k: 1.0 for k in keys})
    return run


def _arch_results(index: int, arch: str, base: float, seeds: int, hp12: bool):
    """ArchResults of one arch: `seeds` runs on cifar10; one run on the other datasets."""
    results = nas_201_api.ArchResults(index, arch)
    offset = 0.0 if hp12 else 10.0
    for k, seed in enumerate((777, 888, 999)[:seeds]):
        results.update("cifar10", seed, _run(arch, "cifar10", seed, base + 5, {"ori-test": base + offset + k}))
    results.update("cifar10-valid", 777, _run(arch, "cifar10-valid", 777, base + 4,
                                              {"x-valid": base + offset - 1, "ori-test": base + offset - 2}))
    for shift, dataset in ((-20, "cifar100"), (-40, "ImageNet16-120")):
        results.update(dataset, 777, _run(arch, dataset, 777, base + shift + 3, {
            "x-valid": base + offset + shift, "x-test": base + offset + shift - 0.5,
            "ori-test": base + offset + shift - 0.25}))
    return results.state_dict()


def _benchmark_file(path: Path, numpy_values: bool = False) -> Path:
    data = {"meta_archs": ARCHS, "evaluated_indexes": [0, 1, 2],
            "arch2infos": {i: {"full": _arch_results(i, a, 80.0 + i, seeds=3 - i, hp12=False),
                               "less": _arch_results(i, a, 60.0 + i, seeds=1, hp12=True)}
                           for i, a in enumerate(ARCHS)}}
    if numpy_values:  # as a file written from numpy computations would hold them
        run = data["arch2infos"][0]["full"]["all_results"][("cifar10", 777)]
        run["eval_acc1es"] = {k: np.float64(v) for k, v in run["eval_acc1es"].items()}
    torch.save(data, path)
    return path


def test_import_reads_the_official_format(tmp_path: Path) -> None:
    truth = import_official(_benchmark_file(tmp_path / "NAS-Bench-201-v1_1-tiny.pth"))
    assert truth.space == "nb201" and "NAS-Bench-201-v1_1-tiny.pth" in truth.source
    assert truth.frame["key"].tolist() == [ARCHS[0], ARCHS[1], CANONICAL_3]
    assert truth.frame["index"].tolist() == [0, 1, 2]
    keys = truth.frame["key"].tolist()
    # 200 epochs: arch i has base 80+i, +10 offset; cifar10 test is the mean over its 3-i seeds
    assert truth.values("cifar10/test", keys).tolist() == [91.0, 91.5, 92.0]
    assert truth.values("cifar10-valid/train", keys).tolist() == [84.0, 85.0, 86.0]
    assert truth.values("cifar10-valid/valid", keys).tolist() == [89.0, 90.0, 91.0]
    assert truth.values("cifar10-valid/test", keys).tolist() == [88.0, 89.0, 90.0]
    assert truth.values("cifar100/valid", keys).tolist() == [70.0, 71.0, 72.0]
    assert truth.values("cifar100/test", keys).tolist() == [69.5, 70.5, 71.5]
    assert truth.values("ImageNet16-120/train", keys).tolist() == [43.0, 44.0, 45.0]
    assert truth.values("ImageNet16-120/test", keys).tolist() == [49.5, 50.5, 51.5]
    # 12 epochs: base 60+i, no offset
    assert truth.values("cifar10-valid/valid@12ep", keys).tolist() == [59.0, 60.0, 61.0]
    assert truth.values("cifar10/test@12ep", keys).tolist() == [60.0, 61.0, 62.0]
    assert truth.values("ImageNet16-120/valid@12ep", keys).tolist() == [20.0, 21.0, 22.0]
    assert truth.seed_columns("cifar10/test") == [f"cifar10/test#seed{k}" for k in range(3)]
    assert truth.values("cifar10/test#seed0", keys).tolist() == [90.0, 91.0, 92.0]
    seed2 = truth.values("cifar10/test#seed2", keys)
    assert seed2[0] == 92.0 and math.isnan(seed2[1]) and math.isnan(seed2[2])


def test_only_the_metrics_the_file_has(tmp_path: Path) -> None:
    """Like NAS-Bench-201-v1_0, whose 12-epoch runs cover cifar10-valid only."""
    path = _benchmark_file(tmp_path / "v1_0.pth")
    data = torch.load(path, weights_only=True)
    for infos in data["arch2infos"].values():
        less = infos["less"]
        less["dataset_seed"] = {"cifar10-valid": less["dataset_seed"]["cifar10-valid"]}
        less["all_results"] = {k: v for k, v in less["all_results"].items() if k[0] == "cifar10-valid"}
    torch.save(data, path)
    truth = import_official(path)
    assert [m for m in truth.metrics() if m.endswith("@12ep")] == ["cifar10-valid/valid@12ep"]
    assert "cifar10/test" in truth.metrics()


def test_numpy_numbers_load_without_trusting_the_file(tmp_path: Path) -> None:
    truth = import_official(_benchmark_file(tmp_path / "np.pth", numpy_values=True))
    assert truth.values("cifar10/test#seed0", [ARCHS[0]])[0] == 90.0


def test_a_file_with_code_references_needs_trust(tmp_path: Path) -> None:
    path = tmp_path / "objects.pth"
    torch.save({"meta_archs": ARCHS, "arch2infos": {}, "evaluated_indexes": [], "where": Path("x")}, path)
    with pytest.raises(GroundTruthError, match=r"holds pathlib.PosixPath, so it is not loaded.*trust=True"):
        import_official(path)
    with pytest.raises(GroundTruthError, match="no architectures"):  # trusted, it loads; it holds no archs
        import_official(path, trust=True)


@pytest.mark.parametrize("content", [b"", b"not a torch file at all", None])
def test_missing_or_corrupt_file_is_one_clear_error(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(GroundTruthError, match=str(path)):
        import_official(path)


def test_truncated_file_is_one_clear_error(tmp_path: Path) -> None:
    path = _benchmark_file(tmp_path / "full.pth")
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(GroundTruthError, match="not a readable NAS-Bench-201 .pth file"):
        import_official(path)


def test_wrong_structure_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "other.pth"
    torch.save({"state_dict": {}}, path)
    with pytest.raises(GroundTruthError, match="expected a dict with 'meta_archs'"):
        import_official(path)
    torch.save({"meta_archs": ARCHS, "arch2infos": {0: {"full": {"junk": 1}}}}, path)
    with pytest.raises(GroundTruthError, match="corrupt or not in the NAS-Bench-201 format"):
        import_official(path)


def test_missing_packages_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _benchmark_file(tmp_path / "b.pth")
    monkeypatch.setitem(sys.modules, "nas_201_api", None)
    with pytest.raises(GroundTruthError, match="pip install nas-bench-201"):
        import_official(path)
    nats_dir = tmp_path / "NATS-tss-v1_0-3ffb9-simple"
    nats_dir.mkdir()
    monkeypatch.setitem(sys.modules, "nats_bench", None)
    with pytest.raises(GroundTruthError, match="pip install nats_bench"):
        import_official(nats_dir)
