"""A search run: a normal wsnas run directory whose checkpoints hold the supernet and the method's state.

    RUN/config.json            resolved config (the search section included)
    RUN/checkpoints/           epoch_XXXX.pt: "model" (the supernet state_dict, as `wsnas train` writes it, so
                               `wsnas evaluate RUN` scores it), "optimizer", "scheduler" and "search" (arch
                               parameters or controller, their optimiser, ENAS's baseline)
    RUN/search_log.csv         per epoch: losses, entropy, temperature, the derived arch and its ground truth on
                               every truth column (a table look-up after the epoch; it never feeds the search)
    RUN/search_shares.csv      per epoch, slot and choice: its probability under the method's arch distribution
    RUN/method_scores.csv      the method's own score of each arch of the evaluation sample (eval.n_archs, eval.seed)
    RUN/search.json            the derived arch (by the method's final rule) and its ground truth, data splits,
                               the arch step regime (search_methods.presets.arch_step_regime), timing; `wsnas search`
                               adds the method's ranking metrics after `wsnas evaluate`

Every epoch's randomness (data order and augmentation, arch batches, paths, Gumbel noise, controller samples,
candidates) comes from generators seeded by (train.seed, epoch), so a resumed search equals an uninterrupted one.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from wsnas.benchmarks.registry import configured_space
from wsnas.benchmarks.search_methods import method_record
from wsnas.benchmarks.search_methods.presets import arch_step_regime, describe_regime, resolved_level
from wsnas.benchmarks.truth_lookup import TRUTH_PREFIX, TruthLookup, truth_metric
from wsnas.core.atomic import write_json
from wsnas.core.config import Config
from wsnas.core.errors import WsnasError
from wsnas.core.run_files import METHOD_SCORES, SEARCH_LOG, SEARCH_RESULT, SEARCH_SHARES
from wsnas.core.runs import RunDir
from wsnas.supernets import distributed
from wsnas.supernets.checkpoints import (checkpoint_path, load_checkpoint, prune_checkpoints, save_checkpoint,
                                         saved_epochs)
from wsnas.supernets.data import DeviceImages, split_indices
from wsnas.supernets.registry import build_model, prepare_data, supernet_spec
from wsnas.supernets.runtime import resolve_runtime
from wsnas.supernets.protocols import ignored_options
from wsnas.supernets.samplers import evaluation_sample
from wsnas.supernets.search.base import BatchScorer, Context, Method, arch_batches, make_method
from wsnas.supernets.train import TrainingDiverged, epoch_seed, make_optimizer

# independent random streams of one epoch
WEIGHT_DATA, ARCH_DATA, SCORING, METHOD, RANKING = range(5)


def stream(seed: int, kind: int) -> int:
    """The seed of one random stream of the epoch with seed `seed`."""
    return seed * 8 + kind


@dataclass
class Splits:
    """The training images each part of the search reads (bilevel: disjoint; single level: both all of them)."""

    weights: DeviceImages
    arch: DeviceImages
    level: str

    def describe(self, cfg: Config, held_out: int) -> dict[str, Any]:
        return {"level": self.level, "weight_images": len(self.weights), "arch_images": len(self.arch),
                "held_out_images": held_out, "held_out_used": False, "uses": method_record(cfg.search.method).data_use}


def split_training(train_set: DeviceImages, cfg: Config, level: str) -> Splits:
    """Single level: weights and arch both read every training image. Bilevel: a stratified share
    search.arch_split of the training images (seeded by data.split_seed) is the arch split, the rest the weights'.
    The held-out images (data.n_valid) are never part of either."""
    if level == "single":
        return Splits(train_set, train_set, level)
    n_arch = round(cfg.search.arch_split * len(train_set))
    if not 0 < n_arch < len(train_set):
        raise WsnasError(f"search.arch_split={cfg.search.arch_split} of {len(train_set)} training images leaves an "
                         f"empty weight or arch split; choose a share strictly between 0 and 1")
    labels = train_set.labels.cpu().numpy()
    weight_idx, arch_idx = split_indices(labels, None, n_arch, cfg.data.split_seed)
    return Splits(train_set.subset(weight_idx), train_set.subset(arch_idx), level)


def _refuse_training_protocol(cfg: Config) -> None:
    """One clear error for supernet-training options the search would ignore (SGDR applies)."""
    ignored = ignored_options(cfg.train, method_record(cfg.search.method).path_sampler)
    if ignored:
        raise WsnasError(f"wsnas search --method {cfg.search.method} would ignore {', '.join(ignored)} (they shape "
                         f"the uniform supernet of `wsnas train` and `wsnas study`); drop them")


def run_search(cfg: Config, run: RunDir, truth: TruthLookup, log=print) -> dict[str, Any]:
    """Search (or resume) up to cfg.train.epochs, checkpointing each epoch, then derive the final arch and score the
    evaluation sample by the method's own ranking; `truth` looks up the derived archs (never feeds the search).
    Returns search.json's document."""
    if distributed.launched_world().size > 1:
        raise WsnasError("wsnas search runs in one process; start it without torchrun")
    _refuse_training_protocol(cfg)
    rt = resolve_runtime(cfg.runtime)
    space = configured_space(cfg)
    spec = supernet_spec(cfg)
    level = resolved_level(cfg)
    epochs = cfg.train.epochs
    done = saved_epochs(run.checkpoint_dir)
    start = done[-1] if done else 0
    result_path = run.path / SEARCH_RESULT
    if start >= epochs and result_path.is_file():
        log(f"[search] {run.path}: {start} epochs searched (train.epochs={epochs}); nothing to do")
        return json.loads(result_path.read_text())
    train_set, held_out = prepare_data(cfg.data, rt.device)
    splits = split_training(train_set, cfg, level)
    model = build_model(cfg, rt)
    method = make_method(cfg, space, rt, spec.relaxed)
    steps = splits.weights.num_batches(cfg.train.batch_size, drop_last=True)
    if steps == 0:
        raise WsnasError(f"the weight data holds {len(splits.weights)} images, less than one batch of "
                         f"{cfg.train.batch_size}; raise data.n_train")
    opt, sched = make_optimizer(cfg, model, steps)
    if start:
        state = load_checkpoint(checkpoint_path(run.checkpoint_dir, start), rt.device)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        method.load_state_dict(state["search"])
        log(f"[search] resuming {run.path} from epoch {start}")
    ctx = Context(model, nn.CrossEntropyLoss(), rt, opt)
    log(f"[search] method={method.name} level={level} space={cfg.space} epochs={epochs} batch={cfg.train.batch_size} "
        f"weight images={len(splits.weights)} arch images={len(splits.arch)} (held-out {len(held_out)} unused) "
        f"{rt.describe()}")
    log(f"[search] {describe_regime(arch_step_regime(cfg, steps))}")
    bar = tqdm(total=(epochs - start) * steps, desc=f"search {method.name}", unit="step",
               disable=not cfg.runtime.progress, dynamic_ncols=True)
    with bar:
        for epoch in range(start, epochs):
            row, shares = search_epoch(cfg, ctx, sched, method, splits, epoch, truth, bar)
            # the log rows first: a kill before the checkpoint reruns the epoch and rewrites them
            run.write_epoch_rows(run.path / SEARCH_LOG, [row], epoch + 1, text_columns=("derived",))
            run.write_epoch_rows(run.path / SEARCH_SHARES, shares, epoch + 1, text_columns=("choice", "slot"))
            save_checkpoint(run.checkpoint_dir, epoch + 1, {"model": model.state_dict(), "optimizer": opt.state_dict(),
                                                           "scheduler": sched.state_dict(),
                                                           "search": method.state_dict()})
            prune_checkpoints(run.checkpoint_dir, cfg.train.checkpoint_every, epoch + 1)
            if not cfg.runtime.progress:
                log(f"[search] epoch {epoch + 1}/{epochs} loss {row['loss']:.3f} entropy {row['entropy']:.3f} "
                    f"derived {row['derived']} ({truth_metric(cfg)} {row.get(TRUTH_PREFIX + truth_metric(cfg), math.nan):.2f}) "
                    f"{row['seconds']:.1f}s")
    document = finish(cfg, run, ctx, method, splits, truth, len(held_out))
    log(f"[search] derived {document['derived']['key']} ({document['derived']['rule']}): {truth_metric(cfg)} "
        f"{document['derived']['truth'].get(TRUTH_PREFIX + truth_metric(cfg), math.nan):.2f}")
    return document


