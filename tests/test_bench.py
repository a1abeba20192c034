"""`wsnas bench --quick` end to end on a tiny stand-in CIFAR-10, and its baselines: the per-image pipeline feeds
the same images as the on-device one, the naive evaluator scores exactly as SubnetScorer, xautodl's adapter runs
the arch it is given. No timing assertions: the figures come from the lead's quiet-machine run."""
import json
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from wsnas.benchmarks.registry import get_space  # noqa: E402
from wsnas.cli import main  # noqa: E402
from wsnas.core.config import RuntimeConfig, build_config  # noqa: E402
from wsnas.supernets.bench import dataloader_baselines  # noqa: E402
from wsnas.supernets.bench.sizes import Shape  # noqa: E402
from wsnas.supernets.bench.train_throughput import train_row  # noqa: E402
from wsnas.supernets.data import DeviceImages  # noqa: E402
from wsnas.supernets.evaluate import materialize, score_subnet  # noqa: E402
from wsnas.supernets.models.nb201 import NB201Supernet, extract_subnet  # noqa: E402
from wsnas.supernets.runtime import resolve_runtime  # noqa: E402

SPACE = get_space("nb201")


@pytest.fixture(scope="module")
def bench(cifar, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    # one torch thread: the test machine is shared, and oversubscribed OpenMP threads crawl
    assert main(["bench", "--quick", "--out", str(out), "--data", str(cifar), "--spaces", "nb201",
                 "--workers", "0", "--threads", "1", "--quiet"]) == 0
    return json.loads((out / "bench.json").read_text())


def test_quick_bench_writes_every_measurement(bench):
    assert bench["options"]["size"] == "quick" and bench["machine"]["torch_threads"] == 1
    rounds = bench["options"]["rounds"]
    assert bench["peak"]["fp32_gflops"] > 0 and rounds == 2
    (row,) = bench["train"]
    for name in ("wsnas", "wsnas_dataloader", "model_only"):
        figure = row[name]["images_per_s"]
        assert len(figure["values"]) == rounds and figure["min"] <= figure["median"] <= figure["max"]
        assert figure["min"] > 0 and row[name]["peak_rss_mb"] > 0
    xautodl = row["xautodl_dataloader"]
    assert "images_per_s" in xautodl or dataloader_baselines.XAUTODL_HINT in xautodl["skipped"]
    assert xautodl.get("runtime", {"amp": "off"})["amp"] == "off"  # the peer runs as its users run it
    assert {"wsnas_dataloader", "model_only"} <= set(row["ratios"])
    e = bench["eval"]
    assert e["fp32_identical_accuracy"] and e["subnets"] == 3 and len(e["accuracies"]) == 3
    for name in ("wsnas", "wsnas_fp32", "naive"):
        assert len(e[name]["subnets_per_min"]["values"]) == rounds and e[name]["subnets_per_min"]["median"] > 0
    assert e["naive_workers"] == 0 and e["sharing"]["archs"] == 3
    assert e["sharing"]["distinct_steps"] < e["sharing"]["steps"]  # the stem, at least, is shared
    scaling = bench["scaling"]["nb201"]
    assert [p["epochs"] for p in scaling["epochs"]] == [1, 2] and [p["subnets"] for p in scaling["subnets"]] == [2, 4]
    assert {"overhead_s", "per_unit_s", "r2"} <= set(scaling["epochs_fit"]) and "subnets_fit" in scaling
    assert bench["scaling_skipped"] == {}
    for part in (*bench["profile"]["train"], bench["profile"]["eval"]):
        assert part["flops"] > 0 and part["fraction_of_peak"] > 0
        assert sum(part["shares"].values()) == pytest.approx(1.0) and part["top_ops"]
    assert set(bench["profile"]["train"][0]["phases_s"]) == set(("data", "forward", "backward", "optimizer"))
    p = bench["profile"]["eval"]
    assert 0 < p["mflop_per_subnet"] < p["mflop_per_subnet_whole"]
    layout = bench["layout"]  # what the `wide` layout rests on: each stage's ops in both formats
    assert [s["channels"] for s in layout["stages"]] == [4, 8, 16] and [s["pixels"] for s in layout["stages"]] == [
        32, 16, 8]
    for stage in layout["stages"]:
        assert set(stage["ms"]) == {f"{op}/{fmt}" for op in ("batch_norm", "relu_conv3x3")
                                    for fmt in ("contiguous", "channels_last")}
        assert all(len(s["values"]) == rounds and s["median"] > 0 for s in stage["ms"].values())
    figures = bench["figures"]
    assert figures["eval/wsnas over naive"]["value"] == e["ratios"]["wsnas over naive"]["median"]
    assert all(f["value"] > 0 for f in figures.values() if f["unit"] in ("images/s", "subnets/min", "x"))
    assert isinstance(bench["warnings"], list)


def test_compare_prints_each_figures_ratio(bench, tmp_path, capsys):
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(bench))
    faster = json.loads(json.dumps(bench))
    faster["figures"]["eval/wsnas subnets/min"]["value"] *= 2
    del faster["figures"]["peak/fp32 GFLOP/s"]
    new.write_text(json.dumps(faster))
    assert main(["bench", "--compare", str(old), "--against", str(new)]) == 0
    out = capsys.readouterr().out
    assert "eval/wsnas subnets/min" in out and " 2.00x  faster" in out and "only in the old document: peak" in out
    legacy = tmp_path / "legacy.json"
    legacy.write_text(json.dumps({"train": []}))
    assert main(["bench", "--compare", str(legacy), "--against", str(new)]) == 2
    assert "has no `figures`" in capsys.readouterr().err


