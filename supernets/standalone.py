"""`wsnas standalone`: ground truth for any space with a supernet, by training sampled archs from scratch.

Which archs: the evaluation sample (eval.n_archs, eval.seed, eval.sample=uniform|unique), i.e. exactly the archs
`wsnas evaluate` scores under the same eval settings, so a study given this table finds every scored arch in it.

How each arch is trained, `--seeds K` times: a fresh supernet of the space, initialised with that run's seed, is
trained on the arch's path alone with train.py's epoch loop (a one-arch pool). Modules off the path get no
gradient, hence no update, momentum or weight decay, so what is trained is exactly the arch's standalone network
(what SupernetSpec.extract would cut out), on the supernet's skeleton (model.*), data split and augmentation
(data.*), optimizer and schedule (train.*). Each run is scored by top-1 accuracy (%) on the held-out split
(data.n_valid images, the ones subnets are scored on), in eval mode with the BN running statistics of its own
training. The seed of run k of an arch derives from train.seed, the arch key and k only, so a result depends
neither on the other archs of the sample nor on the order they ran in.

Output, OUT (GroundTruth.to_csv format): key, index (the arch's position in the space's enumeration),
`<dataset>/standalone` (the mean over seeds: held-out valid accuracy, not test) and `<dataset>/standalone#seed<k>`
(one column per run, for the seed-noise ceiling). OUT.config.json holds the config, the seed count and the
provenance. Every finished arch is written at once (atomically); a rerun trains only the archs OUT lacks, and
refuses a config whose training settings differ from the saved one, naming the keys.

This module imports torch only when training runs (`wsnas standalone`: wsnas.commands.standalone).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from pathlib import Path
from typing import Any, Callable

from wsnas.core.atomic import write_json
from wsnas.benchmarks.groundtruth import SEED_MARK, GroundTruth
from wsnas.benchmarks.registry import configured_space
from wsnas.benchmarks.space import SearchSpace
from wsnas.core.config import Config, diff_configs
from wsnas.core.errors import WsnasError
from wsnas.core.runs import RESUME_FREE_KEYS, provenance
from wsnas.supernets.samplers import evaluation_sample

SPLIT = "standalone"
# Config keys that do not change a standalone result: those a resumed run may change, and the supernet's
# path sampling and checkpointing (a standalone network trains one fixed path, and keeps no checkpoints).
FREE_KEYS = tuple(f"config.{k}" for k in (*RESUME_FREE_KEYS, "train.sampler", "train.arch_pool",
                                          "train.checkpoint_every"))


class StandaloneError(WsnasError):
    """A standalone truth table that cannot be extended as asked."""


def metric_name(cfg: Config) -> str:
    """The table's metric column: held-out valid accuracy of standalone training, e.g. 'cifar10/standalone'."""
    return f"{cfg.data.dataset}/{SPLIT}"


def header_path(out: Path) -> Path:
    return out.with_name(out.name + ".config.json")