def search_epoch(cfg: Config, ctx: Context, scheduler, method: Method, splits: Splits, epoch: int,
                 truth: TruthLookup, bar: tqdm) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One epoch of weight steps (and the method's arch steps), then the method's end-of-epoch work and derived
    arch; returns the search_log row and the search_shares rows."""
    seed, batch, rt = epoch_seed(cfg.train.seed, epoch), cfg.train.batch_size, ctx.rt
    method.begin_epoch(epoch, stream(seed, METHOD))
    arch_stream = arch_batches(splits.arch, batch, torch.Generator().manual_seed(stream(seed, ARCH_DATA)), rt)
    scorer = BatchScorer(splits.arch, batch, torch.Generator().manual_seed(stream(seed, SCORING)), rt,
                         cfg.search.score_bn)
    weight_gen = torch.Generator().manual_seed(stream(seed, WEIGHT_DATA))
    ctx.model.train()
    loss_sum = torch.zeros((), device=rt.device)
    correct = torch.zeros((), device=rt.device, dtype=torch.long)
    seen, arch_losses = 0, []
    began, began_cpu = time.perf_counter(), time.process_time()
    updates = method.updates_arch()
    for step, (x, y) in enumerate(splits.weights.batches(batch, shuffle=True, augment=True, generator=weight_gen,
                                                         drop_last=True, channels_last=rt.batches_channels_last)):
        if updates and method.arch_first:
            arch_losses.append(method.arch_step(ctx, (x, y), next(arch_stream)))
        ctx.optimizer.zero_grad(set_to_none=True)
        with rt.autocast():
            logits = ctx.model(x, method.weight_arch())
            loss = ctx.criterion(logits, y)
        penalty = method.weight_penalty()
        (loss if penalty is None else loss + penalty).backward()
        if cfg.train.grad_clip > 0:
            nn.utils.clip_grad_norm_(ctx.model.parameters(), cfg.train.grad_clip)
        ctx.optimizer.step()
        scheduler.step()
        method.after_weight_step()
        if updates and not method.arch_first:
            arch_losses.append(method.arch_step(ctx, (x, y), next(arch_stream)))
        bar.update(1)
        loss_sum += loss.detach() * len(y)
        correct += (logits.argmax(1) == y).sum()
        seen += len(y)
        if step % 20 == 0 and not math.isfinite(float(loss.detach())):
            raise TrainingDiverged(f"search loss became {float(loss.detach())} at epoch {epoch + 1}, step {step}; the last good "
                                   f"checkpoint is kept. Lower train.lr or search.arch_lr and rerun.")
    extra = method.end_epoch(ctx, scorer)
    derived, _ = method.derive(ctx, scorer, final=False)
    ctx.model.train()
    key = method.space.format(derived)
    arch_losses = [a for a in arch_losses if a is not None]
    row = {"epoch": epoch + 1, "loss": loss_sum.item() / max(seen, 1), "acc": 100.0 * correct.item() / max(seen, 1),
           "arch_loss": float(np.mean(arch_losses)) if arch_losses else math.nan,
           "lr": ctx.optimizer.param_groups[0]["lr"], "entropy": method.entropy(), **method.stats(), **extra,
           "seconds": time.perf_counter() - began, "cpu_seconds": time.process_time() - began_cpu,
           "derived": key, **truth.values(key)}
    if not math.isfinite(row["loss"]):
        raise TrainingDiverged(f"search loss became {row['loss']} in epoch {epoch + 1}; the last good checkpoint is "
                               f"kept. Lower train.lr or search.arch_lr and rerun.")
    shares = [{"epoch": epoch + 1, "slot": slot.name, "choice": str(choice), "share": share}
              for slot, slot_shares in zip(method.slots, method.shares()) for choice, share in slot_shares.items()]
    return row, shares


def finish(cfg: Config, run: RunDir, ctx: Context, method: Method, splits: Splits, truth: TruthLookup,
           held_out: int) -> dict[str, Any]:
    """The method's final arch (its published rule) with its ground truth, and its own score of every arch of the
    evaluation sample (RUN/method_scores.csv); writes RUN/search.json."""
    seed = epoch_seed(cfg.train.seed, cfg.train.epochs)
    began = time.perf_counter()
    method.begin_epoch(cfg.train.epochs, stream(seed, METHOD))
    batch, rt = cfg.train.batch_size, ctx.rt
    bn = cfg.search.score_bn
    derived, rule = method.derive(ctx, BatchScorer(splits.arch, batch, torch.Generator().manual_seed(
        stream(seed, SCORING)), rt, bn), final=True)
    key = method.space.format(derived)
    archs = evaluation_sample(method.space, cfg.eval)
    scores = method.rank_scores(ctx, BatchScorer(splits.arch, batch, torch.Generator().manual_seed(
        stream(seed, RANKING)), rt, bn), archs)
    ctx.model.train()
    run.write_table(run.path / METHOD_SCORES, pd.DataFrame({"key": [method.space.format(a) for a in archs],
                                                            "method_score": scores}))
    log = pd.read_csv(run.path / SEARCH_LOG)
    document: dict[str, Any] = {
        "method": method.name, "space": cfg.space, "seed": cfg.train.seed, "epochs": cfg.train.epochs,
        "data": splits.describe(cfg, held_out),
        "arch_step": arch_step_regime(cfg, splits.weights.num_batches(batch, drop_last=True)),
        "truth_source": truth.source, "truth_metric": truth_metric(cfg),
        "derived": {"key": key, "index": truth.index(key), "rule": rule, "truth": truth.values(key)},
        "method_score": method_record(method.name).score_name,
        "seconds": {"search": float(log.seconds.sum()), "search_cpu": float(log.cpu_seconds.sum()),
                    "final": time.perf_counter() - began},
    }
    if hasattr(method, "greedy"):
        greedy = method.space.format(method.greedy())
        document["greedy"] = {"key": greedy, "truth": truth.values(greedy)}
    write_json(run.path / SEARCH_RESULT, document)
    return document

