"""NAS-Bench-101 and the DARTS space (NASLib's samples) through every command a user runs on a built-in space,
at smoke size against the mirror: study, evaluate at earlier checkpoints, analyze, studies, report, audit --space,
proxy-check, and a search."""
import json

import pandas as pd
import pytest

from wsnas.benchmarks.spaces.darts.space import TRUTH as DARTS_TRUTH
from wsnas.benchmarks.spaces.nb101.space import TRUTH as NB101_TRUTH

pytest.importorskip("torch")

from wsnas.cli import main  # noqa: E402

TRUTHS = {"nb101": NB101_TRUTH, "darts": DARTS_TRUTH}


@pytest.fixture(scope="module", params=sorted(TRUTHS))
def studied(request, tmp_path_factory, mirror):
    space = request.param
    run = tmp_path_factory.mktemp(space) / "study"
    assert main(["study", "--space", space, "--preset", "smoke", "--run-dir", str(run), "--epochs", "2",
                 "--data-mirror", str(mirror), "--quiet", "--set", "runtime.threads=1"]) == 0
    return space, run


def test_the_study_scores_the_sample_against_its_truth(studied):
    space, run = studied
    metrics = json.loads((run / "metrics.json").read_text())
    result = metrics["results"][0]
    assert metrics["truth"] == TRUTHS[space] and result["n_archs"] == 12
    assert -1 <= result["kendall"]["value"] <= 1
    names = {b["name"] for b in result["baselines"]}
    assert {"params", "naslib/synflow", "naslib/jacov"} <= names  # the file's proxies are free baselines
    assert ("flops" in names) == (space == "nb101")  # wsnas counts darts's parameters, not its FLOPs


def test_every_analysis_command_runs(studied, tmp_path, mirror):
    space, run = studied
    argv = ["--data-mirror", str(mirror)]
    assert main(["evaluate", str(run), "--set", "eval.epochs=[1,2]", "--quiet", *argv]) == 0
    assert main(["analyze", str(run), *argv]) == 0
    assert sorted({r["epoch"] for r in json.loads((run / "metrics.json").read_text())["results"]}) == [1, 2]
    assert main(["studies", str(run), *argv]) == 0
    assert (run / "studies" / "epochs.json").is_file() and (run / "studies" / "topk.json").is_file()
    assert main(["report", str(run), "--name", space, "--out-root", str(tmp_path / "reports")]) == 0
    assert (tmp_path / "reports" / space / "summary.md").is_file()
    scores = pd.read_csv(run / "scores.csv")
    final = scores[scores["epoch"] == 2][["key", "supernet_acc"]].drop_duplicates("key")
    final.to_csv(tmp_path / "s.csv", index=False)
    assert main(["audit", "--scores", str(tmp_path / "s.csv"), "--space", space, "--out", str(tmp_path / "audit"),
                 "--quiet", *argv]) == 0


def test_a_search_and_a_proxy_check_run(studied, tmp_path, mirror):
    space, _ = studied
    argv = ["--space", space, "--preset", "smoke", "--data-mirror", str(mirror), "--quiet"]
    assert main(["search", "--method", "rsps", *argv, "--run-dir", str(tmp_path / "search"), "--set",
                 "train.epochs=1"]) == 0
    assert (tmp_path / "search" / "seed-0" / "search.json").is_file()
    assert main(["proxy-check", *argv, "--skeleton", "run", "--archs", "4", "--batch-size", "16",
                 "--out", str(tmp_path / "check")]) == 0
    assert len(pd.read_csv(tmp_path / "check" / "agreement.csv")) == 4


@pytest.mark.parametrize("space", sorted(TRUTHS))
def test_the_config_mirror_reaches_a_sampled_space_enumeration(space, mirror, monkeypatch, tmp_path):
    """nb101 and darts enumerate their truth's sample: --data-mirror (data.mirror) must reach it even when the
    command reads no truth first (wsnas proxies, evaluate) and $WSNAS_DATA_MIRROR is unset."""
    from wsnas.benchmarks import registry
    from wsnas.core.config import build_config
    from wsnas.supernets.samplers import evaluation_sample

    monkeypatch.delenv("WSNAS_DATA_MIRROR", raising=False)
    monkeypatch.setenv("WSNAS_CACHE", str(tmp_path / "empty-cache"))  # no downloaded copy to fall back on
    monkeypatch.setitem(registry._INSTANCES, space, registry._FACTORIES[space]())  # nothing read yet
    cfg = build_config("smoke", overrides={"space": space, "data.mirror": str(mirror)})
    archs = evaluation_sample(registry.configured_space(cfg), cfg.eval)
    assert len(archs) == cfg.eval.n_archs
