"""The training-protocol study (wsnas protocol-study): one replicate group per protocol on the same archs, a
leaderboard whose paired figures equal `wsnas compare`'s, resumable, and bad input refused before training."""
import pandas as pd
import pytest

from wsnas.analysis.paired_compare import compare
from wsnas.core.errors import WsnasError
from wsnas.core.runs import RunDir
from wsnas.workflows.protocol_registry import Protocol, protocol, protocols, register_protocol

pytest.importorskip("torch")


def test_protocols_are_records_with_overrides_and_sources():
    assert protocol("cosine").overrides == {"train.lr_schedule": "cosine"}
    assert all(p.summary and p.source for p in protocols())
    assert protocol("strict-fair").epochs(20) == 4 and protocol("ema").epochs(20) == 20  # the same budget
    with pytest.raises(WsnasError, match="unknown training protocol 'nope'; known: default, cosine"):
        protocol("nope")


def test_a_protocol_study_at_smoke_size(tmp_path, mirror, capsys):
    from wsnas.cli import main

    register_protocol(Protocol("lr-half", {"train.lr": 0.025}, "half the learning rate", "a test"))
    out, report = tmp_path / "protocols", tmp_path / "report"
    argv = ["protocol-study", "--preset", "smoke", "--replicates", "2", "--protocols", "default,lr-half",
            "--out", str(out), "--report", str(report), "--data-mirror", str(mirror), "--set", "runtime.threads=1"]
    assert main(argv) == 0
    table = pd.read_csv(out / "leaderboard.csv")
    assert table["protocol"].tolist() == ["default", "lr-half"]
    assert table.loc[0, ["vs_reference", "vs_reference_p"]].isna().all()
    paired = compare(str(out / "lr-half"), str(out / "default"))["differences"]["kendall"]
    assert table.loc[1, "vs_reference"] == pytest.approx(paired["difference"], abs=1e-12)
    assert table.loc[1, "vs_reference_low"] == pytest.approx(paired["ci_low"], abs=1e-12)
    assert RunDir(out / "lr-half" / "rep-0").config().train.lr == 0.025 and (table["train_cpu_s"] > 0).all()
    md = (report / "leaderboard.md").read_text()
    assert md.startswith("# Training protocols at equal budget\n\n- Better than `default`")
    assert (report / "leaderboard.png").stat().st_size > 10_000
    first = (out / "leaderboard.csv").read_bytes()
    capsys.readouterr()
    assert main(argv) == 0  # resumed: nothing is trained again, the same leaderboard
    assert "epoch 1/" not in capsys.readouterr().out and (out / "leaderboard.csv").read_bytes() == first


def test_bad_input_is_refused_before_training(tmp_path, mirror, capsys):
    from wsnas.cli import main

    base = ["protocol-study", "--preset", "smoke", "--out", str(tmp_path / "p"), "--data-mirror", str(mirror)]
    for extra, message in [(["--replicates", "2", "--protocols", "default,nope"], "unknown training protocol 'nope'"),
                           (["--protocols", "default,cosine"], "give --replicates 2 or more"),
                           (["--replicates", "2", "--protocols", "cosine"],
                            "reference protocol 'default' must be one of --protocols")]:
        assert main([*base, *extra]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err
    assert not (tmp_path / "p" / "default").exists()