def test_profiler_lines_stay_off_stderr(capfd):
    from wsnas.supernets.bench.profile import profile

    rt = resolve_runtime(RuntimeConfig(device="cpu"))
    profile(lambda: torch.ones(4).sum(), rt)
    assert "profiler" not in capfd.readouterr().err


def test_busy_machine_warnings():
    from wsnas.supernets.bench.measure import busy_warnings, summary

    doc = {"train": [{"wsnas": {"images_per_s": summary([100.0, 101.0, 160.0])}}],
           "scaling": {"nb201": {"epochs_fit": {"per_unit_s": 1.0, "overhead_s": 0.0, "r2": 0.4}}},
           "calm": summary([100.0, 101.0, 102.0])}
    found = busy_warnings(doc)
    assert len(found) == 2 and "train[0].wsnas.images_per_s: rounds spread 59%" in found[0] and "R^2 0.40" in found[1]


def test_unknown_space_is_one_clear_error(capsys):
    assert main(["bench", "--quick", "--spaces", "nb201,nb999"]) == 2
    assert "unknown search space 'nb999'" in capsys.readouterr().err


def test_naive_evaluator_scores_exactly_as_subnet_scorer():
    rt = resolve_runtime(RuntimeConfig(device="cpu"))
    rng = np.random.default_rng(1)
    train_x, valid_x = (rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8) for n in (96, 40))
    train_y, valid_y = rng.integers(0, 10, 96), rng.integers(0, 10, 40)
    train, valid = DeviceImages(train_x, train_y), DeviceImages(valid_x, valid_y)
    calib = materialize(train, 32, 2, seed=3, rt=rt, shuffle=True)
    evaluation = materialize(valid, 16, None, seed=3, rt=rt, shuffle=False)
    order = torch.randperm(96, generator=torch.Generator().manual_seed(3))[:64].tolist()
    calib_loader = dataloader_baselines.make_loader(train_x, train_y, 32, augment=False, workers=0, rt=rt, order=order)
    eval_loader = dataloader_baselines.make_loader(valid_x, valid_y, 16, augment=False, workers=0, rt=rt)
    for (x, y), (lx, ly) in zip(calib + evaluation, list(calib_loader) + list(eval_loader), strict=True):
        assert torch.equal(x, lx) and torch.equal(y, ly)  # bit-identical images through both pipelines
    torch.manual_seed(0)
    supernet = NB201Supernet(C=4, N=1)
    naive = dataloader_baselines.NaiveEvaluator(supernet, extract_subnet, calib_loader, eval_loader, rt)
    for arch in SPACE.sample(4, seed=0):
        acc, loss = score_subnet(supernet, arch, calib, evaluation, rt, "recalibrate")
        naive_acc, naive_loss = naive.score(arch)
        # the same float32 kernels; the mean losses sum the same terms in another order: at most n u = 2.4e-6
        # relative over n = 40 images, below 1e-5
        assert naive_acc == acc and naive_loss == pytest.approx(loss, rel=1e-5)


def test_augmentation_is_a_padded_crop_and_flip():
    image = np.random.default_rng(2).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    plain = dataloader_baselines.PerImageTransform(augment=False)
    padded = np.pad(image, ((4, 4), (4, 4), (0, 0)))
    candidates = [plain(dataloader_baselines.Image.fromarray(np.ascontiguousarray(crop[:, ::-1] if flip else crop)))
                  for i in range(9) for j in range(9) for crop in [padded[i:i + 32, j:j + 32]] for flip in (0, 1)]
    augment = dataloader_baselines.PerImageTransform(augment=True)
    torch.manual_seed(0)
    for _ in range(10):
        out = augment(dataloader_baselines.Image.fromarray(image))
        assert any(torch.equal(out, c) for c in candidates)


def test_xautodl_adapter_runs_the_given_arch():
    pytest.importorskip("xautodl")
    net = dataloader_baselines.XautodlNB201(C=4, N=1, num_classes=10)
    for arch in SPACE.sample(5, seed=1):
        assert net.genotype(arch).tostr() == SPACE.format(arch)
        assert net(torch.randn(2, 3, 32, 32), arch).shape == (2, 10)


def test_missing_xautodl_skips_its_row_with_the_install_hint(cifar, monkeypatch):
    for name in ["xautodl", *(m for m in sys.modules if m.startswith("xautodl."))]:
        monkeypatch.setitem(sys.modules, name, None)  # importing it raises ImportError
    with pytest.raises(dataloader_baselines.XautodlMissing, match="pip install --no-deps xautodl"):
        dataloader_baselines.XautodlNB201(C=4, N=1, num_classes=10)
    base = build_config("cpu", overrides={"data.root": str(cifar), "data.n_train": 64, "data.n_valid": 16,
                                          "runtime.device": "cpu", "runtime.progress": False})
    row = train_row(base, Shape("t", 4, 1, 8, warmup=1, steps=1), resolve_runtime(base.runtime), 0, False, 1)
    assert dataloader_baselines.XAUTODL_HINT in row["xautodl_dataloader"]["skipped"]
    assert row["wsnas_dataloader"]["images_per_s"]["median"] > 0 and "xautodl_dataloader" not in row["ratios"]
