"""`wsnas benchmarks correlate`: every pair of a space's ground-truth columns (datasets, splits, fidelities, seeds,
size) ranked against each other from the same engine as the multi-truth audit, checked against scipy on the same
sample; the table, heat map, report and results database."""
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy import stats

from wsnas.analysis.correlate import column_frame, sample_keys
from wsnas.analysis.report.render import render_report
from wsnas.benchmarks.groundtruth import load_ground_truth
from wsnas.cli import main

COLUMNS = "cifar10/test,cifar10/test@12ep,cifar100/test,cifar10/test#seed0,cifar10/test#seed2,params_M"


@pytest.fixture(scope="module")
def correlated(tmp_path_factory, mirror):
    root = tmp_path_factory.mktemp("correlate")
    argv = ["benchmarks", "correlate", "nb201", "--data-mirror", str(mirror), "--archs", "300", "--n-boot", "100",
            "--columns", COLUMNS, "--out", str(root / "nb201"), "--db", str(root / "db.sqlite"), "--quiet"]
    assert main(argv) == 0
    return root, argv


def test_every_pair_matches_scipy_on_the_same_sample(correlated, mirror):
    root, _ = correlated
    truth = load_ground_truth("nb201", str(mirror))
    keys = sample_keys(truth, 300, 0)
    frame = column_frame(truth, keys)
    assert "params_M" in frame.columns and "flops_M" in frame.columns  # the space's features: NB201 has no size column
    pairs = pd.read_csv(root / "nb201" / "pairs.csv")
    columns = COLUMNS.split(",")
    assert len(pairs) == len(columns) * (len(columns) + 1) // 2  # every unordered pair, each column with itself
    for row in pairs.itertuples():
        known = frame[[row.a, row.b]].dropna()
        assert row.n == len(known)
        if row.a != row.b:
            assert row.kendall == pytest.approx(stats.kendalltau(known[row.a], known[row.b]).statistic, abs=1e-12)
            assert row.spearman == pytest.approx(stats.spearmanr(known[row.a], known[row.b]).statistic, abs=1e-12)
            assert row.kendall_ci_low <= row.kendall <= row.kendall_ci_high
    seeds = pairs[(pairs.a == "cifar10/test#seed0") & (pairs.b == "cifar10/test#seed2")].iloc[0]
    assert seeds.n < 300  # not every arch has a third run: pairwise complete
    fidelity = pairs[(pairs.a == "cifar10/test") & (pairs.b == "cifar10/test@12ep")].iloc[0]
    assert 0.3 < fidelity.kendall < 0.95


