"""compare.join_truth / summarise / format_summary, and the studies built on them, keep fine-tuned and plain
scores apart (no torch, synthetic supernet scores on real NB201 archs, joined with the mirror's ground truth)."""
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from wsnas.analysis.metrics import kendall_tau
from wsnas.analysis.score_summary import finetune_batches, format_summary, join_truth, summarise
from wsnas.analysis.studies.epochs import epochs_study
from wsnas.analysis.studies.inputs import load_input
from wsnas.benchmarks.groundtruth import load_ground_truth
from wsnas.benchmarks.registry import get_space
from wsnas.core.config import build_config
from wsnas.core.runs import RunDir

METRIC = "cifar10/test"


@pytest.fixture(scope="module")
def nb201(mirror):
    return load_ground_truth("nb201", mirror)


def scores_table(n_plain: int, n_tuned: int, batches: int = 5, seed: int = 0) -> pd.DataFrame:
    """Plain scores of n_plain sampled NB201 archs and fine-tuned ones (`batches`) of the first n_tuned of them;
    the supernet accuracies are random draws, independent of the ground truth."""
    space = get_space("nb201")
    keys = [space.format(a) for a in space.sample(n_plain, seed=seed)]
    rng = np.random.default_rng(seed)
    rows = [{"key": k, "epoch": 2, "bn_policy": "recalibrate", "finetune_batches": n, "supernet_acc": acc}
            for n, chosen in ((0, keys), (batches, keys[:n_tuned]))
            for k, acc in zip(chosen, rng.uniform(10, 60, len(chosen)))]
    return pd.DataFrame(rows)


def test_join_truth_fills_a_missing_or_empty_finetune_column_with_zero(nb201):
    table = scores_table(12, 6)
    older = table[table.finetune_batches == 0].drop(columns="finetune_batches")  # before fine-tuning existed
    joined = join_truth(older, nb201, METRIC)
    assert joined["finetune_batches"].tolist() == [0] * 12 and joined["finetune_batches"].dtype.kind == "i"
    assert "finetune_batches" not in older.columns  # the input is left alone

    holes = table.astype({"finetune_batches": float})
    holes.loc[holes.finetune_batches == 0, "finetune_batches"] = np.nan  # a merged table with empty cells
    filled = join_truth(holes, nb201, METRIC)["finetune_batches"]
    assert filled.dtype.kind == "i" and filled.tolist() == table.finetune_batches.tolist()
    assert finetune_batches(holes).tolist() == table.finetune_batches.tolist()


def test_summarise_gives_one_result_per_finetuning_budget(nb201):
    table = scores_table(40, 25)
    joined = join_truth(table, nb201, METRIC)
    results = summarise(joined, topk=[1, 10], n_boot=50, seed=0, truth=nb201, metric=METRIC)
    assert [(r["epoch"], r["bn_policy"], r["finetune_batches"], r["n_archs"]) for r in results] == [
        (2, "recalibrate", 0, 40), (2, "recalibrate", 5, 25)]
    for r in results:
        group = joined[joined.finetune_batches == r["finetune_batches"]]
        assert r["mean_supernet_acc"] == pytest.approx(group.supernet_acc.mean())
        assert r["kendall"]["value"] == pytest.approx(kendall_tau(group.supernet_acc, group.truth))
        assert r["ceiling"]["seed_vs_seed"]["n"]["max"] <= r["n_archs"]
    assert results[0]["kendall"]["value"] != results[1]["kendall"]["value"]

    text = format_summary(results, METRIC)
    headers = [line for line in text.splitlines() if line.startswith("epoch ")]
    assert len(headers) == 2
    assert "finetune_batches" not in headers[0] and "n=40 archs" in headers[0]
    assert "finetune_batches=5" in headers[1] and "n=25 archs" in headers[1]


def test_plain_scores_alone_give_one_result_as_before(nb201):
    plain = scores_table(20, 0).drop(columns="finetune_batches")
    [result] = summarise(join_truth(plain, nb201, METRIC), topk=[1], n_boot=20, seed=0)
    assert (result["finetune_batches"], result["n_archs"]) == (0, 20)
    assert "finetune_batches" not in format_summary([result], METRIC)


def test_studies_use_one_finetuning_budget(tmp_path, mirror):
    run = RunDir(tmp_path / "run")
    run.init(build_config("smoke", overrides={"data.mirror": str(mirror)}))
    epochs = [scores_table(30, 20).assign(epoch=e) for e in (1, 2)]  # the same archs at two epochs
    run.write_table(run.scores_path, pd.concat(epochs, ignore_index=True))
    inp = load_input(run.path)
    assert inp.finetune_batches == 0 and set(inp.scores.finetune_batches) == {0} and len(inp.scores) == 60
    doc = epochs_study([inp])
    assert doc["finetune_batches"] == 0 and [(r["epoch"], r["n_archs"]) for r in doc["rows"]] == [(1, 30), (2, 30)]
    plain = inp.scores[inp.scores.epoch == 2]
    assert doc["rows"][1]["kendall"] == pytest.approx(kendall_tau(plain.supernet_acc, plain.truth))


def test_compare_does_not_import_torch():
    code = "import sys, wsnas.analysis.score_summary; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
