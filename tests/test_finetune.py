"""Few-batch fine-tuning before scoring: only the path moves, everything is restored bit for bit, zero batches is
the plain score, and `wsnas finetune-study` / `eval.finetune_batches` end to end (smoke preset)."""
import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from wsnas.analysis.score_summary import join_truth, summarise  # noqa: E402
from wsnas.benchmarks.groundtruth import load_ground_truth  # noqa: E402
from wsnas.benchmarks.spaces.nb201.cell import parse_arch  # noqa: E402
from wsnas.cli import main  # noqa: E402
from wsnas.core.config import Config, RuntimeConfig  # noqa: E402
from wsnas.core.errors import WsnasError  # noqa: E402
from wsnas.core.runs import RunDir  # noqa: E402
from wsnas.supernets.data import DeviceImages  # noqa: E402
from wsnas.supernets.evaluate import score_subnet  # noqa: E402
from wsnas.supernets.finetune import FineTuning, finetuned  # noqa: E402
from wsnas.supernets.models.nb201 import NB201Supernet  # noqa: E402
from wsnas.supernets.runtime import resolve_runtime  # noqa: E402

ARCH = parse_arch("|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")
ON_PATH = "layers.0.edges.0.nor_conv_3x3.1.weight"     # edge 0 runs nor_conv_3x3 in ARCH
OFF_PATH = "layers.0.edges.0.nor_conv_1x1.1.weight"    # ... and not nor_conv_1x1
ROW_KEYS = {"finetune_batches", "kendall", "kendall_ci_low", "kendall_ci_high", "spearman", "mean_supernet_acc",
            "seconds_per_subnet", "n_archs"}


@pytest.fixture()
def setup():
    torch.manual_seed(0)
    rt = resolve_runtime(RuntimeConfig(device="cpu"))
    net = NB201Supernet(C=4, N=1, affine=False)
    rng = np.random.default_rng(0)
    data = DeviceImages(rng.integers(0, 256, (64, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, 64), "cpu")
    ft = FineTuning(data, batches=3, lr=0.1, batch_size=16, momentum=0.9, weight_decay=5e-4, grad_clip=5.0, seed=0)
    calib = [(torch.randn(32, 3, 32, 32), torch.randint(0, 10, (32,))) for _ in range(2)]
    evaluation = [(torch.randn(20, 3, 32, 32), torch.randint(0, 10, (20,))) for _ in range(2)]
    return rt, net, ft, calib, evaluation


def _state(net):
    return {k: v.clone() for k, v in net.state_dict().items()}


def test_finetuning_moves_only_the_path_and_is_undone_bit_for_bit(setup):
    rt, net, ft, _, _ = setup
    before = _state(net)
    with finetuned(net, ARCH, ft, rt):
        during = net.state_dict()
        moved = {k for k in before if not torch.equal(before[k], during[k])}
        assert {ON_PATH, "classifier.weight", "layers.0.edges.0.nor_conv_3x3.2.running_mean"} <= moved
        assert OFF_PATH not in moved
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert all(p.grad is None for p in net.parameters())
    with pytest.raises(RuntimeError, match="inside"), finetuned(net, ARCH, ft, rt):
        raise RuntimeError("inside")
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())  # restored on error too


def test_zero_batches_is_exactly_the_plain_score(setup):
    rt, net, ft, calib, evaluation = setup
    plain = score_subnet(net, ARCH, calib, evaluation, rt, "recalibrate")
    zero = dataclasses.replace(ft, batches=0)
    assert score_subnet(net, ARCH, calib, evaluation, rt, "recalibrate", zero) == plain
    cfg = Config()
    assert FineTuning.from_config(cfg, ft.data) is None  # eval.finetune_batches defaults to 0
    cfg.eval.finetune_batches = -1
    with pytest.raises(WsnasError, match="eval.finetune_batches=-1 must be a whole number >= 0"):
        FineTuning.from_config(cfg, ft.data)


