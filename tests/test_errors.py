"""Bad input gets one clear error through the CLI: one test per row of docs/errors.md.

Each checks that `wsnas` exits with 2 and prints a single line `wsnas: error: ...` (no traceback) holding the
row's key phrase: what the input is, what is wrong and how to fix it.
"""
import json
import random
from pathlib import Path

import pandas as pd
import pytest

from wsnas.benchmarks.registry import get_space
from wsnas.cli import main
from wsnas.core.config import build_config
from wsnas.core.runs import RunDir

SMOKE = ["train", "--preset", "smoke", "--quiet"]


def error_of(capsys, argv: list[str]) -> str:
    """The one-line error of `wsnas argv`."""
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("wsnas: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def nb201_keys(n: int) -> list[str]:
    space = get_space("nb201")
    return [space.format(arch) for arch in space.sample(n, seed=0)]


def scored_run(path: Path, mirror: Path, keys: list[str]) -> Path:
    """A run directory with a config and a scores table for `keys` (scores made up: only the inputs are tested)."""
    RunDir(path).init(build_config("smoke", overrides={"data.mirror": str(mirror)}))
    rng = random.Random(0)
    pd.DataFrame({"key": keys, "epoch": 2, "bn_policy": "recalibrate",
                  "supernet_acc": [rng.uniform(10, 50) for _ in keys]}).to_csv(path / "scores.csv", index=False)
    return path


def audit_tables(tmp_path: Path, score_keys: list[str], truth: dict[str, list]) -> list[str]:
    """`wsnas audit` arguments for a scores table of `score_keys` and a truth table of columns `truth`."""
    pd.DataFrame({"key": score_keys, "supernet_acc": 1.0}).to_csv(tmp_path / "scores.csv", index=False)
    pd.DataFrame(truth).to_csv(tmp_path / "truth.csv", index=False)
    return ["audit", "--scores", str(tmp_path / "scores.csv"), "--truth", str(tmp_path / "truth.csv"),
            "--space", "nb201", "--out", str(tmp_path / "audit")]


def test_unknown_space(tmp_path, capsys):
    err = error_of(capsys, [*SMOKE, "--space", "nb999", "--run-dir", str(tmp_path / "run")])
    assert "unknown search space 'nb999'; known spaces: " in err and "nb201" in err


def test_unknown_dataset(tmp_path, capsys):
    err = error_of(capsys, [*SMOKE, "--set", "data.dataset=imagenet", "--run-dir", str(tmp_path / "run")])
    assert "space 'nb201' trains on cifar10, not 'imagenet'; set data.dataset" in err


def test_malformed_arch_string(tmp_path, capsys):
    keys = nb201_keys(30)
    truth = {"key": keys, "accuracy": 90.0}
    err = error_of(capsys, audit_tables(tmp_path, [*keys[:29], "|nor_conv_3x3~0|+|none~0|"], truth))
    assert "1 of 30 key(s) are not nb201 archs, e.g. line 31 '|nor_conv_3x3~0|+|none~0|'" in err
    assert "expected 3 '+'-separated nodes, got 2; expected |op~0|+|op~0|op~1|+|op~0|op~1|op~2|" in err


def test_arch_of_another_space_in_a_runs_scores(tmp_path, mirror, capsys):
    darts = "normal=[('sep_conv_3x3', 0), ('skip_connect', 1)]"
    run = scored_run(tmp_path / "run", mirror, [*nb201_keys(11), darts])
    err = error_of(capsys, ["analyze", str(run)])
    assert "1 of 12 archs are not in the nb201 ground truth" in err and darts in err
    assert "pass archs of the nb201 space, e.g. '|" in err


def test_ground_truth_table_of_another_space(tmp_path, capsys):
    darts = [f"normal=[('sep_conv_3x3', {i})]" for i in range(30)]
    err = error_of(capsys, audit_tables(tmp_path, nb201_keys(30), {"key": darts, "accuracy": 90.0}))
    assert "truth table" in err and "30 of 30 key(s) are not nb201 archs" in err and "the right --space" in err


def test_ground_truth_table_missing_a_column(tmp_path, capsys):
    keys = nb201_keys(30)
    err = error_of(capsys, audit_tables(tmp_path, keys, {"key": keys, "test_acc": 90.0}))
    assert "has no column 'accuracy' (columns present: 'key', 'test_acc'); name the right one with --truth-col" in err


def test_ground_truth_file_in_the_mirror_that_is_not_the_pinned_one(tmp_path, capsys):
    table = tmp_path / "mirror" / "groundtruth" / "nas-bench-201" / "nats_tss_200ep_test_acc.csv"
    table.parent.mkdir(parents=True)
    table.write_text("arch,accuracy\nsomething else,90.0\n")
    err = error_of(capsys, ["benchmarks", "fetch", "--data-mirror", str(tmp_path / "mirror")])
    assert f"data mirror file {table}" in err and "does not match the pinned nats_tss_200ep_test_acc" in err
    assert "restore it from https://" in err


def test_data_directory_missing(tmp_path, capsys):
    err = error_of(capsys, [*SMOKE, "--data", str(tmp_path / "no-cifar"), "--run-dir", str(tmp_path / "run")])
    assert f"CIFAR-10 data path {tmp_path / 'no-cifar'} does not exist" in err
    assert "--data-mirror DIR / WSNAS_DATA_MIRROR=DIR" in err and "downloads https://" in err


def test_data_directory_incomplete(tmp_path, capsys):
    (tmp_path / "cifar" / "train" / "airplane").mkdir(parents=True)
    (tmp_path / "cifar" / "test").mkdir()
    err = error_of(capsys, [*SMOKE, "--data", str(tmp_path / "cifar"), "--run-dir", str(tmp_path / "run")])
    assert f"CIFAR-10 image folder {tmp_path / 'cifar' / 'train'} has the wrong class dirs: missing automobile" in err
    assert "--data-mirror DIR" in err
    err = error_of(capsys, [*SMOKE, "--data-mirror", str(tmp_path), "--run-dir", str(tmp_path / "run2")])
    assert f"data mirror {tmp_path} (from --data-mirror or WSNAS_DATA_MIRROR) has no datasets/cifar10-jpeg/" in err


def test_truncated_checkpoint(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    from wsnas.supernets.checkpoints import save_checkpoint

    run = tmp_path / "run"
    RunDir(run).init(build_config("smoke", overrides={"runtime.progress": False}))
    path = save_checkpoint(run / "checkpoints", 1, {"model": {"w": torch.zeros(10_000)}})
    path.write_bytes(path.read_bytes()[:2_000])
    err = error_of(capsys, [*SMOKE, "--run-dir", str(run)])
    assert f"checkpoint {path} is corrupt or truncated" in err and "Delete it: training resumes" in err


def test_scores_of_another_benchmark_version(tmp_path, mirror, capsys):
    run = scored_run(tmp_path / "run", mirror, nb201_keys(12))
    (run / "scores.meta.json").write_text(json.dumps({"space": "nb201", "truth_source": "NAS-Bench-201: v0.9"}))
    err = error_of(capsys, ["analyze", str(run)])
    assert f"the scores of {run} were made against another benchmark version" in err
    assert "truth_source: scores 'NAS-Bench-201: v0.9', loaded 'NAS-Bench-201: " in err
    assert "rerun `wsnas evaluate" in err


def test_shard_that_is_not_one(tmp_path, capsys):
    run = tmp_path / "run"
    RunDir(run).init(build_config("smoke"))
    err = error_of(capsys, ["evaluate", str(run), "--shard", "2/2"])
    assert "--shard '2/2' is not 'i/n' with 0 <= i < n" in err


def test_batch_that_does_not_split_over_the_ranks(tmp_path, capsys, monkeypatch):
    for name, value in (("RANK", "0"), ("WORLD_SIZE", "3"), ("LOCAL_RANK", "0")):  # as torchrun sets them
        monkeypatch.setenv(name, value)
    err = error_of(capsys, [*SMOKE, "--run-dir", str(tmp_path / "run")])
    assert "train.batch_size=64 does not split over 3 ranks; choose a multiple of 3" in err
