"""`wsnas standalone` at the smoke preset: the truth table, its resume rules, and that a one-path supernet is
exactly the standalone network (nothing off the path moves)."""
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from wsnas.benchmarks.groundtruth import GroundTruth  # noqa: E402
from wsnas.benchmarks.registry import get_space  # noqa: E402
from wsnas.cli import main  # noqa: E402
from wsnas.core.plugins import load_plugins  # noqa: E402

PLUGIN = Path(__file__).resolve().parents[1] / "examples" / "tinyconv" / "plugin.py"
METRIC = "cifar10/standalone"
SEEDS = [f"{METRIC}#seed0", f"{METRIC}#seed1"]


def _standalone(out: Path, mirror: Path, *extra: str) -> int:
    return main(["standalone", "--plugin", str(PLUGIN), "--space", "tinyconv", "--preset", "smoke", "--archs", "4",
                 "--seeds", "2", "--out", str(out), "--data-mirror", str(mirror), "--quiet",
                 "--set", "runtime.threads=1", *extra])


@pytest.fixture(scope="module")
def table(tmp_path_factory, mirror) -> Path:
    out = tmp_path_factory.mktemp("standalone") / "truth.csv"
    assert _standalone(out, mirror) == 0
    return out


def test_table_holds_the_evaluation_sample_with_per_seed_columns(table):
    space = get_space("tinyconv")
    frame = pd.read_csv(table)
    assert list(frame.columns) == ["key", "index", METRIC, *SEEDS]
    assert frame.key.tolist() == [space.format(a) for a in space.sample(4, 0)]  # what `wsnas evaluate` scores
    order = [space.format(a) for a in space.enumerate()]
    assert frame["index"].tolist() == [order.index(k) for k in frame.key]
    assert np.allclose(frame[METRIC], frame[SEEDS].mean(axis=1))
    assert frame[SEEDS].stack().between(0, 100).all() and (frame[SEEDS[0]] != frame[SEEDS[1]]).any()
    truth = GroundTruth.from_csv(table, "tinyconv")
    assert truth.metrics() == [METRIC] and truth.seed_columns(METRIC) == SEEDS
    header = json.loads(table.with_name("truth.csv.config.json").read_text())
    assert header["standalone"] == {"seeds": 2, "metric": METRIC}
    assert header["config"]["space"] == "tinyconv" and header["config"]["plugins"] == [str(PLUGIN)]
    assert header["provenance"]["packages"]["torch"]


def test_rerun_adds_nothing(table, mirror, capsys):
    before = table.read_bytes()
    assert _standalone(table, mirror) == 0
    assert "nothing to train" in capsys.readouterr().out and table.read_bytes() == before


def test_partial_table_resumes_to_the_same_values(table, mirror, tmp_path, capsys):
    out = tmp_path / "truth.csv"
    shutil.copy(table.with_name("truth.csv.config.json"), tmp_path)
    full = pd.read_csv(table)
    full.head(1).to_csv(out, index=False)  # as if killed after the first arch
    assert _standalone(out, mirror) == 0
    assert "3 of 4 sampled archs to train" in capsys.readouterr().out
    pd.testing.assert_frame_equal(pd.read_csv(out), full)  # each run's seed depends on the arch alone


def _error(capsys, argv_call) -> str:
    assert argv_call() == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("wsnas: error: ") and "Traceback" not in err
    return err


def test_other_settings_are_refused_naming_the_keys(table, mirror, tmp_path, capsys):
    before = table.read_bytes()
    err = _error(capsys, lambda: _standalone(table, mirror, "--set", "train.lr=0.1"))
    assert "train.lr: saved 0.05, now 0.1" in err and "another --out" in err
    err = _error(capsys, lambda: main(["standalone", "--plugin", str(PLUGIN), "--space", "tinyconv", "--preset",
                                       "smoke", "--archs", "4", "--seeds", "3", "--out", str(table), "--quiet",
                                       "--data-mirror", str(mirror), "--set", "runtime.threads=1"]))
    assert "standalone.seeds: saved 2, now 3" in err
    assert table.read_bytes() == before
    lone = tmp_path / "lone.csv"
    shutil.copy(table, lone)
    assert "how it was trained is unknown" in _error(capsys, lambda: _standalone(lone, mirror))


def test_weight_averaging_is_refused_not_ignored(mirror, tmp_path, capsys):
    err = _error(capsys, lambda: _standalone(tmp_path / "t.csv", mirror, "--set", "train.ema_decay=0.99"))
    assert "would ignore train.ema_decay; drop them" in err and not (tmp_path / "t.csv").exists()


def test_nb201_gets_a_standalone_table_too(tmp_path, mirror):
    out = tmp_path / "nb201.csv"
    assert main(["standalone", "--space", "nb201", "--preset", "smoke", "--archs", "1", "--out", str(out),
                 "--data-mirror", str(mirror), "--quiet", "--set", "runtime.threads=1"]) == 0
    truth = GroundTruth.from_csv(out, "nb201")
    assert len(truth) == 1 and truth.seed_columns(METRIC) == [f"{METRIC}#seed0"]


def test_one_path_training_moves_nothing_off_the_path(monkeypatch):
    """No gradient, momentum or weight decay reaches a module off the path: the trained supernet holds exactly
    the arch's standalone network, plus untouched initial weights elsewhere."""
    import dataclasses

    from tqdm import tqdm

    import wsnas.supernets.registry as registry
    from wsnas.core.config import build_config
    from wsnas.supernets.data import DeviceImages
    from wsnas.supernets.runtime import resolve_runtime
    from wsnas.supernets.standalone import _train_and_score

    load_plugins([str(PLUGIN)])
    cfg = build_config("smoke", overrides={"space": "tinyconv", "train.epochs": 1, "runtime.threads": 1})
    rt = resolve_runtime(cfg.runtime)
    rng = np.random.default_rng(0)
    images = DeviceImages(rng.integers(0, 256, (128, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, 128))
    space = get_space("tinyconv")
    arch = space.parse("k3w16-skip-k5w8")
    built = []
    real = registry.build_model
    monkeypatch.setattr(registry, "build_model", lambda c, r: built.append(real(c, r)) or built[-1])
    held_out = list(images.batches(64, shuffle=False, augment=False))
    accuracy = _train_and_score(cfg, space, arch, 7, images, held_out, rt, tqdm(disable=True))
    initial = real(dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, seed=7)), rt).state_dict()
    trained = built[0].state_dict()
    on_path = ("stem.", "classifier.", "layers.0.k3w16.", "layers.2.k5w8.")
    moved = {name for name in initial if not torch.equal(initial[name], trained[name])}
    assert moved and all(name.startswith(on_path) for name in moved)
    assert {name for name in initial if name.startswith(on_path) and name.endswith("weight")} <= moved
    assert 0 <= accuracy <= 100
