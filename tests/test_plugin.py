"""A user's own space as a plugin (examples/tinyconv): the space itself, then every command on it through the CLI
(standalone ground truth, study, studies, report, audit, analyze in a fresh process), and one clear error per bad
plugin."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from wsnas.benchmarks.registry import get_space
from wsnas.benchmarks.space import ArchError
from wsnas.core.plugins import load_plugins

PLUGIN = Path(__file__).resolve().parents[1] / "examples" / "tinyconv" / "plugin.py"
METRIC = "cifar10/standalone"
ARCHS = "10"  # the default top-k sizes (1, 10, 1%, 10%) need at least 10 archs


@pytest.fixture(scope="module")
def space():
    load_plugins([str(PLUGIN)])
    return get_space("tinyconv")


def test_space_keys_functions_and_features(space):
    assert space.size() == len(list(space.enumerate())) == 343
    assert len({space.format(a) for a in space.enumerate()}) == 343
    assert len(space.function_classes()) == 1 + 6 + 6 ** 2 + 6 ** 3  # block sequences of length 0..3
    assert space.key(" K3W16, skip ,k5w8") == "k3w16-skip-k5w8"
    assert space.function_key(space.parse("skip-k3w8-k1w16")) == space.function_key(space.parse("k3w8-k1w16-skip"))
    assert space.function_key(space.parse("k3w8-k1w16-skip")) != space.function_key(space.parse("k1w16-k3w8-skip"))
    with pytest.raises(ArchError, match="expected 3 choices"):
        space.parse("k7w16-skip-skip")
    features = space.features(space.parse("k3w16-skip-k5w8"))
    assert features["n_ops:skip"] == 1 and features["n_ops:k1w8"] == 0 and features["edge:2"] == "k5w8"
    assert sum(v for k, v in features.items() if k.startswith("n_ops:")) == 3
    big, small = space.extremes()
    assert space.features(big)["params_M"] == max(space.features(a)["params_M"] for a in space.enumerate())
    assert space.features(small)["params_M"] == min(space.features(a)["params_M"] for a in space.enumerate())


def test_analytic_size_matches_the_torch_networks(space):
    torch = pytest.importorskip("torch")
    from tinyconv.supernet import TinyConvNetwork, TinyConvSupernet, extract_subnet

    supernet = TinyConvSupernet().eval()
    x = torch.randn(4, 3, 32, 32)
    for key in ("k3w16-skip-k5w8", "skip-skip-skip", "k5w16-k5w16-k5w16", "k1w8-k3w8-k1w16"):
        arch = space.parse(key)
        net = TinyConvNetwork(arch)
        assert sum(p.numel() for p in net.parameters()) == round(space.features(arch)["params_M"] * 1e6)
        # the same float32 kernels on the same weights and shapes: a few ulps at most (allclose: rtol 1e-5)
        assert torch.allclose(extract_subnet(supernet, arch).eval()(x), supernet(x, arch))


def _error(capsys, argv) -> str:
    from wsnas.cli import main

    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("wsnas: error: ") and "Traceback" not in err
    return err


def test_bad_plugins_get_one_clear_error(tmp_path, capsys):
    base = ["train", "--preset", "smoke", "--run-dir", str(tmp_path / "run"), "--plugin"]
    assert "does not exist" in _error(capsys, [*base, str(tmp_path / "missing.py")])
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('the plugin is broken')\n")
    err = _error(capsys, [*base, str(broken)])
    assert str(broken) in err and "failed to import: RuntimeError: the plugin is broken" in err
    assert "cannot be imported" in _error(capsys, [*base, "no_such_wsnas_plugin_module"])
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def study(tmp_path_factory, mirror, space):
    """A standalone truth table for the smoke sample, and a study ranked against it."""
    from wsnas.cli import main

    pytest.importorskip("torch")
    root = tmp_path_factory.mktemp("plugin")
    common = ["--plugin", str(PLUGIN), "--space", "tinyconv", "--preset", "smoke", "--archs", ARCHS,
              "--data-mirror", str(mirror), "--quiet", "--set", "runtime.threads=1"]
    truth = root / "truth.csv"
    assert main(["standalone", *common, "--seeds", "2", "--out", str(truth)]) == 0
    run = root / "run"
    assert main(["study", *common, "--run-dir", str(run), "--set", f"analysis.truth_file={truth}",
                 "--truth", METRIC]) == 0
    return run, truth


def test_study_ranks_the_supernet_against_standalone_truth(study):
    run, truth = study
    metrics = json.loads((run / "metrics.json").read_text())
    result = metrics["results"][0]
    assert metrics["space"] == "tinyconv" and metrics["truth"] == METRIC and result["n_archs"] == int(ARCHS)
    assert -1 <= result["kendall"]["value"] <= 1 and result["kendall"]["ci_low"] <= result["kendall"]["ci_high"]
    assert "undefined_because" not in result["ceiling"]  # two seeds per arch: the seed-noise ceiling is defined
    scores = pd.read_csv(run / "scores.csv")
    assert set(scores.key) == set(pd.read_csv(truth).key)


def test_report_and_audit_work_on_the_run(study, tmp_path):
    from wsnas.cli import main

    run, truth = study
    assert main(["studies", str(run), "--only", "bias,operators", "--quiet"]) == 0  # the space's features
    assert main(["report", str(run), "--name", "tiny", "--out-root", str(tmp_path), "--quiet"]) == 0
    summary = (tmp_path / "tiny" / "summary.md").read_text()
    shown = summary.split("### Not in this report")[0]
    assert (tmp_path / "tiny" / "index.html").is_file() and f"truth: {METRIC}" in shown
    assert "### Bias towards large models" in shown and "### Operator bias" in shown
    assert main(["audit", "--scores", str(run / "scores.csv"), "--truth", str(truth), "--truth-col", METRIC,
                 "--space", "tinyconv", "--out", str(tmp_path / "audit"), "--db", str(tmp_path / "db.sqlite")]) == 0
    audit = json.loads((tmp_path / "audit" / "metrics.json").read_text())
    study_kendall = json.loads((run / "metrics.json").read_text())["results"][0]["kendall"]["value"]
    assert audit["results"][0]["kendall"]["value"] == pytest.approx(study_kendall)


def test_analyze_in_a_fresh_process_reimports_the_plugin(study, tmp_path):
    run, _ = study
    (run / "metrics.json").unlink()
    done = subprocess.run([sys.executable, "-m", "wsnas.cli", "analyze", str(run)], cwd=tmp_path,
                          capture_output=True, text=True, env={**os.environ, "WSNAS_DB": str(tmp_path / "db")})
    assert done.returncode == 0, done.stderr
    assert "kendall" in done.stdout and json.loads((run / "metrics.json").read_text())["space"] == "tinyconv"


def test_space_without_ground_truth_names_the_fixes(study, capsys):
    run, _ = study
    err = _error(capsys, ["analyze", str(run), "--set", "analysis.truth_file=null"])
    assert "'tinyconv' has no built-in ground truth" in err and "analysis.truth_file" in err
    assert "wsnas standalone" in err
