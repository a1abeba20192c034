"""The `wsnas` CLI end to end at the smoke preset: study, resume, and one clear error per bad input."""
import json

import pandas as pd
import pytest

pytest.importorskip("torch")

from wsnas.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, mirror):
    run = tmp_path_factory.mktemp("runs") / "smoke"
    assert main(["study", "--preset", "smoke", "--run-dir", str(run), "--data-mirror", str(mirror), "--quiet"]) == 0
    return run


def test_study_writes_config_checkpoints_scores_metrics(smoke_run):
    cfg = json.loads((smoke_run / "config.json").read_text())
    assert cfg["config"]["preset"] == "smoke" and cfg["provenance"]["packages"]["torch"]
    assert sorted(p.name for p in (smoke_run / "checkpoints").iterdir()) == ["epoch_0001.pt", "epoch_0002.pt"]
    scores = pd.read_csv(smoke_run / "scores.csv")
    assert len(scores) == 12 and scores.key.is_unique and (scores.bn_policy == "recalibrate").all()
    assert scores["index"].between(0, 15_624).all() and scores.supernet_acc.between(0, 100).all()
    metrics = json.loads((smoke_run / "metrics.json").read_text())
    result = metrics["results"][0]
    assert metrics["truth"] == "cifar10/test" and result["n_archs"] == 12 and result["epoch"] == 2
    assert -1 <= result["kendall"]["value"] <= 1 and result["kendall"]["ci_low"] <= result["kendall"]["ci_high"]
    assert [t["label"] for t in result["topk"]] == ["1", "10", "1%", "10%"]
    assert len(pd.read_csv(smoke_run / "train_log.csv")) == 2


def test_study_says_where_its_time_went(smoke_run):
    seconds = json.loads((smoke_run / "study_time.json").read_text())["seconds"]
    phases = ["training", "scoring", "proxies", "analysis", "other"]
    assert list(seconds) == [*phases, "total"] and all(seconds[p] >= 0 for p in phases)
    assert seconds["training"] > 0 and seconds["scoring"] > 0
    assert abs(sum(seconds[p] for p in phases) - seconds["total"]) < 1e-6 * seconds["total"] + 1e-9


def test_rerun_resumes_and_adds_only_missing_scores(smoke_run, mirror, capsys):
    before = pd.read_csv(smoke_run / "scores.csv")
    assert main(["evaluate", str(smoke_run), "--archs", "15", "--quiet"]) == 0
    after = pd.read_csv(smoke_run / "scores.csv")
    out = capsys.readouterr().out
    assert "3 subnet scores to compute" in out and len(after) == 15
    merged = before.merge(after, on=["key", "epoch", "bn_policy"], suffixes=("_a", "_b"))
    assert (merged.supernet_acc_a == merged.supernet_acc_b).all()


def test_killed_training_resumes_to_the_same_weights(tmp_path, mirror):
    torch = pytest.importorskip("torch")
    args = ["train", "--preset", "smoke", "--data-mirror", str(mirror), "--quiet"]
    assert main([*args, "--run-dir", str(tmp_path / "a")]) == 0
    assert main([*args, "--run-dir", str(tmp_path / "b")]) == 0
    (tmp_path / "b" / "checkpoints" / "epoch_0002.pt").unlink()  # as if killed during epoch 2
    assert main([*args, "--run-dir", str(tmp_path / "b")]) == 0
    a = torch.load(tmp_path / "a" / "checkpoints" / "epoch_0002.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "b" / "checkpoints" / "epoch_0002.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def _error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("wsnas: error: ") and "Traceback" not in err
    return err


def test_bad_input_gets_one_clear_error(tmp_path, mirror, capsys, smoke_run):
    assert "is not a wsnas run" in _error(capsys, ["evaluate", str(tmp_path / "nowhere")])
    assert "unknown search space 'nb999'" in _error(
        capsys, ["train", "--preset", "smoke", "--space", "nb999", "--run-dir", str(tmp_path / "x")])
    err = _error(capsys, ["train", "--preset", "smoke", "--data", str(tmp_path / "no-cifar"), "--quiet",
                          "--run-dir", str(tmp_path / "y")])
    assert "no-cifar" in err and "--data" in err
    assert "unknown metric 'cifar10/bogus'" in _error(capsys, ["analyze", str(smoke_run), "--truth", "cifar10/bogus"])
    assert main(["analyze", str(smoke_run), "--quiet"]) == 0  # the bad override was not saved into the run
    assert "was made with a different config" in _error(
        capsys, ["train", "--preset", "smoke", "--set", "model.C=8", "--run-dir", str(smoke_run)])


def test_corrupt_checkpoint_is_named(tmp_path, mirror, capsys, smoke_run):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(smoke_run, run)
    (run / "scores.csv").unlink()
    ckpt = run / "checkpoints" / "epoch_0002.pt"
    ckpt.write_bytes(ckpt.read_bytes()[:1000])
    err = _error(capsys, ["evaluate", str(run), "--quiet"])
    assert "epoch_0002.pt is corrupt or truncated" in err and "Delete it" in err
