"""The pipeline every command and study builds on: train, evaluate, analyze, and a study that runs them all.

It sits above supernets (torch) and analysis (no torch): the one place where a trained supernet's scores meet the
analysis. torch is imported only inside the steps that need it, so `analyze` works without it.
"""
from __future__ import annotations

import dataclasses
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from wsnas.benchmarks.groundtruth import GroundTruth, config_truth
from wsnas.core.atomic import write_json
from wsnas.core.config import Config
from wsnas.core.errors import WsnasError
from wsnas.core.groups import ReplicateGroup, is_group, member_config
from wsnas.core.run_files import METRICS, STUDY_TIME, WORKER_LOG
from wsnas.core.runs import RunDir
from wsnas.workflows.replicates import run_side_by_side, threads_per_job


def evaluate(cfg: Config, run: RunDir, shard: str | None = None, flush_every: int | None = None,
             truth: GroundTruth | None = None) -> None:
    """Score the run's sampled archs (or one shard of them), stamped with the ground truth they are made for
    (`truth`: default the config's)."""
    from wsnas.analysis.score_summary import stamp_scores
    from wsnas.supernets.evaluate import FLUSH_EVERY, Shard, evaluate_run

    part = Shard.parse(shard) if shard else None
    truth = config_truth(cfg) if truth is None else truth
    stamp_scores(run.path, truth)
    evaluate_run(cfg, run, index_of=truth.index_of, shard=part, flush_every=flush_every or FLUSH_EVERY)


def analyze(cfg: Config, directory: Path, truth: GroundTruth | None = None) -> dict[str, Any]:
    """Analyze a run or a replicate group into DIRECTORY/metrics.json and print the verdict first. A group's
    members get their own metrics.json (their single-run figures) too."""
    from wsnas.analysis.store import index_and_report
    from wsnas.analysis.verdicts import analyze_tables, format_results, load_tables

    a = cfg.analysis
    data = load_tables(directory, cfg=cfg, truth=truth,
                       ensembles=[cfg.eval.ensemble_epochs] if cfg.eval.ensemble_epochs else [])
    results = analyze_tables(data.tables, data.members, space=cfg.space,
                             directory=directory, truth=data.truth, metric=data.metric, topk=a.topk,
                             n_boot=a.n_boot, seed=a.seed)
    metrics = {"space": cfg.space, "truth": a.truth, "truth_source": data.truth.source, "n_boot": a.n_boot,
               "bootstrap_seed": a.seed, "replicates": len(data.runs), "truth_labels_used": data.truth_labels_used,
               "results": results}
    if len(data.runs) > 1:
        for i, run in enumerate(data.runs):
            member = [r["members"][i] for r in results]
            write_json(run.metrics_path, {**metrics, "replicates": 1, "results": member,
                                          "config": run.config().to_dict()})
    write_json(directory / METRICS, {**metrics, "config": cfg.to_dict()})
    if len(data.runs) == 1:
        data.runs[0].record("analyze", cfg)
    print(format_results(results, a.truth, data.truth_labels_used))
    print(f"[analyze] metrics: {directory / METRICS}")
    print(f"[analyze] {index_and_report(directory)}")
    return metrics


def train_and_score(cfg: Config, run: RunDir, truth: GroundTruth | None = None) -> dict[str, float]:
    """Train (or resume) one supernet and score its sampled archs; the seconds each took."""
    from wsnas.supernets.train import train_supernet

    began = time.perf_counter()
    train_supernet(cfg, run)
    trained = time.perf_counter()
    evaluate(cfg, run, truth=truth)
    return {"training": trained - began, "scoring": time.perf_counter() - trained}


class StudyClock:
    """Where a study's time goes: seconds per phase of this invocation (a resumed study counts what it redid)."""

    PHASES = ("training", "scoring", "proxies", "analysis")

    def __init__(self) -> None:
        self.began = time.perf_counter()
        self.seconds = dict.fromkeys(self.PHASES, 0.0)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Count the block's seconds under `name` (a phase of its own when it is not one of PHASES)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add({name: time.perf_counter() - start})

    def add(self, seconds: dict[str, float]) -> None:
        """Count seconds measured elsewhere, per phase."""
        for name, value in seconds.items():
            self.seconds[name] = self.seconds.get(name, 0.0) + value

    def breakdown(self) -> dict[str, float]:
        """Seconds per phase, "other" (setup, printing, the results database) and "total"."""
        total = time.perf_counter() - self.began
        return {**self.seconds, "other": max(total - sum(self.seconds.values()), 0.0), "total": total}

    @staticmethod
    def line(breakdown: dict[str, float]) -> str:
        total = breakdown["total"]
        parts = ", ".join(f"{name} {secs:.0f}s ({100 * secs / total:.0f}%)" for name, secs in breakdown.items()
                          if name != "total")
        return f"time {total:.0f}s: {parts}"