def standalone_seed(train_seed: int, key: str, run: int) -> int:
    """Seed of training run `run` of the arch `key` (initialisation, data order, augmentation)."""
    digest = hashlib.sha256(f"{train_seed}/{key}/{run}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def open_table(out: Path, cfg: Config, seeds: int) -> GroundTruth | None:
    """The archs OUT already holds (None for a new table) once its saved config matches. The config is written
    before the first row, so every row of OUT was made with the config beside it; a config without a table binds
    nothing and is replaced."""
    header = header_path(out)
    wanted = {"config": cfg.to_dict(), "standalone": {"seeds": seeds, "metric": metric_name(cfg)}}
    if out.exists() and not header.is_file():
        raise StandaloneError(f"{out} exists but {header} does not, so how it was trained is unknown; move {out} "
                              f"away (or restore its config file) and rerun")
    if not out.exists():
        write_json(header, {**wanted, "provenance": provenance()})
        return None
    try:
        saved = json.loads(header.read_text())
        saved = {"config": saved["config"], "standalone": saved["standalone"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StandaloneError(f"{header} is corrupt ({exc!r}); restore it, or move {out} and it away and start a "
                              f"new table") from None
    diffs = {k: v for k, v in diff_configs(saved, wanted).items() if not k.startswith(FREE_KEYS)}
    if diffs:
        lines = "; ".join(f"{k.removeprefix('config.')}: saved {a!r}, now {b!r}" for k, (a, b) in diffs.items())
        raise StandaloneError(f"truth table {out} was trained with other settings ({lines}); rerun with the saved "
                              f"values ({header}), or give another --out")
    table = GroundTruth.from_csv(out, cfg.space)
    metric = metric_name(cfg)
    if len(table.seed_columns(metric)) != seeds:  # seed_columns also refuses a table without the metric
        raise StandaloneError(f"{out} has {len(table.seed_columns(metric))} per-seed columns of {metric}, its "
                              f"config {seeds}; the table was edited: restore it, or move it away and rerun")
    return table


def train_standalone(cfg: Config, out: Path, seeds: int, log: Callable[[str], None] = print) -> GroundTruth:
    """Train the missing archs of the evaluation sample from scratch, appending each to OUT; the whole table."""
    from tqdm.auto import tqdm

    from wsnas.supernets.evaluate import materialize
    from wsnas.supernets.protocols import ignored_options
    from wsnas.supernets.registry import prepare_data, supernet_spec
    from wsnas.supernets.runtime import resolve_runtime

    if seeds < 1:
        raise StandaloneError(f"--seeds {seeds}: train each arch at least once (2 or more give a seed-noise ceiling)")
    ignored = ignored_options(cfg.train, uses_sampler=True)  # one path: the sampler has nothing to draw
    if ignored:
        raise StandaloneError(f"standalone training trains each arch alone and would ignore {', '.join(ignored)}; "
                              f"drop them")
    space = configured_space(cfg)
    supernet_spec(cfg)  # a space without a supernet fails here, before anything is written
    archs = evaluation_sample(space, cfg.eval)
    existing = open_table(out, cfg, seeds)
    done = set(existing.frame["key"]) if existing is not None else set()
    todo = [a for a in archs if space.format(a) not in done]
    metric = metric_name(cfg)
    if not todo:
        log(f"[standalone] all {len(archs)} sampled archs are already in {out}; nothing to train")
        return existing if existing is not None else _write(out, cfg, [], metric, seeds)
    rt = resolve_runtime(cfg.runtime)
    train_set, valid_set = prepare_data(cfg.data, rt.device)
    steps = train_set.num_batches(cfg.train.batch_size, drop_last=True)
    if steps == 0:
        raise StandaloneError(f"data.n_train={len(train_set)} images is less than one batch of {cfg.train.batch_size}")
    held_out = materialize(valid_set, cfg.eval.batch_size, None, cfg.eval.seed, rt, shuffle=False)
    position = {space.format(a): i for i, a in enumerate(space.enumerate())}
    rows = existing.frame.to_dict("records") if existing is not None else []
    log(f"[standalone] {len(todo)} of {len(archs)} sampled archs to train x {seeds} seed(s): space={cfg.space} "
        f"epochs={cfg.train.epochs} batch={cfg.train.batch_size} n_train={len(train_set)} "
        f"held-out={len(valid_set)} {rt.describe()}")
    bar = tqdm(total=len(todo) * seeds * cfg.train.epochs * steps, desc="standalone", unit="step",
               disable=not cfg.runtime.progress, dynamic_ncols=True)
    began = time.perf_counter()
    with bar:
        for number, arch in enumerate(todo, 1):
            key, arch_began = space.format(arch), time.perf_counter()
            bar.set_description(f"standalone {number}/{len(todo)}")
            accs = [_train_and_score(cfg, space, arch, standalone_seed(cfg.train.seed, key, k), train_set, held_out,
                                     rt, bar) for k in range(seeds)]
            rows.append({"key": key, "index": position[key], metric: sum(accs) / seeds,
                         **{f"{metric}{SEED_MARK}{k}": acc for k, acc in enumerate(accs)}})
            table = _write(out, cfg, rows, metric, seeds)
            if not cfg.runtime.progress:
                log(f"[standalone] {number}/{len(todo)} {key}: {sum(accs) / seeds:.2f}% (seeds "
                    f"{', '.join(f'{a:.2f}' for a in accs)}) in {time.perf_counter() - arch_began:.1f}s")
    log(f"[standalone] trained {len(todo)} archs x {seeds} seed(s) in {time.perf_counter() - began:.1f}s; "
        f"{len(rows)} archs in {out}")
    return table


def _train_and_score(cfg: Config, space: SearchSpace, arch: Any, seed: int, train_set: Any, held_out: Any,
                     rt: Any, bar: Any) -> float:
    """Held-out accuracy (%) of `arch` trained from scratch with `seed` (see the module docstring)."""
    from torch import nn

    from wsnas.supernets.evaluate import accuracy_and_loss
    from wsnas.supernets.registry import build_model
    from wsnas.supernets.train import TrainingDiverged, make_optimizer, train_epoch

    run_cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, seed=seed, sampler="uniform"))
    model = build_model(run_cfg, rt)
    opt, sched = make_optimizer(run_cfg, model, train_set.num_batches(cfg.train.batch_size, drop_last=True))
    criterion = nn.CrossEntropyLoss()
    try:
        for epoch in range(cfg.train.epochs):
            train_epoch(run_cfg, model, train_set, space, epoch, opt, sched, criterion, rt, bar, pool=[arch])
    except TrainingDiverged as exc:
        raise TrainingDiverged(f"standalone training of {space.format(arch)} (seed {seed}): {exc}") from None
    accuracy, _ = accuracy_and_loss(model, arch, held_out, rt, "inherit")
    return accuracy


def _write(out: Path, cfg: Config, rows: list[dict[str, Any]], metric: str, seeds: int) -> GroundTruth:
    """The table of `rows`, written to OUT atomically."""
    import pandas as pd

    columns = ["key", "index", metric, *(f"{metric}{SEED_MARK}{k}" for k in range(seeds))]
    table = GroundTruth(pd.DataFrame(rows, columns=columns), cfg.space, f"standalone training ({out})")
    table.to_csv(out)
    return table
