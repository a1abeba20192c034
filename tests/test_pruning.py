"""Search-space pruning: the pool-restricted path sampler, the run's pool file, pools chosen by the ground truth,
and `wsnas prune-study` end to end (smoke preset), including its resume."""
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from wsnas.analysis.studies.pruning import pool_size, prune
from wsnas.benchmarks.groundtruth import load_ground_truth
from wsnas.benchmarks.registry import get_space
from wsnas.core.config import Config, EvalConfig
from wsnas.core.errors import WsnasError
from wsnas.core.runs import RunDir, RunError
from wsnas.supernets.samplers import PathSampler, evaluation_sample, parse_arch_pool, run_arch_pool

SPACE = get_space("nb201")
ROW_KEYS = {"mode", "fraction", "n_pool", "mean_truth", "n_archs", "replicates", "supernet_top10_best",
            "supernet_top10_best_ci_low", "supernet_top10_best_ci_high", "supernet_top10_best_sd",
            "random_top10_expected", "kendall", "kendall_ci_low", "kendall_ci_high", "kendall_sd",
            "kendall_per_replicate", "run_dir"}


@pytest.fixture(scope="module")
def truth_table(mirror):
    keys = [SPACE.format(a) for a in SPACE.enumerate()]
    return keys, load_ground_truth("nb201", str(mirror)).values("cifar10/test", keys)


def test_pool_selection_imports_no_torch():
    code = "import sys, wsnas.analysis.studies.pruning; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("mode", ["uniform", "unique"])
def test_pool_sampler_draws_only_pool_archs_and_is_seeded(mode):
    pool = SPACE.sample(20, seed=3)
    stream = PathSampler(SPACE, mode, 7, pool)
    draws = [stream() for _ in range(600)]
    assert set(draws) <= set(pool)
    assert {SPACE.function_key(a) for a in draws} == {SPACE.function_key(a) for a in pool}  # every function drawn
    same = PathSampler(SPACE, mode, 7, pool)
    other = PathSampler(SPACE, mode, 8, pool)
    assert [same() for _ in range(600)] == draws
    assert [other() for _ in range(600)] != draws


def test_unique_pool_sampler_weighs_functions_not_strings():
    # 9 isomorphic strings of one function (the cell output ignores edges 0..2) and one other function
    base = SPACE.parse("|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|")
    copies = [SPACE.parse(f"|{a}~0|+|none~0|{b}~1|+|nor_conv_3x3~0|none~1|none~2|")
              for a in ("none", "skip_connect", "avg_pool_3x3") for b in ("none", "avg_pool_3x3", "nor_conv_1x1")]
    assert len({SPACE.function_key(a) for a in copies}) == 1 and base in copies
    other = SPACE.parse("|nor_conv_1x1~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|")
    stream = PathSampler(SPACE, "unique", 0, [*copies, other])
    share = np.mean([stream() == other for _ in range(2000)])
    assert 0.45 < share < 0.55  # uniform over the pool's 2 functions, not its 10 strings (that would be 0.1)


def test_empty_pool_and_bad_pool_files_are_named():
    with pytest.raises(WsnasError, match="pool to sample from is empty"):
        PathSampler(SPACE, "uniform", 0, [])
    key = SPACE.format(SPACE.sample(1, 0)[0])
    with pytest.raises(WsnasError, match=r"arch pool p.txt, line 3: .*"):
        parse_arch_pool(f"# comment\n{key}\n|bogus|\n", "p.txt", SPACE)
    with pytest.raises(WsnasError, match="line 3 repeats the arch of line 1"):
        parse_arch_pool(f"{key}\n\n{key}\n", "p.txt", SPACE)
    with pytest.raises(WsnasError, match="lists no archs"):
        parse_arch_pool("# nothing\n\n", "p.txt", SPACE)