def study(cfg: Config, path: Path) -> None:
    """Train cfg.replicates supernets (a replicate group when more than one), score them, compute the zero-cost
    proxies when asked, and analyze: the whole job behind `wsnas study`. On CPU with runtime.replicate_jobs > 1
    the members train side by side (wsnas.workflows.replicates). Ends with where its time went (printed, and
    PATH/study_time.json)."""
    import torch

    from wsnas.supernets import distributed
    from wsnas.supernets.autotune import machine_fingerprint
    from wsnas.supernets.runtime import resolve_runtime

    clock = StudyClock()
    if cfg.replicates < 1:
        raise WsnasError(f"--replicates {cfg.replicates}: train at least 1 supernet (3 or more for a verdict)")
    if cfg.runtime.replicate_jobs < 1:
        raise WsnasError(f"--jobs {cfg.runtime.replicate_jobs} (runtime.replicate_jobs): give 1 to train the "
                         f"replicates one after the other, or more to train that many side by side")
    truth = config_truth(cfg)  # loaded once and handed down; a bad table fails before training
    truth.values(cfg.analysis.truth, [])  # and so does a column it lacks
    group = ReplicateGroup(path) if cfg.replicates > 1 or is_group(path) else None  # a group stays one
    if group is not None:
        group.init(cfg)
    jobs = min(cfg.runtime.replicate_jobs, cfg.replicates) if group is not None else 1
    if jobs > 1 and (distributed.launched_world().size > 1 or resolve_runtime(cfg.runtime).device.type != "cpu"):
        jobs = 1  # side by side is a CPU's way to use its cores; torchrun and GPUs have their own
    members = []
    for replicate in range(cfg.replicates):
        member_cfg = member_config(cfg, replicate) if group else cfg
        if jobs > 1:
            member_cfg = dataclasses.replace(member_cfg, runtime=dataclasses.replace(
                member_cfg.runtime, threads=threads_per_job(cfg, jobs)))
        run = group.member(replicate) if group else RunDir(path)
        run.init(member_cfg)
        members.append((member_cfg, run))
    side = []
    if jobs > 1:
        print(f"[study] {cfg.replicates} replicates side by side, {jobs} processes of "
              f"{members[0][0].runtime.threads} thread(s) each (their output: RUN/{WORKER_LOG})")
        with clock.phase("training + scoring, side by side"):
            side = run_side_by_side(train_and_score, members, jobs, cfg.runtime.progress)
    else:
        for replicate, (member_cfg, run) in enumerate(members):
            if group:
                print(f"[study] replicate {replicate + 1}/{cfg.replicates}: {run.path} (train.seed="
                      f"{member_cfg.train.seed})")
            clock.add(train_and_score(member_cfg, run, truth))
            distributed.barrier()  # under torchrun: every rank's shard is scored and merged before rank 0 analyzes
    if not distributed.launched_world().is_main:
        return
    if cfg.eval.proxies:
        from wsnas.supernets.proxies import ProxySettings, run_proxies

        with clock.phase("proxies"):
            run_proxies(members[0][0], members[0][1], path,
                        ProxySettings(tuple(cfg.eval.proxies), cfg.eval.proxy_skeleton))
    with clock.phase("analysis"):
        analyze(cfg, path, truth)
    breakdown = clock.breakdown()
    machine = machine_fingerprint()
    write_json(path / STUDY_TIME, {"seconds": breakdown, "members_side_by_side": side, "cpu": machine["cpu"],
                                   "torch_threads": torch.get_num_threads(), "replicate_jobs": jobs,
                                   "replicates": cfg.replicates})
    print(f"[study] {path} done; {StudyClock.line(breakdown)} ({machine['cpu']})")