def test_finetuning_changes_the_score_reproducibly_and_leaves_the_next_subnet_alone(setup):
    rt, net, ft, calib, evaluation = setup
    plain = score_subnet(net, ARCH, calib, evaluation, rt, "batch")
    tuned = score_subnet(net, ARCH, calib, evaluation, rt, "batch", ft)
    assert tuned[1] != plain[1]
    other = parse_arch("|nor_conv_1x1~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|")
    score_subnet(net, other, calib, evaluation, rt, "batch", ft)  # another subnet in between
    assert score_subnet(net, ARCH, calib, evaluation, rt, "batch", ft) == tuned  # seeded per arch
    assert score_subnet(net, ARCH, calib, evaluation, rt, "batch") == plain  # the supernet is untouched


def test_finetune_study_and_the_evaluate_option_on_a_smoke_run(tmp_path, mirror, capsys):
    run = tmp_path / "run"
    common = ["--quiet", "--set", "runtime.threads=1"]
    assert main(["train", "--preset", "smoke", "--run-dir", str(run), "--data-mirror", str(mirror), *common]) == 0
    assert main(["evaluate", str(run), *common]) == 0
    assert main(["finetune-study", str(run), "--batches", "2,0", *common]) == 0
    document = json.loads((run / "studies" / "finetune.json").read_text())
    assert document["study"] == "finetune" and document["truth"] == "cifar10/test"
    assert document["config"]["batches"] == [0, 2] and document["config"]["n_archs"] == 12
    rows = document["rows"]
    assert [r["finetune_batches"] for r in rows] == [0, 2] and all(set(r) == ROW_KEYS for r in rows)
    assert all(r["seconds_per_subnet"] > 0 and -1 <= r["kendall"] <= 1 for r in rows)
    # budget 0 is the run's own evaluation, to the bit, and so are its statistics
    plain = pd.read_csv(run / "scores.csv")
    study = pd.read_csv(run / "studies" / "finetune_scores.csv")
    zero = plain.merge(study[study.finetune_batches == 0], on="key", suffixes=("", "_study"))
    assert len(zero) == 12 and (zero.supernet_acc == zero.supernet_acc_study).all()
    assert (zero.supernet_loss == zero.supernet_loss_study).all()
    cfg = RunDir(run).config()
    truth = load_ground_truth("nb201", str(mirror))
    [expected] = summarise(join_truth(plain, truth, "cifar10/test"), topk=[], n_boot=cfg.analysis.n_boot,
                           seed=cfg.analysis.seed)
    assert (rows[0]["kendall"], rows[0]["kendall_ci_low"], rows[0]["kendall_ci_high"], rows[0]["spearman"]) == (
        expected["kendall"]["value"], expected["kendall"]["ci_low"], expected["kendall"]["ci_high"],
        expected["spearman"]["value"])
    two = study[study.finetune_batches == 2].set_index("key").supernet_loss
    assert (two != zero.set_index("key").supernet_loss.reindex(two.index)).any()

    capsys.readouterr()
    assert main(["finetune-study", str(run), "--batches", "0,2", *common]) == 0  # resumes: nothing to score
    assert "already scored" in capsys.readouterr().out
    assert json.loads((run / "studies" / "finetune.json").read_text())["rows"] == rows

    # eval.finetune_batches in `wsnas evaluate`: new rows beside the plain ones, equal to the study's
    assert main(["evaluate", str(run), "--set", "eval.finetune_batches=2", *common]) == 0
    scores = pd.read_csv(run / "scores.csv")
    assert sorted(scores.finetune_batches.value_counts().items()) == [(0, 12), (2, 12)]
    kept = scores[scores.finetune_batches == 0].merge(plain, on="key", suffixes=("", "_before"))
    assert (kept.supernet_acc == kept.supernet_acc_before).all()
    tuned = scores[scores.finetune_batches == 2].set_index("key").supernet_loss
    assert (tuned == two.reindex(tuned.index)).all()
