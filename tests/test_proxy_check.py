"""wsnas's zero-cost proxies against the values a benchmark table's publisher computed (wsnas proxy-check,
wsnas.analysis.proxy_agreement), and the published values as free baselines (analysis.free_baselines)."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from wsnas.analysis.free_baselines import baselines, published_baselines
from wsnas.analysis.proxy_agreement import proxy_agreement
from wsnas.benchmarks.groundtruth import GroundTruth, load_ground_truth
from wsnas.core.errors import WsnasError


def _truth(n=40, seed=0):
    rng = np.random.default_rng(seed)
    acc = rng.normal(size=n)
    frame = pd.DataFrame({"key": [f"a{i}" for i in range(n)], "index": range(n), "acc": acc,
                          "naslib/synflow": acc + rng.normal(size=n), "naslib/snip": rng.normal(size=n)})
    return GroundTruth(frame, "toy", "a toy table")


def test_agreement_equals_scipy_and_skips_nonfinite_values():
    truth = _truth()
    rng = np.random.default_rng(1)
    ours = truth.frame["naslib/synflow"].to_numpy() + rng.normal(scale=0.5, size=len(truth))
    ours[3] = -np.inf  # a net whose output ignores its input
    values = pd.DataFrame({"key": truth.frame["key"], "synflow": ours, "naswot": rng.normal(size=len(truth))})
    table = proxy_agreement(values, truth, "acc")
    assert table["proxy"].tolist() == ["synflow"]  # naswot has no published counterpart
    row = table.iloc[0]
    ok = np.isfinite(ours)
    theirs, acc = truth.frame["naslib/synflow"].to_numpy()[ok], truth.frame["acc"].to_numpy()[ok]
    assert row["n"] == len(truth) - 1
    assert row["kendall"] == pytest.approx(stats.kendalltau(ours[ok], theirs).statistic, abs=1e-12)
    assert row["spearman"] == pytest.approx(stats.spearmanr(ours[ok], theirs).statistic, abs=1e-12)
    assert row["wsnas_kendall_truth"] == pytest.approx(stats.kendalltau(ours[ok], acc).statistic, abs=1e-12)
    assert row["published_kendall_truth"] == pytest.approx(stats.kendalltau(theirs, acc).statistic, abs=1e-12)


def test_no_shared_proxy_or_an_arch_without_a_row_is_one_clear_error():
    truth = _truth()
    with pytest.raises(WsnasError, match="holds no published proxy among naswot; its published ones are synflow, snip"):
        proxy_agreement(pd.DataFrame({"key": ["a0"], "naswot": [1.0]}), truth, "acc")
    with pytest.raises(WsnasError, match="1 arch\\(s\\) have no row in the toy ground truth, e.g. zz"):
        proxy_agreement(pd.DataFrame({"key": ["a0", "zz"], "synflow": [1.0, 2.0]}), truth, "acc")


def test_published_proxies_are_free_baselines(tmp_path):
    truth = _truth()
    keys = truth.frame["key"].tolist()[:10]
    found = {b.label: b for b in published_baselines(truth, keys)}
    assert set(found) == {"naslib/synflow", "naslib/snip"} and found["naslib/snip"].fixed
    assert np.array_equal(found["naslib/synflow"].scores[0], truth.frame["naslib/synflow"].to_numpy()[:10])
    assert published_baselines(truth, ["nope"]) == [] and published_baselines(None, keys) == []
    assert {b.label for b in baselines("toy", tmp_path, keys, truth)} == set(found)  # no proxies.csv, no cost model


def test_nb101_sample_ships_naslib_proxies_as_baselines(mirror):
    truth = load_ground_truth("nb101", mirror)
    labels = [b.label for b in published_baselines(truth, truth.frame["key"].tolist())]
    assert {"naslib/synflow", "naslib/jacov", "naslib/snip", "naslib/grad_norm"} <= set(labels)


def test_proxy_check_through_the_cli_is_resumable_and_repeatable(tmp_path, mirror, capsys):
    pytest.importorskip("torch")
    from wsnas.cli import main

    out = tmp_path / "check"
    argv = ["proxy-check", "--space", "nb101", "--preset", "smoke", "--skeleton", "run", "--archs", "5",
            "--batch-size", "16", "--data-mirror", str(mirror), "--out", str(out), "--quiet"]
    assert main(argv) == 0
    first = (out / "agreement.csv").read_bytes()
    table = pd.read_csv(out / "agreement.csv")
    assert table["proxy"].tolist() == ["synflow", "jacov", "snip", "grad_norm"] and (table["n"] <= 5).all()
    assert "wsnas against the published values (nb101)" in (out / "summary.md").read_text()
    capsys.readouterr()
    assert main(argv) == 0
    assert "all 5 archs already in" in capsys.readouterr().out and (out / "agreement.csv").read_bytes() == first
