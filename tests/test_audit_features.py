"""`wsnas audit --features` on TransNAS-Bench-like multi-task tables made here (a space wsnas does not know): every
pair's Kendall and Spearman as scipy computes them with losses turned the right way, params/FLOPs as free baselines,
the size and operator studies finding what the scores were made to hold, the report drawing them, the Python API's
`features=` giving the same audit, and one clear error per bad features table."""
import json
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import wsnas
from wsnas.cli import main

OPS = ("zero", "skip", "conv1x1", "conv3x3")
COST = {"zero": 0.0, "skip": 0.0, "conv1x1": 0.1, "conv3x3": 0.9}  # M params per slot
QUALITY = {"zero": -1.0, "skip": 0.0, "conv1x1": 0.4, "conv3x3": 0.8}
TASKS = ("seg", "cls", "depth", "jigsaw")
N_BOOT = 100


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """300 archs of 6 slots x 4 ops; 4 tasks x (loss: lower is better, accuracy) that follow one hidden quality;
    a supernet loss that tracks the quality and also rewards every conv3x3 slot (a planted operator and size bias);
    the features table of every arch (params_M, flops_M, n_ops:<op>, edge:<slot>)."""
    root = tmp_path_factory.mktemp("features")
    rng = np.random.default_rng(1)
    archs = list(dict.fromkeys(tuple(OPS[i] for i in rng.integers(0, 4, size=6)) for _ in range(400)))[:300]
    keys = ["-".join(a) for a in archs]
    base = np.array([sum(QUALITY[o] for o in a) for a in archs])
    truth = {"arch": keys}
    for task in TASKS:
        q = base + rng.normal(scale=0.8, size=len(keys))
        truth[f"{task}_loss"] = 2 - 0.2 * q + rng.normal(scale=0.05, size=len(keys))
        truth[f"{task}_acc"] = 50 + 4 * q + rng.normal(scale=1, size=len(keys))
    conv3 = np.array([a.count("conv3x3") for a in archs])
    scores = {"arch": keys, "supernet_loss": 1.5 - 0.1 * base - 0.15 * conv3 + rng.normal(scale=0.15, size=len(keys))}
    features = {"arch": keys, "params_M": [sum(COST[o] for o in a) + 0.2 for a in archs],
                "flops_M": [100 * sum(COST[o] for o in a) + 5 for a in archs]}
    features.update({f"n_ops:{op}": [a.count(op) for a in archs] for op in OPS})
    features.update({f"edge:{slot}": [a[slot] for a in archs] for slot in range(6)})
    frames = {"truth": pd.DataFrame(truth), "scores": pd.DataFrame(scores), "features": pd.DataFrame(features)}
    for name, frame in frames.items():
        frame.to_csv(root / f"{name}.csv", index=False)
    return root, frames


def _argv(root, out, *extra):
    truths = ",".join(f"{t}_{m}" for t in TASKS for m in ("loss", "acc"))
    lower = ",".join(["supernet_loss", *(f"{t}_loss" for t in TASKS)])
    return ["audit", "--scores", str(root / "scores.csv"), "--truth", str(root / "truth.csv"), "--key-col", "arch",
            "--score-col", "supernet_loss", "--truth-col", truths, "--lower-is-better", lower, "--out",
            str(root / out), "--db", str(root / "db.sqlite"), "--n-boot", str(N_BOOT), "--quiet", *extra]


@pytest.fixture(scope="module")
def audited(tables):
    root, frames = tables
    assert main(_argv(root, "audit", "--features", str(root / "features.csv"))) == 0
    return root / "audit"


def test_every_pair_matches_scipy_with_losses_turned(tables, audited):
    _, frames = tables
    merged = frames["scores"].merge(frames["truth"], on="arch").merge(frames["features"], on="arch")
    metrics = json.loads((audited / "metrics.json").read_text())
    results = {(r["score"], r["truth"]): r for r in metrics["results"]}
    assert len(results) == 3 * 2 * len(TASKS)  # supernet_loss, baseline:params, baseline:flops x 8 truths
    for (score, truth), r in results.items():
        column = {"baseline:params": "params_M", "baseline:flops": "flops_M"}.get(score, score)
        x = -merged[column] if score == "supernet_loss" else merged[column]  # a loss: lower is better
        y = -merged[truth] if truth.endswith("_loss") else merged[truth]
        assert r["kendall"]["value"] == pytest.approx(stats.kendalltau(x, y).statistic, abs=1e-12)
        assert r["spearman"]["value"] == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
        assert r["truth_direction"] == ("lower" if truth.endswith("_loss") else "higher")
    planted = results[("supernet_loss", "seg_loss")]
    assert 0.4 < planted["kendall"]["value"] < 0.65  # the supernet loss ranks the archs, lower-is-better on both
    assert planted["topk"][0]["oracle_best"] == pytest.approx(merged["seg_loss"].min())  # the best loss is the lowest
    assert {b["name"] for b in planted["baselines"]} == {"params", "flops"}  # the features' free baselines
    config = json.loads((audited / "config.json").read_text())
    assert config["audit"]["features"]["key_col"] == "arch" and "edge:0" in config["audit"]["features"]["columns"]


