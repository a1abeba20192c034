"""Training protocols of the uniform supernet (docs/training-protocols.md): their checks before any data loads,
and their part of a score's identity.

A run's whole config is its identity (RUN/config.json; a resumed run must match it). A protocol option changes
the weights a checkpoint offers, so a run that sets one also names it in the settings of its score sets
(wsnas.core.score_sets): scores made under SGDR, strict fairness, averaged weights, landmarks, a few-shot split or
distillation (its teacher named) never share a score-set id with scores of the plain protocol. Runs of the plain
protocol name none, so their score-set ids stay as they were.
"""
from __future__ import annotations

from typing import Any, Sequence

from wsnas.benchmarks.space import SearchSpace
from wsnas.core.config import TrainConfig
from wsnas.supernets.distill import check_distill
from wsnas.supernets.fewshot import check_fewshot, warmup_epochs
from wsnas.supernets.landmarks import check_landmarks
from wsnas.supernets.samplers import make_sampler
from wsnas.supernets.schedules import lr_factor
from wsnas.supernets.weight_averaging import check_averaging


def check_protocol(t: TrainConfig, space: SearchSpace, pool: Sequence[Any] | None) -> None:
    """One clear error for a schedule, sampler, weight averaging, landmark, few-shot or distillation option this
    run cannot train with."""
    lr_factor(t, 1)
    make_sampler(space, t.sampler, t.seed, pool)
    check_averaging(t)
    check_landmarks(t)
    check_fewshot(t, space)
    check_distill(t)


def protocol_settings(t: TrainConfig) -> dict[str, Any]:
    """The protocol options `t` sets away from the plain protocol ({} for none), as a score set records them."""
    settings: dict[str, Any] = {}
    if t.lr_schedule == "cosine_restarts":
        settings["lr_schedule"] = {"name": t.lr_schedule, "restart_period": t.lr_restart_period,
                                   "restart_mult": t.lr_restart_mult}
    if t.sampler == "strict_fair":
        settings["sampler"] = t.sampler
    if t.ema_decay:
        settings["weights"] = {"ema_decay": t.ema_decay}
    if t.swa_epochs:
        settings["weights"] = {"swa_epochs": t.swa_epochs}
    if t.landmarks:
        settings["landmarks"] = {"k": t.landmarks, "weight": t.landmark_weight, "every": t.landmark_every,
                                 "pairs": t.landmark_pairs, "margin": t.landmark_margin, "seed": t.landmark_seed}
    if t.fewshot_slot is not None:
        settings["fewshot"] = {"slot": t.fewshot_slot, "warmup": warmup_epochs(t)}
    if t.distill_teacher is not None:
        settings["distill"] = {"teacher": t.distill_teacher, "weight": t.distill_weight, "every": t.distill_every,
                               "archs": t.distill_archs, "margin": t.distill_margin}
    return settings


def ignored_options(t: TrainConfig, uses_sampler: bool) -> list[str]:
    """The supernet-training options set in `t` that a trainer of another kind (a search method, standalone
    training) would ignore: weight averaging, landmarks, few-shot splits and distillation always, a non-uniform path
    sampler unless it draws paths by it."""
    ignored = [f"train.{k}" for k in ("ema_decay", "swa_epochs", "landmarks") if getattr(t, k)]
    ignored += [f"train.{k}" for k in ("fewshot_slot", "distill_teacher") if getattr(t, k) is not None]
    if t.sampler != "uniform" and not uses_sampler:
        ignored.append(f"train.sampler={t.sampler}")
    return ignored


def single_process_options(t: TrainConfig) -> list[str]:
    """The options set in `t` that train on one process only (not under torchrun): landmarks and distillation
    (several forwards per backward), few-shot splits (sub-supernets outside DDP)."""
    return ([f"train.landmarks={t.landmarks}"] if t.landmarks else []) + [
        f"train.{k}={getattr(t, k)}" for k in ("fewshot_slot", "distill_teacher") if getattr(t, k) is not None]