def test_run_copies_its_pool_and_refuses_a_changed_one(tmp_path):
    keys = [SPACE.format(a) for a in SPACE.sample(5, 1)]
    source = tmp_path / "pool.txt"
    source.write_text("\n".join(keys) + "\n")
    cfg = Config()
    cfg.train.arch_pool = str(source)
    run = RunDir(tmp_path / "run")
    assert [SPACE.format(a) for a in run_arch_pool(cfg, SPACE, run)] == keys
    assert (run.path / "arch_pool.txt").read_bytes() == source.read_bytes()
    assert len(run_arch_pool(cfg, SPACE, run)) == 5  # a resume with the same file
    source.write_text("\n".join(keys[:4]) + "\n")
    with pytest.raises(RunError, match="differs from the pool run .* was trained on"):
        run_arch_pool(cfg, SPACE, run)
    cfg.train.arch_pool = str(tmp_path / "missing.txt")
    with pytest.raises(WsnasError, match="is not a file"):
        run_arch_pool(cfg, SPACE, run)
    cfg.train.arch_pool = None
    assert run_arch_pool(cfg, SPACE, run) is None


@pytest.mark.parametrize("sample", ["uniform", "unique"])
def test_evaluation_sample_of_the_whole_space_as_a_pool_is_the_plain_sample(sample):
    e = EvalConfig(n_archs=30, sample=sample, seed=4)
    assert evaluation_sample(SPACE, e, list(SPACE.enumerate())) == evaluation_sample(SPACE, e) == \
        SPACE.sample(30, 4, unique_functions=sample == "unique")
    pool = SPACE.sample(100, 9)
    assert set(evaluation_sample(SPACE, e, pool)) <= set(pool)


@pytest.mark.parametrize("fraction", [0.25, 0.5, 0.9])
def test_optimistic_pool_keeps_the_best_and_beats_a_random_pool(truth_table, fraction):
    keys, values = truth_table
    value_of = dict(zip(keys, values))
    optimistic = prune(keys, values, "optimistic", fraction)
    randomly = prune(keys, values, "random", fraction, seed=0)
    assert len(optimistic) == len(randomly) == pool_size(len(keys), fraction) == len(keys) - round(fraction * len(keys))
    kept = [value_of[k] for k in optimistic]
    dropped = [value_of[k] for k in set(keys) - set(optimistic)]
    assert min(kept) >= max(dropped)
    assert np.mean(kept) > np.mean([value_of[k] for k in randomly]) > np.mean(dropped)
    position = {k: i for i, k in enumerate(keys)}
    assert [position[k] for k in randomly] == sorted(position[k] for k in randomly)  # space order


def test_random_pools_are_seeded_and_nested(truth_table):
    keys, values = truth_table
    half = prune(keys, values, "random", 0.5, seed=0)
    assert prune(keys, values, "random", 0.5, seed=0) == half != prune(keys, values, "random", 0.5, seed=1)
    assert set(prune(keys, values, "random", 0.9, seed=0)) < set(half)
    assert prune(keys, values, "optimistic", 0) == keys
    with pytest.raises(WsnasError, match=r"pruning fraction 1.0 must be a number in \[0, 1\)"):
        prune(keys, values, "random", 1.0)
    with pytest.raises(WsnasError, match="unknown pruning mode 'best'"):
        prune(keys, values, "best", 0.5)
    with pytest.raises(WsnasError, match="no value for 1 of"):
        prune(keys, np.where(np.arange(len(keys)) == 7, np.nan, values), "random", 0.5)


# ---------------------------------------------------------------------------------------------- the study


@pytest.fixture()
def main():
    pytest.importorskip("torch")
    from wsnas.cli import main
    return main


def test_cpu_preset_study_trains_half_the_epochs_unless_told_otherwise(main, tmp_path):
    from wsnas.workflows.pruning_study import study_config

    cfg, lighter = study_config("cpu", None, {})
    assert lighter == {"train.epochs": 10} and cfg.train.epochs == 10 == Config().train.epochs // 2
    cfg, lighter = study_config("cpu", None, {"train.epochs": "3"})
    assert lighter == {} and cfg.train.epochs == 3
    file = tmp_path / "c.yaml"
    file.write_text("train: {epochs: 4}\n")
    assert study_config("cpu", file, {})[0].train.epochs == 4
    assert study_config("smoke", None, {})[1] == {}