def test_size_and_operator_studies_run_on_an_unregistered_space(audited, capsys):
    assert main(["studies", str(audited)]) == 0
    bias = json.loads((audited / "studies" / "bias.json").read_text())
    operators = json.loads((audited / "studies" / "operators.json").read_text())
    assert bias["available"] and operators["available"] and bias["space"] == "custom"
    assert bias["config"]["costs"] == ["params", "flops"] and bias["null"]["sims"] == 1000  # with its null band
    size = next(s for s in bias["statistics"] if s["statistic"] == "kendall(params, supernet)")
    assert size["outside"] and size["excess"] > 0  # the planted reward of conv3x3 (the costly op) is a size bias
    by_op = {r["op"]: r for r in operators["rows"] if r["model"] == "op"}
    assert set(by_op) == set(OPS) and by_op["conv3x3"]["outside"] and by_op["conv3x3"]["excess"] > 0
    assert {r["edge"] for r in operators["rows"] if r["model"] == "edge"} == {str(s) for s in range(6)}

    report = audited.parent / "reports"
    assert main(["report", str(audited), "--name", "features", "--out-root", str(report), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "not in the report" not in captured.out + captured.err
    summary = (report / "features" / "summary.md").read_text()
    assert "Bias towards large models" in summary and "Operator bias" in summary


def test_the_python_api_takes_a_features_frame(tables, audited):
    root, frames = tables
    truths = [f"{t}_{m}" for t in TASKS for m in ("loss", "acc")]
    result = wsnas.audit(frames["scores"], frames["truth"], features=frames["features"], key_col="arch",
                         score_cols="supernet_loss", truth_cols=truths,
                         lower_is_better=["supernet_loss", *(f"{t}_loss" for t in TASKS)], out=root / "api",
                         n_boot=N_BOOT)
    written = json.loads((result.directory / "metrics.json").read_text())
    assert written["results"] == json.loads((audited / "metrics.json").read_text())["results"]
    assert written["features"] == list(frames["features"].columns[1:])


def _error(capsys, argv) -> str:
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("wsnas: error: ") and "Traceback" not in err and "\n" not in err
    return err


def test_bad_features_tables_are_one_clear_error(tables, capsys):
    root, frames = tables
    features = frames["features"]
    cases = {
        "nokey": (features.rename(columns={"arch": "name"}), "has no column 'arch'", "--features-key-col"),
        "missing": (features.iloc[5:], "5 of 300 audited arch(s) have no row", "give every audited arch a row"),
        "other": (features.assign(arch="x" + features["arch"]), "300 of 300 audited arch(s) have no row",
                  "its keys look like 'x"),
        "text": (features.assign(params_M=features["params_M"].astype(str).where(features.index != 3, "big")),
                 "have no usable 'params_M' (not a number)", "'big'"),
        "only_key": (features[["arch"]], "has only its key column 'arch'", "n_ops:<op>"),
    }
    for name, (frame, what, fix) in cases.items():
        path = root / f"features-{name}.csv"
        frame.to_csv(path, index=False)
        err = _error(capsys, _argv(root, f"bad-{name}", "--features", str(path)))
        assert what in err and fix in err, err
    err = _error(capsys, _argv(root, "bad-col", "--features", str(root / "features.csv"), "--features-key-col", "key"))
    assert "has no column 'key'" in err and "--features-key-col" in err

    assert main(_argv(root, "plain")) == 0  # without --features: the studies say what would give them
    err = _error(capsys, ["studies", str(root / "plain")])
    assert "not registered, and without --features" in err and "--features F.csv" in err


def test_progress_on_a_terminal_changes_no_written_file(tables, audited, capsys, monkeypatch):
    """On a terminal the audit shows one bar over its bootstraps with an ETA, on stderr; --quiet (what `audited`
    ran) turns it off, and the files are the same either way."""
    root, _ = tables
    capsys.readouterr()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main([a for a in _argv(root, "shown", "--features", str(root / "features.csv")) if a != "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "audit: 100%" in captured.err and "bootstrap" in captured.err and "<" in captured.err  # elapsed<ETA
    assert "audit:" not in captured.out
    for name in ("metrics.json", "joined.csv"):
        assert (root / "shown" / name).read_bytes() == (audited / name).read_bytes()
