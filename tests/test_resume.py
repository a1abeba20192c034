"""Nothing lost: kill -9 during training or evaluation and rerun the same command, concurrent writers of results,
a resumed run with another config, and a NaN loss."""
import json
import shutil
import signal
import subprocess
import sys
import time
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from conftest import assert_identical  # noqa: E402
from wsnas.cli import main  # noqa: E402
from wsnas.core.runs import RunDir  # noqa: E402
from wsnas.supernets.checkpoints import load_checkpoint, saved_epochs  # noqa: E402

TRAIN = ["train", "--preset", "smoke", "--epochs", "4", "--set", "runtime.threads=1", "--quiet"]
ARCHS = "16"


def checkpoint(run: Path, epoch: int) -> dict:
    return load_checkpoint(run / "checkpoints" / f"epoch_{epoch:04d}.pt")


def kill9_when(argv: list[str], ready: Callable[[], bool]) -> None:
    """Run `wsnas argv` in a subprocess and SIGKILL it as soon as `ready()`."""
    proc = subprocess.Popen([sys.executable, "-m", "wsnas.cli", *argv], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not ready():
        assert proc.poll() is None, f"ended before it could be killed: {proc.stderr.read()}"
        assert time.monotonic() < deadline, "never got ready to be killed"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


def scores(path: Path) -> pd.DataFrame:
    """A scores table (it holds no wall-clock column: the seconds go to score_timings.csv)."""
    return pd.read_csv(path)


def rows(path: Path) -> int:
    return len(pd.read_csv(path)) if path.is_file() else 0


def copy_run(run: Path, to: Path) -> Path:
    shutil.copytree(run, to)
    return to


@pytest.fixture(scope="module")
def trained(tmp_path_factory, mirror) -> Path:
    """An uninterrupted 4-epoch smoke training."""
    run = tmp_path_factory.mktemp("resume") / "uninterrupted"
    assert main([*TRAIN, "--data-mirror", str(mirror), "--run-dir", str(run)]) == 0
    return run


@pytest.fixture(scope="module")
def reference(trained, tmp_path_factory) -> Path:
    """The trained run, evaluated on ARCHS archs without interruption."""
    run = copy_run(trained, tmp_path_factory.mktemp("reference") / "run")
    assert main(["evaluate", str(run), "--archs", ARCHS, "--quiet"]) == 0
    return run


@pytest.fixture(scope="module")
def reference_scores(reference) -> pd.DataFrame:
    return scores(reference / "scores.csv")


def test_evaluation_stamps_its_scores_with_the_space_and_ground_truth(reference, mirror):
    from wsnas.benchmarks.groundtruth import load_ground_truth

    stamp = json.loads((reference / "scores.meta.json").read_text())
    assert stamp == {"space": "nb201", "truth_source": load_ground_truth("nb201", mirror).source}


def test_kill9_during_training_then_rerun_equals_uninterrupted(tmp_path, trained, mirror, capsys):
    run = tmp_path / "killed"
    argv = [*TRAIN, "--data-mirror", str(mirror), "--run-dir", str(run)]
    kill9_when(argv, lambda: (run / "checkpoints" / "epoch_0002.pt").exists())
    assert 2 <= saved_epochs(run / "checkpoints")[-1] < 4
    assert main(argv) == 0
    assert "resuming" in capsys.readouterr().out
    assert_identical(checkpoint(run, 4), checkpoint(trained, 4))
    log, reference = pd.read_csv(run / "train_log.csv"), pd.read_csv(trained / "train_log.csv")
    assert list(log.epoch) == [1, 2, 3, 4] and (log.loss == reference.loss).all() and (log.acc == reference.acc).all()


def test_kill9_during_evaluation_then_rerun_equals_uninterrupted(tmp_path, trained, reference_scores, capsys):
    run = copy_run(trained, tmp_path / "run")
    argv = ["evaluate", str(run), "--archs", ARCHS, "--flush-every", "2", "--quiet"]
    kill9_when(argv, lambda: rows(run / "scores.csv") >= 4)
    kept = rows(run / "scores.csv")
    assert 4 <= kept < int(ARCHS)
    assert main(argv) == 0
    assert f"{int(ARCHS) - kept} subnet scores to compute" in capsys.readouterr().out
    pd.testing.assert_frame_equal(scores(run / "scores.csv"), reference_scores)


def test_two_shards_writing_at_once_lose_nothing(tmp_path, trained, reference_scores, capsys):
    run = copy_run(trained, tmp_path / "run")
    shards = [subprocess.Popen([sys.executable, "-m", "wsnas.cli", "evaluate", str(run), "--archs", ARCHS,
                                "--shard", f"{i}/2", "--flush-every", "1", "--quiet"], stdout=subprocess.DEVNULL)
              for i in (0, 1)]
    assert [shard.wait(timeout=300) for shard in shards] == [0, 0]
    parts = [pd.read_csv(run / "shards" / f"scores-{i}-of-2.csv") for i in (0, 1)]
    assert [len(p) for p in parts] == [8, 8] and set(parts[0].key).isdisjoint(parts[1].key)
    # the last shard to finish merged both into scores.csv
    pd.testing.assert_frame_equal(scores(run / "scores.csv"), reference_scores)
    (run / "scores.csv").unlink()
    assert main(["evaluate", str(run), "--merge"]) == 0
    pd.testing.assert_frame_equal(scores(run / "scores.csv"), reference_scores)
    capsys.readouterr()
    assert main(["evaluate", str(run), "--archs", ARCHS, "--quiet"]) == 0
    assert "already scored" in capsys.readouterr().out


def _write_rows(run_path: str, writer: int) -> None:
    """One writer process: 10 rows, each written by its own read-modify-write of scores.csv."""
    from wsnas.supernets.evaluate import _merge_scores

    run = RunDir(run_path)
    for i in range(10):
        row = {"key": f"arch-{writer}-{i}", "epoch": 1, "score_set": "s", "bn_policy": "recalibrate",
               "finetune_batches": 0, "supernet_acc": float(i)}
        _merge_scores(run, [row], run.scores_path)


def test_concurrent_writers_of_scores_csv_lose_no_rows(tmp_path):
    context = get_context("fork")
    writers = [context.Process(target=_write_rows, args=(str(tmp_path), w)) for w in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
    assert [w.exitcode for w in writers] == [0, 0, 0, 0]
    assert sorted(pd.read_csv(tmp_path / "scores.csv").key) == sorted(f"arch-{w}-{i}" for w in range(4)
                                                                      for i in range(10))


def test_resumed_run_with_another_config_names_the_differing_keys(trained, capsys):
    capsys.readouterr()
    argv = [*TRAIN, "--run-dir", str(trained), "--set", "train.lr=0.2", "--set", "model.C=8"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("wsnas: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert "model.C: saved 4, now 8" in err and "train.lr: saved 0.05, now 0.2" in err
    assert "choose a new --run-dir" in err


def test_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path, trained, mirror, capsys,
                                                                    monkeypatch):
    from wsnas.supernets import train

    real_epoch = train.train_epoch

    def lr_explodes_in_epoch_2(cfg, model, data, space, epoch, opt, sched, *rest):
        if epoch == 1:
            sched.base_lrs = [1e6 for _ in sched.base_lrs]
        return real_epoch(cfg, model, data, space, epoch, opt, sched, *rest)

    monkeypatch.setattr(train, "train_epoch", lr_explodes_in_epoch_2)
    run = tmp_path / "nan"
    argv = [*TRAIN, "--data-mirror", str(mirror), "--run-dir", str(run)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("wsnas: error: ") and err.count("\n") == 1
    assert "epoch 2" in err and "the last good checkpoint is kept" in err and "Lower train.lr" in err
    assert saved_epochs(run / "checkpoints") == [1]
    good = checkpoint(run, 1)
    assert all(torch.isfinite(t).all() for t in good["model"].values())
    assert list(pd.read_csv(run / "train_log.csv").epoch) == [1]
    monkeypatch.undo()
    assert main(argv) == 0  # rerun: resumes from the good checkpoint, and loses nothing
    assert_identical(checkpoint(run, 4), checkpoint(trained, 4))
