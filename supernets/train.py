"""Uniform single-path supernet training with per-epoch checkpoints and exact resume, under the training protocol
of cfg.train (learning-rate schedule, path sampler, weight averaging: docs/training-protocols.md)."""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import torch
from torch import nn
from tqdm.auto import tqdm

from wsnas.benchmarks.registry import get_space
from wsnas.core.config import Config
from wsnas.core.errors import WsnasError
from wsnas.core.runs import RunDir
from wsnas.supernets import distributed
from wsnas.supernets.checkpoints import (checkpoint_path, load_checkpoint, prune_checkpoints, save_checkpoint,
                                         saved_epochs)
from wsnas.supernets.autotune import autotuned_runtime
from wsnas.supernets.data import DeviceImages
from wsnas.supernets.distill import Distillation
from wsnas.supernets.distill_teacher import run_distillation
from wsnas.supernets.fewshot import (FEWSHOT, fewshot_entry, fewshot_sampler, split_supernet, split_training,
                                     warmup_epochs)
from wsnas.supernets.landmarks import Landmarks, run_landmarks
from wsnas.supernets.protocols import check_protocol, single_process_options
from wsnas.supernets.registry import build_model, prepare_data, supernet_spec
from wsnas.supernets.runtime import Runtime, resolve_runtime
from wsnas.supernets.samplers import make_sampler, run_arch_pool
from wsnas.supernets.schedules import lr_factor
from wsnas.supernets.weight_averaging import WeightAverage, weight_average


class TrainingDiverged(WsnasError):
    """The loss became NaN/inf; the last good checkpoint is kept."""


@dataclass
class TrainResult:
    epochs_done: int
    seconds: float
    images_per_second: float


def epoch_seed(seed: int, epoch: int) -> int:
    """Seed of one epoch's data order, augmentation and path stream (so a resumed epoch replays exactly)."""
    return seed * 100_003 + epoch


def make_optimizer(cfg: Config, model: nn.Module, steps_per_epoch: int):
    """The weight optimiser over model.parameters() (SGD or Adam) and its per-step learning-rate schedule
    (wsnas.supernets.schedules: constant, cosine, or cosine with warm restarts)."""
    t = cfg.train
    if t.optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=t.lr, momentum=t.momentum, weight_decay=t.weight_decay,
                              nesterov=t.nesterov and t.momentum > 0)
    elif t.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    else:
        raise WsnasError(f"train.optimizer={t.optimizer!r}; choose sgd or adam")
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lr_factor(t, steps_per_epoch))