def test_bad_study_options_get_one_clear_error(main, tmp_path, capsys):
    base = ["prune-study", "--out", str(tmp_path / "s"), "--preset", "smoke", "--quiet"]
    for extra, phrase in ((["--fractions", "0,1"], "pruning fraction 1.0 must be a number in [0, 1)"),
                          (["--fractions", "0,half"], "--fractions '0,half' must be a comma-separated list"),
                          (["--modes", "optimistic,best"], "pruning modes ['optimistic', 'best']: choose one or more")):
        assert main([*base, *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("wsnas: error: ") and phrase in err and "\n" not in err
    assert not (tmp_path / "s").exists()


def test_smoke_prune_study_writes_its_rows_and_resumes_without_work(main, tmp_path, mirror, capsys):
    out = tmp_path / "study"
    argv = ["prune-study", "--out", str(out), "--preset", "smoke", "--fractions", "0,0.5", "--data-mirror", str(mirror),
            "--quiet", "--set", "runtime.threads=1"]
    assert main(argv) == 0
    capsys.readouterr()
    document = json.loads((out / "studies" / "pruning.json").read_text())
    assert document["study"] == "pruning" and document["truth"] == "cifar10/test"
    assert document["config"]["train_epochs"] == 2 and document["config"]["study_defaults"] == {}
    rows = document["rows"]
    assert [(r["mode"], r["fraction"], r["n_pool"]) for r in rows] == [
        ("optimistic", 0.0, 15625), ("optimistic", 0.5, 7813), ("random", 0.5, 7813)]
    assert all(set(r) == ROW_KEYS for r in rows)
    assert rows[1]["mean_truth"] > rows[2]["mean_truth"]
    for r in rows:
        assert -1 <= r["kendall"] <= 1 and r["kendall_ci_low"] <= r["kendall_ci_high"]
        assert 0 < r["random_top10_expected"] <= 100 and 0 < r["supernet_top10_best"] <= 100

    for name in ("optimistic-0.5", "random-0.5"):
        run, pool_file = out / "runs" / name, out / "pools" / f"{name}.txt"
        pool = {line for line in pool_file.read_text().splitlines() if not line.startswith("#")}
        assert len(pool) == 7813 and (run / "arch_pool.txt").read_bytes() == pool_file.read_bytes()
        assert json.loads((run / "config.json").read_text())["config"]["train"]["arch_pool"] == str(pool_file.resolve())
        scores = pd.read_csv(run / "pool_scores.csv")
        assert len(scores) == 12 and set(scores.key) <= pool and (scores.finetune_batches == 0).all()
    full = out / "runs" / "optimistic-0"
    assert json.loads((full / "config.json").read_text())["config"]["train"]["arch_pool"] is None
    assert not (full / "arch_pool.txt").exists()

    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and "studies" not in p.parts}
    assert main(argv) == 0
    again = capsys.readouterr().out
    assert again.count("nothing to do") == 3 and again.count("already scored") == 3
    assert "[train] epoch" not in again and "subnet scores to compute" not in again
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert json.loads((out / "studies" / "pruning.json").read_text())["rows"] == rows


def test_prune_study_with_replicates_trains_a_group_per_pool(main, tmp_path, mirror, capsys):
    out = tmp_path / "replicated"
    assert main(["prune-study", "--out", str(out), "--preset", "smoke", "--fractions", "0.5", "--modes", "optimistic",
                 "--data-mirror", str(mirror), "--quiet", "--set", "replicates=2", "--set", "runtime.threads=1"]) == 0
    capsys.readouterr()
    [row] = json.loads((out / "studies" / "pruning.json").read_text())["rows"]
    group = out / "runs" / "optimistic-0.5"
    assert json.loads((group / "group.json").read_text())["seeds"] == [0, 1]
    assert row["replicates"] == 2 and len(row["kendall_per_replicate"]) == 2
    assert row["kendall"] == pytest.approx(sum(row["kendall_per_replicate"]) / 2)
    assert row["kendall_ci_low"] <= row["kendall"] <= row["kendall_ci_high"]
    keys = [set(pd.read_csv(group / f"rep-{r}" / "pool_scores.csv").key) for r in (0, 1)]
    assert keys[0] == keys[1] and len(keys[0]) == 12
