"""`wsnas bench`'s training rows: supernet training images/s of wsnas's epoch loop against the DataLoader-fed
baselines (wsnas.supernets.bench.dataloader_baselines) at one shape, interleaved over rounds."""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

from wsnas.benchmarks.registry import get_space
from wsnas.core.config import Config
from wsnas.supernets.bench.measure import interleave, paired, peak_memory, summary, timed
from wsnas.supernets.bench.sizes import TRAIN_BASELINES, Shape, shape_config, silent


def train_row(base: Config, shape: Shape, plain, workers: int, progress: bool, rounds: int) -> dict[str, Any]:
    """Images/s of wsnas's training loop and of the baselines at one shape, interleaved over `rounds` rounds."""
    import torch
    from torch import nn
    from tqdm.auto import tqdm

    from wsnas.supernets.autotune import autotuned_runtime
    from wsnas.supernets.bench.dataloader_baselines import (XautodlMissing, XautodlNB201, host_images, make_loader,
                                                            train_steps)
    from wsnas.supernets.registry import build_model, num_classes, prepare_data
    from wsnas.supernets.samplers import PathSampler
    from wsnas.supernets.train import epoch_seed, make_optimizer, train_epoch

    cfg = shape_config(base, shape)
    rt = autotuned_runtime(cfg, "train", None, log=silent)
    space, b = get_space(cfg.space), shape.batch
    warm, _ = prepare_data(dataclasses.replace(cfg.data, n_train=shape.warmup * b), rt.device)
    data, _ = prepare_data(dataclasses.replace(cfg.data, n_train=shape.steps * b), rt.device)
    (wx, wy), (dx, dy) = host_images(warm), host_images(data)
    row: dict[str, Any] = {"shape": shape.name, "C": shape.C, "N": shape.N, "batch": b, "warmup_steps": shape.warmup,
                           "steps": shape.steps, "rounds": rounds}
    contenders: dict[str, Callable[[int], float]] = {}
    memory: dict[str, list[float]] = {}
    criterion = nn.CrossEntropyLoss()

    def clocked(name: str, step: Callable[[int], None], runtime) -> Callable[[int], float]:
        def run(round_: int) -> float:
            with peak_memory(runtime.device) as mem, timed(runtime.device) as clock:
                step(round_)
            memory.setdefault(name, []).append(mem["peak_rss_mb"])
            return shape.steps * b / clock["seconds"]
        return run

    model = build_model(cfg, rt)
    opt, sched = make_optimizer(cfg, model, shape.steps)
    train_epoch(cfg, model, warm, space, 0, opt, sched, criterion, rt, tqdm(disable=True))
    contenders["wsnas"] = clocked("wsnas", lambda r: train_epoch(cfg, model, data, space, r + 1, opt, sched, criterion,
                                                                 rt, tqdm(disable=True)), rt)

    def loader_fed(name: str, net: nn.Module, runtime) -> Callable[[int], float]:
        optimizer, schedule = make_optimizer(cfg, net, shape.steps)
        loader = make_loader(dx, dy, b, augment=True, workers=workers, rt=runtime, shuffle=True, seed=cfg.train.seed,
                             drop_last=True)
        warm_loader = make_loader(wx, wy, b, augment=True, workers=0, rt=runtime, shuffle=True, seed=cfg.train.seed,
                                  drop_last=True)
        train_steps(net, iter(warm_loader), PathSampler(space, "uniform", epoch_seed(cfg.train.seed, 0)), optimizer,
                    schedule, runtime, cfg.train.grad_clip, shape.warmup)
        state: dict[str, Any] = {}

        def step(round_: int) -> None:  # the path stream train_epoch draws in the same round
            train_steps(net, state.pop("batches"), PathSampler(space, "uniform", epoch_seed(cfg.train.seed, round_ + 1)),
                        optimizer, schedule, runtime, cfg.train.grad_clip, shape.steps)

        run = clocked(name, step, runtime)

        def timed_round(round_: int) -> float:
            state["batches"] = iter(loader)  # workers start here, outside the clock (as once per real epoch)
            return run(round_)

        return timed_round

    try:
        torch.manual_seed(cfg.train.seed)
        xautodl = XautodlNB201(shape.C, shape.N, num_classes(cfg)).to(plain.device)
        contenders["xautodl_dataloader"] = loader_fed("xautodl_dataloader", xautodl, plain)
    except XautodlMissing as exc:
        row["xautodl_dataloader"] = {"skipped": str(exc)}
        print(f"[bench] train {shape.name}: xautodl row skipped: {exc}")
    contenders["wsnas_dataloader"] = loader_fed("wsnas_dataloader", build_model(cfg, rt), rt)
    bare = build_model(cfg, rt)
    bare_opt, bare_sched = make_optimizer(cfg, bare, shape.steps)
    made = list(data.batches(b, shuffle=True, augment=True, generator=torch.Generator().manual_seed(cfg.train.seed),
                             drop_last=True, channels_last=rt.batches_channels_last))
    contenders["model_only"] = clocked("model_only", lambda r: train_steps(
        bare, iter(made), PathSampler(space, "uniform", epoch_seed(cfg.train.seed, r + 1)), bare_opt, bare_sched, rt,
        cfg.train.grad_clip, shape.steps), rt)
    with tqdm(total=rounds * len(contenders), desc=f"train {shape.name}", unit="run", disable=not progress,
              dynamic_ncols=True, leave=False) as bar:
        values = interleave(contenders, rounds, between=lambda: bar.update(1))
    for name, images_per_s in values.items():
        row[name] = {"images_per_s": summary(images_per_s), "peak_rss_mb": max(memory[name]),
                     "runtime": (plain if name == "xautodl_dataloader" else rt).describe()}
        if name in ("xautodl_dataloader", "wsnas_dataloader"):
            row[name]["workers"] = workers
    row["ratios"] = {name: paired(values["wsnas"], values[name]) for name in TRAIN_BASELINES if name in values}
    return row
