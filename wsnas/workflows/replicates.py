"""A replicate group's members trained and scored side by side: one process per member, one progress display.

On CPU cores that a small supernet's threads share badly, R single-thread processes side by side can finish
sooner than R multi-thread runs one after the other; the README's performance section says what it gave on the
machines measured (on a 2-vCPU AMD EPYC: no gain, so it is not the default). Each process trains and scores one
member exactly as `wsnas study` does alone, with runtime.threads = the cores / the jobs (recorded in the member's
config.json), so a member's scores are those of the same member trained alone with that many threads.

A member's own output (its [train] and [evaluate] lines, warnings) goes to RUN/worker.log; the parent shows one
bar over every member's epochs, read from their train logs, and re-raises the first member's error.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import shutil
import sys
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from typing import Any, Callable, Sequence

from tqdm.auto import tqdm

from wsnas.core.config import Config, config_from_dict
from wsnas.core.machine import usable_cpus
from wsnas.core.plugins import load_plugins
from wsnas.core.run_files import RUNTIME, WORKER_LOG
from wsnas.core.runs import RunDir

POLL_S = 2.0


def threads_per_job(cfg: Config, jobs: int) -> int:
    """runtime.threads when set, else the cores shared out over the jobs (at least one each)."""
    return cfg.runtime.threads or max(1, usable_cpus() // jobs)


def in_worker(work: Callable[[Config, RunDir], dict[str, float]], tree: dict[str, Any],
              run_path: str) -> dict[str, float]:
    """In a worker process: `work` on one member (its output to RUN/worker.log)."""
    cfg, run = config_from_dict(tree), RunDir(run_path)
    load_plugins(cfg.plugins)  # a fresh interpreter: the spaces a plugin registers are registered again here
    with open(run.path / WORKER_LOG, "a") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        return work(cfg, run)


def _epochs_done(run: RunDir) -> int:
    try:
        with open(run.train_log_path) as f:
            return max(sum(1 for _ in f) - 1, 0)
    except OSError:
        return 0


def tune_first(members: Sequence[tuple[Config, RunDir]]) -> None:
    """The members' CPU runtime choice (precision, layout), measured once here, before the workers start, and
    recorded in every member's run, which the workers then read. Measured by each worker while they compete for
    the cores, the timing rounds would disagree and every worker would measure again. The members differ only in
    their training seed, so one measurement serves them all."""
    import torch

    from wsnas.supernets.autotune import WORKLOADS, autotuned_runtime

    threads = torch.get_num_threads()
    (cfg, first), others = members[0], members[1:]
    try:
        for workload in WORKLOADS:
            autotuned_runtime(cfg, workload, first)
    finally:
        torch.set_num_threads(threads)
    record = first.path / RUNTIME
    for _, run in others:
        if record.is_file() and not (run.path / RUNTIME).is_file():
            shutil.copyfile(record, run.path / RUNTIME)


def run_side_by_side(work: Callable[[Config, RunDir], dict[str, float]], members: Sequence[tuple[Config, RunDir]],
                     jobs: int, progress: bool) -> list[dict[str, float]]:
    """`work` (a module-level function: it is pickled by name) on every member, `jobs` processes at a time; what
    each returned (its seconds per phase)."""
    tune_first(members)
    total = sum(cfg.train.epochs for cfg, _ in members)
    start = sum(_epochs_done(run) for _, run in members)
    context = multiprocessing.get_context("spawn")  # a clean interpreter: no inherited torch threads or locks
    bar = tqdm(total=total, initial=start, desc=f"train {len(members)} replicates x {jobs} jobs", unit="epoch",
               disable=not progress, dynamic_ncols=True, file=sys.stdout)
    with bar, ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [pool.submit(in_worker, work, cfg.to_dict(), str(run.path)) for cfg, run in members]
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=POLL_S, return_when=FIRST_EXCEPTION)
            bar.update(sum(_epochs_done(run) for _, run in members) - bar.n)
            for future in done:
                if future.exception() is not None:
                    for other in pending:
                        other.cancel()
                    raise future.exception()
    return [future.result() for future in futures]