def train_supernet(cfg: Config, run: RunDir, log=print) -> TrainResult:
    """Train (or resume) the supernet of `run` up to cfg.train.epochs, checkpointing each epoch.

    Under torchrun each rank trains on its slice of every global batch (supernets/distributed.py); rank 0 alone
    writes checkpoints and logs, and every rank resumes from the same checkpoint.
    """
    ranks = distributed.launched_world().size
    if cfg.train.batch_size % ranks:
        raise WsnasError(f"train.batch_size={cfg.train.batch_size} does not split over {ranks} ranks; choose a "
                         f"multiple of {ranks} (each rank takes batch_size / ranks images of every global batch)")
    world, rt = distributed.setup(resolve_runtime(cfg.runtime))
    if not world.is_main:
        log = _quiet
    space = get_space(cfg.space)
    pool = run_arch_pool(cfg, space, run)  # None = the whole space
    supernet_spec(cfg)  # an unknown space or a dataset it does not train on fails here, before any data loads
    check_protocol(cfg.train, space, pool)  # so does a protocol this run cannot train with
    single = single_process_options(cfg.train)
    if single and world.size > 1:
        raise WsnasError(f"{', '.join(single)} trains on one process only (its extra forwards or sub-supernets do not "
                         f"go through DDP); run without torchrun, or turn it off")
    landmarks = run_landmarks(cfg, space, run, pool)  # None: no landmark regularisation
    distill = run_distillation(cfg, rt, pool)  # None: no ranking distillation
    done = saved_epochs(run.checkpoint_dir)
    start = done[-1] if done else 0
    if start >= cfg.train.epochs:
        log(f"[train] {run.path}: {start} epochs already trained (train.epochs={cfg.train.epochs}); nothing to do")
        return TrainResult(start, 0.0, float("nan"))
    tuned = autotuned_runtime(cfg, "train", run, log)  # the run's recorded choice when resuming
    rt = dataclasses.replace(rt, amp_dtype=tuned.amp_dtype, layout=tuned.layout, source=tuned.source)
    state = load_checkpoint(checkpoint_path(run.checkpoint_dir, start), rt.device) if start else None
    train_set, _ = prepare_data(cfg.data, rt.device)
    model = build_model(cfg, rt)
    if state is not None and FEWSHOT in state:  # a few-shot run past its split: every sub-supernet resumes
        model = split_supernet(model, space, state[FEWSHOT]["slot"])
    steps = train_set.num_batches(cfg.train.batch_size, drop_last=True)
    if steps == 0:
        raise WsnasError(f"data.n_train={len(train_set)} images is less than one batch of {cfg.train.batch_size}")
    opt, sched = make_optimizer(cfg, model, steps)
    average = weight_average(cfg.train, model)  # None: the checkpoints offer the trained weights
    if state is not None:
        model.load_state_dict(state["trained_model" if average else "model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        if average:
            average.load(state)
        log(f"[train] resuming {run.path} from epoch {start}")
    net = distributed.distribute(model, rt) if world.size > 1 else model
    log(f"[train] space={cfg.space} model={dataclasses.asdict(cfg.model)} dataset={cfg.data.dataset} n={len(train_set)} "
        f"epochs={cfg.train.epochs} batch={cfg.train.batch_size} sampler={cfg.train.sampler} {rt.describe()}"
        + (f" ranks={world.size} (batch {cfg.train.batch_size // world.size} each)" if world.size > 1 else ""))
    if average:
        log(f"[train] checkpoints offer {average.describe()} for scoring; " + _bn_note(cfg.eval.bn_policy))
    criterion = nn.CrossEntropyLoss()
    bar = tqdm(total=(cfg.train.epochs - start) * steps, desc="train", unit="step",
               disable=not cfg.runtime.progress or not world.is_main, dynamic_ncols=True)
    began = time.perf_counter()
    with bar:
        for epoch in range(start, cfg.train.epochs):
            if cfg.train.fewshot_slot is not None and epoch == warmup_epochs(cfg.train):
                model, opt, sched = split_training(model, opt, sched, space, cfg.train.fewshot_slot,
                                                   lambda m: make_optimizer(cfg, m, steps))
                net = model
                log(f"[train] epoch {epoch + 1}: few-shot split at slot {cfg.train.fewshot_slot} into "
                    f"{len(model.subnets)} sub-supernets, each warm-started from the one-shot weights")
            stats = train_epoch(cfg, net, train_set, space, epoch, opt, sched, criterion, rt, bar, pool, world,
                                average, landmarks, distill)
            if average:
                average.after_epoch(epoch + 1)
            if world.is_main:  # the log row first: a kill between the two reruns the epoch and rewrites the row
                run.write_epoch_rows(run.train_log_path, [{"epoch": epoch + 1, **stats}], epoch + 1)
                weights = average.checkpoint() if average else {"model": model.state_dict(), **fewshot_entry(model)}
                save_checkpoint(run.checkpoint_dir, epoch + 1, {**weights, "optimizer": opt.state_dict(),
                                                               "scheduler": sched.state_dict()})
                prune_checkpoints(run.checkpoint_dir, cfg.train.checkpoint_every, epoch + 1)
            distributed.barrier()  # no rank moves on (e.g. to evaluate) before the checkpoint exists
            if not cfg.runtime.progress:
                log(f"[train] epoch {epoch + 1}/{cfg.train.epochs} loss {stats['loss']:.3f} "
                    f"acc {stats['acc']:.2f}% {stats['seconds']:.1f}s")
    seconds = time.perf_counter() - began
    images = (cfg.train.epochs - start) * steps * cfg.train.batch_size
    return TrainResult(cfg.train.epochs, seconds, images / max(seconds, 1e-9))


def train_epoch(cfg: Config, model: nn.Module, data: DeviceImages, space, epoch: int, opt, sched,
                 criterion: nn.Module, rt: Runtime, bar: tqdm, pool: list | None = None,
                 world: distributed.World = distributed.World(),
                 average: WeightAverage | None = None, landmarks: Landmarks | None = None,
                 distill: Distillation | None = None) -> dict[str, float]:
    """One epoch: each step trains the paths of one sampler step (gradients added up), with `landmarks` adds the
    landmark ranking loss's gradients every train.landmark_every steps, with `distill` the distillation loss's
    every train.distill_every steps, makes one optimiser and schedule step, and folds the weights into `average`
    (an EMA) when given."""
    seed = epoch_seed(cfg.train.seed, epoch)
    torch.manual_seed(seed)  # the global stream (dropout) replays too, so a resumed epoch equals an uninterrupted one
    gen = torch.Generator().manual_seed(seed)
    sampler = fewshot_sampler(model, make_sampler(space, cfg.train.sampler, seed, pool))
    pairs = landmarks.pair_stream(seed) if landmarks else None
    landmark_sum, landmark_steps = torch.zeros((), device=rt.device), 0
    draws = distill.arch_stream(seed) if distill else None
    distill_sum, distill_steps = torch.zeros((), device=rt.device), 0
    teacher_before = distill.teacher.seconds if distill else 0.0
    model.train()
    loss_sum = torch.zeros((), device=rt.device)
    correct = torch.zeros((), device=rt.device, dtype=torch.long)
    seen, began = 0, time.perf_counter()
    for step, (x, y) in enumerate(data.batches(cfg.train.batch_size, shuffle=True, augment=True, generator=gen,
                                               drop_last=True, channels_last=rt.batches_channels_last)):
        x, y = world.shard(x), world.shard(y)  # the same global batch on every rank, a disjoint slice each
        opt.zero_grad(set_to_none=True)  # ops off the path keep grad None: no decay or momentum for them
        for arch in sampler.step():  # the same paths on every rank; gradients of several paths add up
            with rt.autocast():
                logits = model(x, arch)
                loss = criterion(logits, y)
            loss.backward()
        if landmarks and step % cfg.train.landmark_every == 0:
            landmark_sum += landmarks.step(model, x, y, criterion, rt, pairs)
            landmark_steps += 1
        if distill and step % cfg.train.distill_every == 0:
            distill_sum += distill.step(model, x, y, criterion, rt, draws)
            distill_steps += 1
        if cfg.train.grad_clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), cfg.train.grad_clip)
        opt.step()
        sched.step()
        if average:
            average.after_step()
        loss_sum += loss.detach() * len(y)
        correct += (logits.argmax(1) == y).sum()
        seen += len(y)
        bar.update(1)
        if step % 20 == 0:
            current = distributed.all_sum(loss.detach()).item() / world.size  # every rank takes the same decision
            if not math.isfinite(current):
                raise TrainingDiverged(f"training loss became {current} at epoch {epoch + 1}, step {step}; the last "
                                       f"good checkpoint is kept. Lower train.lr or raise train.grad_clip and rerun.")
            bar.set_postfix(epoch=epoch + 1, loss=f"{current:.3f}")
    loss_sum, correct, seen = distributed.all_sum(loss_sum), distributed.all_sum(correct), seen * world.size
    mean_loss = (loss_sum / max(seen, 1)).item()
    if not math.isfinite(mean_loss):
        raise TrainingDiverged(f"training loss became {mean_loss} in epoch {epoch + 1}; the last good checkpoint is "
                               f"kept. Lower train.lr or raise train.grad_clip and rerun.")
    if not torch.stack([torch.isfinite(p).all() for p in model.parameters()]).all().item():
        raise TrainingDiverged(f"the weights became NaN/inf in epoch {epoch + 1}; the last good checkpoint is kept. "
                               f"Lower train.lr or raise train.grad_clip and rerun.")
    stats = {"loss": mean_loss, "acc": 100.0 * correct.item() / max(seen, 1), "lr": sched.get_last_lr()[0],
             "seconds": time.perf_counter() - began, "images": seen}
    if landmarks:
        stats["landmark_loss"] = landmark_sum.item() / max(landmark_steps, 1)
    if distill:
        stats["distill_loss"] = distill_sum.item() / max(distill_steps, 1)
        stats["teacher_seconds"] = distill.teacher.seconds - teacher_before
    return stats


def _bn_note(bn_policy: str) -> str:
    """How evaluation's BN policy treats the statistics of averaged weights."""
    if bn_policy == "recalibrate":
        return "eval.bn_policy=recalibrate re-estimates every subnet's BN statistics on the averaged weights"
    return (f"eval.bn_policy={bn_policy} scores them with the averaged running statistics, not re-estimated after "
            f"averaging (eval.bn_policy=recalibrate re-estimates them)")


def _quiet(*_: object) -> None:
    """The log of ranks other than 0."""