def test_the_table_heat_map_report_and_database(correlated, capsys):
    root, argv = correlated
    with Image.open(root / "nb201" / "heatmap.png") as image:
        assert image.width >= 800
    capsys.readouterr()
    assert main(argv) == 0  # the same command again: allowed, the same numbers
    out = capsys.readouterr().out
    assert "Kendall and Spearman with 95% bootstrap CIs" in out and "cifar10/test@12ep" in out
    assert main([*argv[:-5], "--archs", "200", *argv[-5:]]) == 2  # other inputs into the same directory
    assert "holds a correlate of other inputs (archs: 300 -> 200)" in capsys.readouterr().err

    report = render_report([root / "nb201"], name="corr", out_root=root / "reports", progress=False)
    assert [p.name for p in report.index.parent.glob("*.png")] == ["heatmap.png"]
    assert "highest: " in report.summary.read_text()

    assert main(["query", "kendall", "--kind", "correlate", "--truth", "cifar10/test", "--db",
                 str(root / "db.sqlite"), "--csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert sorted(table.score) == sorted(c for c in COLUMNS.split(",") if c != "cifar10/test")  # every partner
    assert set(table.space) == {"nb201"} and set(table.kind) == {"correlate"}
    pairs = pd.read_csv(root / "nb201" / "pairs.csv").set_index(["a", "b"])
    assert table.set_index("score").loc["params_M", "kendall"] == pytest.approx(
        pairs.loc[("cifar10/test", "params_M"), "kendall"])


def test_a_plugin_space_with_its_own_table(tmp_path, capsys):
    plugin = Path(__file__).resolve().parents[1] / "examples" / "tinyconv" / "plugin.py"
    rng = np.random.default_rng(0)
    from wsnas.benchmarks.registry import get_space
    from wsnas.core.plugins import load_plugins

    load_plugins([str(plugin)])
    space = get_space("tinyconv")
    keys = [space.format(a) for a in space.sample(60, seed=1)]
    quality = rng.normal(size=60)
    pd.DataFrame({"key": keys, "index": range(60), "cifar10/standalone": 40 + 3 * quality,
                  "cifar10/standalone#seed0": 40 + 3 * quality + rng.normal(size=60),
                  "cifar10/standalone#seed1": 40 + 3 * quality + rng.normal(size=60)}).to_csv(tmp_path / "t.csv",
                                                                                               index=False)
    assert main(["benchmarks", "correlate", "tinyconv", "--plugin", str(plugin), "--truth-file",
                 str(tmp_path / "t.csv"), "--archs", "all", "--n-boot", "50", "--out", str(tmp_path / "c"),
                 "--db", str(tmp_path / "db"), "--quiet"]) == 0
    doc = json.loads((tmp_path / "c" / "pairs.json").read_text())
    assert doc["rows"] == ["cifar10/standalone", "cifar10/standalone#seed0", "cifar10/standalone#seed1", "params_M",
                           "flops_M"]
    capsys.readouterr()
    assert main(["benchmarks", "correlate", "tinyconv", "--plugin", str(plugin), "--out", str(tmp_path / "d")]) == 2
    assert "has no built-in ground truth" in capsys.readouterr().err


def test_any_name_with_a_truth_file(tmp_path, capsys):
    """A space wsnas does not know: its table as an audit reads one (sniffed separator, --key-col, value columns);
    every pair as scipy computes it, and one clear error for what is missing."""
    rng = np.random.default_rng(2)
    quality = rng.normal(size=80)
    table = pd.DataFrame({"arch": [f"64-41414-{i}_{i % 7}" for i in range(80)], "task": "seg",
                          "seg_loss": 2 - 0.2 * quality + rng.normal(scale=0.1, size=80),
                          "cls_top1": 50 + 4 * quality + rng.normal(size=80),
                          "jigsaw_top1": 40 + 2 * quality + rng.normal(size=80)})
    table.to_csv(tmp_path / "transnas.csv", index=False, sep=";")
    argv = ["benchmarks", "correlate", "transnas-like", "--truth-file", str(tmp_path / "transnas.csv"), "--key-col",
            "arch", "--lower-is-better", "seg_loss", "--archs", "all", "--n-boot", "50", "--db", str(tmp_path / "db"),
            "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "c")]) == 0
    pairs = pd.read_csv(tmp_path / "c" / "pairs.csv").set_index(["a", "b"])
    assert set(pairs.index.get_level_values("a")) == {"seg_loss", "cls_top1", "jigsaw_top1"}  # text column 'task' out
    row = pairs.loc[("seg_loss", "cls_top1")]
    assert row.n == 80 and row.kendall == pytest.approx(stats.kendalltau(-table.seg_loss, table.cls_top1).statistic,
                                                        abs=1e-12)
    assert json.loads((tmp_path / "c" / "pairs.json").read_text())["space"] == "transnas-like"

    def error(extra) -> str:
        capsys.readouterr()
        assert main([*argv[:3], *extra, "--out", str(tmp_path / "bad")]) == 2
        err = capsys.readouterr().err.strip()
        assert "Traceback" not in err and "\n" not in err
        return err

    assert "has no column 'key'" in error(["--truth-file", str(tmp_path / "transnas.csv")])
    table[["arch", "task", "seg_loss"]].to_csv(tmp_path / "one.csv", index=False)
    assert "has 1 column(s) with numbers (seg_loss" in error(["--truth-file", str(tmp_path / "one.csv"), "--key-col",
                                                             "arch"])
    assert "is not registered" in error([]) and "--truth-file CSV" in error([])
