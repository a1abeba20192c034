"""`wsnas bench`: wsnas's training and evaluation speed side by side with a peer and a naive baseline.

In one run, on one machine, with the same data and shapes (wsnas.supernets.baselines holds the baselines):
  train    supernet training images/s on NAS-Bench-201 at each shape: wsnas (train.py's epoch loop: on-device
           uint8 data and augmentation, dead paths skipped) against (a) xautodl's random-sampling supernet and
           (b) wsnas's supernet, both fed by a torchvision-style DataLoader; same steps, batch and path stream,
           warm-up steps excluded;
  eval     subnets/min with BN recalibration: SubnetScorer against a naive evaluator (standalone network
           rebuilt per subnet, DataLoader input) on the same weights and images; equal accuracies are asserted;
  scaling  wall time of `train` against epochs and of `evaluate` against subnets, each a fitted line (fixed
           overhead + per-unit cost), with peak memory, per space;
  profile  torch.profiler of training steps and of one subnet evaluation: share of the conv/BN/matmul ops,
           of the data pipeline and of the rest; FLOP/s achieved against a measured fp32 matmul peak.
Everything goes to OUT/bench.json (atomically, with the config and machine facts). Torch is imported only when
the command runs, so the CLI keeps working without it.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import re
import resource
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from wsnas.atomic import write_json
from wsnas.benchmarks.registry import get_space
from wsnas.config import Config, apply_overrides, build_config, config_from_dict
from wsnas.errors import WsnasError
from wsnas.runs import RunDir, package_version, provenance


@dataclass(frozen=True)
class Shape:
    """A NAS-Bench-201 training shape and how many steps to warm up and to time."""

    name: str
    C: int
    N: int
    batch: int
    warmup: int
    steps: int


@dataclass(frozen=True)
class Size:
    shapes: tuple[Shape, ...]
    eval_subnets: int          # timed subnets per evaluator (one more is scored first as warm-up)
    calib_batches: int         # recalibration batches of train.batch_size training images per subnet
    n_valid: int               # held-out images every subnet is evaluated on
    eval_batch: int
    scale_n_train: int         # training images of the scaling runs
    scale_epochs: tuple[int, ...]
    scale_subnets: tuple[int, ...]
    profile_steps: int         # training steps per profile
    matmul_n: int              # side of the square matmul that measures the peak
    matmul_repeats: int


SIZES = {
    "default": Size(shapes=(Shape("paper", 16, 5, 256, warmup=1, steps=5), Shape("cpu", 8, 1, 64, warmup=5, steps=40)),
                    eval_subnets=20, calib_batches=4, n_valid=1000, eval_batch=500, scale_n_train=2000,
                    scale_epochs=(1, 2, 4), scale_subnets=(10, 20, 40), profile_steps=2, matmul_n=2048,
                    matmul_repeats=5),
    "quick": Size(shapes=(Shape("tiny", 4, 1, 32, warmup=1, steps=2),), eval_subnets=2, calib_batches=1, n_valid=64,
                  eval_batch=32, scale_n_train=128, scale_epochs=(1, 2), scale_subnets=(2, 4), profile_steps=1,
                  matmul_n=256, matmul_repeats=2),
}
EVAL_SPACE = "nb201"  # the eval comparison and the profile run on this space (the training rows always do)
COMPUTE_OP = re.compile(r"conv|batch_norm|addmm|::mm$|bmm|matmul|linear")  # aten ops counted as compute
PHASES = ("data", "forward", "backward", "optimizer")


class BenchMismatch(RuntimeError):
    """wsnas and the naive evaluator disagree on a subnet's accuracy: a bug, never a measurement."""


# -------------------------------------------------------------------------------------------------- CLI


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="training and evaluation throughput against xautodl and naive baselines, "
                                     "scaling, profile (minutes on 2 cores)")
    p.add_argument("--quick", action="store_true", help="tiny sizes that only check the machinery (seconds)")
    p.add_argument("--out", default="runs/bench", help="output directory: bench.json and the scaling runs")
    p.add_argument("--spaces", default="nb201,macro",
                   help="spaces of the scaling measurements; a space with no supernet is skipped with a note")
    p.add_argument("--workers", type=int, default=2, help="DataLoader worker processes of the baselines")
    p.add_argument("--data", help="CIFAR-10 location (as for `wsnas train --data`)")
    p.add_argument("--data-mirror", help="local mirror of the upstream files (default: $WSNAS_DATA_MIRROR)")
    p.add_argument("--device", default="auto", help="auto (default), cpu or cuda[:i]")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> None:
    if args.workers < 0:
        raise WsnasError(f"--workers {args.workers}: give 0 (load in the main process) or more worker processes")
    spaces = [s.strip() for s in args.spaces.split(",") if s.strip()]
    if not spaces:
        raise WsnasError(f"--spaces {args.spaces!r} names no space; give e.g. --spaces nb201,macro")
    for space in spaces:
        get_space(space)  # a misspelt space stops here, naming the known ones
    given = {"data.root": args.data, "data.mirror": args.data_mirror, "runtime.device": args.device,
             "runtime.threads": args.threads, "runtime.progress": not args.quiet, "train.sampler": "uniform",
             "eval.bn_policy": "recalibrate", "eval.finetune_batches": 0}
    common = {k: v for k, v in given.items() if v is not None}
    options = {"size": "quick" if args.quick else "default", "spaces": spaces, "workers": args.workers,
               "out": args.out, **common}
    document = run_bench(SIZES[options["size"]], Path(args.out), spaces, args.workers, common, options)
    print(format_report(document))
    print(f"[bench] {Path(args.out) / 'bench.json'}")


# ------------------------------------------------------------------------------------------ orchestration


def run_bench(size: Size, out: Path, spaces: list[str], workers: int, common: dict[str, Any],
              options: dict[str, Any]) -> dict[str, Any]:
    """Every measurement in order; returns (and writes to out/bench.json) the document."""
    from wsnas.supernets.registry import SUPERNETS, prepare_data
    from wsnas.supernets.runtime import resolve_runtime

    began = time.perf_counter()
    base = build_config("cpu", overrides={**common, "space": EVAL_SPACE, "data.n_train": size.scale_n_train,
                                          "data.n_valid": size.n_valid})
    rt = resolve_runtime(base.runtime)
    progress = base.runtime.progress
    doc: dict[str, Any] = {"options": options, "size": dataclasses.asdict(size), "base_config": base.to_dict(),
                           "provenance": provenance(), "machine": machine_facts(rt), "runtime": rt.describe()}
    say = print if progress else _silent
    say(f"[bench] {options['size']} size, {rt.describe()}; loading the data")
    with timed(rt.device) as first_load:
        prepare_data(base.data, rt.device)  # a first run decodes CIFAR-10 here, outside every measurement
    doc["data_first_load_s"] = first_load["seconds"]
    say("[bench] peak FLOP/s (matmul), then training throughput")
    doc["peak"] = matmul_peak(rt, size.matmul_n, size.matmul_repeats)
    doc["train"] = [train_row(base, shape, rt, workers, progress) for shape in size.shapes]
    say(f"[bench] scaling against epochs {list(size.scale_epochs)} and subnets {list(size.scale_subnets)}")
    doc["scaling"], skipped, runs = {}, {}, {}
    for space in spaces:
        if space not in SUPERNETS:
            skipped[space] = f"space {space!r} has no supernet registered (known: {', '.join(sorted(SUPERNETS))})"
            print(f"[bench] scaling: {skipped[space]}; skipped")
            continue
        doc["scaling"][space], runs[space] = scaling(size, {**common, "space": space}, rt, out / "runs")
    doc["scaling_skipped"] = skipped
    eval_cfg, eval_run = runs.get(EVAL_SPACE) or scaling(size, {**common, "space": EVAL_SPACE}, rt, out / "runs",
                                                          epochs_only=True)[1]
    say(f"[bench] evaluation: {size.eval_subnets} subnets by SubnetScorer and by the naive evaluator")
    doc["eval"], scorer, archs = eval_row(eval_cfg, eval_run, rt, size, workers)
    say("[bench] profiling training steps and one subnet evaluation")
    doc["profile"] = {"train": [profile_train(base, shape, rt, size.profile_steps) for shape in size.shapes],
                      "eval": profile_eval(scorer, archs[1], rt)}
    for part in (*doc["profile"]["train"], doc["profile"]["eval"]):
        part["fraction_of_peak"] = part["achieved_gflops"] / doc["peak"]["gflops"]
    doc["ratios"] = ratios(doc)
    doc["machine"]["loadavg_end"] = os.getloadavg()
    doc["seconds_total"] = time.perf_counter() - began
    write_json(out / "bench.json", doc)
    return doc


def ratios(doc: dict[str, Any]) -> dict[str, float | None]:
    """wsnas over each baseline: training images/s per shape, evaluation subnets/min."""
    out: dict[str, float | None] = {}
    for row in doc["train"]:
        wsnas = row["wsnas"]["images_per_s"]
        for name, label in (("xautodl_dataloader", "xautodl"), ("wsnas_dataloader", "dataloader")):
            other = row[name].get("images_per_s")
            out[f"train_{row['shape']}_wsnas/{label}"] = wsnas / other if other else None
    e = doc["eval"]
    out["eval_wsnas/naive"] = e["wsnas"]["subnets_per_min"] / e["naive"]["subnets_per_min"]
    return out


# ----------------------------------------------------------------------------------------------- training


def _shape_config(base: Config, shape: Shape) -> Config:
    return apply_overrides(config_from_dict(base.to_dict()), {"model.C": shape.C, "model.N": shape.N,
                                                               "train.batch_size": shape.batch})


def train_row(base: Config, shape: Shape, rt, workers: int, progress: bool) -> dict[str, Any]:
    """Images/s of wsnas's training loop and of the two DataLoader-fed baselines at one shape."""
    import numpy as np
    import torch
    from torch import nn
    from tqdm.auto import tqdm

    from wsnas.supernets.baselines import XautodlMissing, XautodlNB201, host_images, make_loader, train_steps
    from wsnas.supernets.registry import num_classes, prepare_data
    from wsnas.supernets.samplers import PathSampler
    from wsnas.supernets.train import train_epoch, build_model, epoch_seed, make_optimizer

    cfg = _shape_config(base, shape)
    space, b = get_space(cfg.space), shape.batch
    warm, _ = prepare_data(dataclasses.replace(cfg.data, n_train=shape.warmup * b), rt.device)
    data, _ = prepare_data(dataclasses.replace(cfg.data, n_train=shape.steps * b), rt.device)
    row: dict[str, Any] = {"shape": shape.name, "C": shape.C, "N": shape.N, "batch": b,
                           "warmup_steps": shape.warmup, "steps": shape.steps}

    def bar(name: str) -> Any:
        return tqdm(total=shape.warmup + shape.steps, desc=f"train {shape.name} {name}", unit="step",
                    disable=not progress, dynamic_ncols=True, leave=False)

    model = build_model(cfg, rt)
    opt, sched = make_optimizer(cfg, model, shape.steps)
    with bar("wsnas") as progress_bar, peak_memory(rt.device) as memory:
        train_epoch(cfg, model, warm, space, 0, opt, sched, nn.CrossEntropyLoss(), rt, progress_bar)
        with timed(rt.device) as clock:
            train_epoch(cfg, model, data, space, 1, opt, sched, nn.CrossEntropyLoss(), rt, progress_bar)
    row["wsnas"] = _throughput(shape, clock["seconds"], memory)

    (wx, wy), (dx, dy) = host_images(warm), host_images(data)
    images, labels = np.concatenate([wx, dx]), np.concatenate([wy, dy])

    def xautodl() -> nn.Module:
        torch.manual_seed(cfg.train.seed)
        return XautodlNB201(shape.C, shape.N, num_classes(cfg)).to(rt.device, memory_format=rt.memory_format)

    for name, build in (("wsnas_dataloader", lambda: build_model(cfg, rt)), ("xautodl_dataloader", xautodl)):
        try:
            model = build()
        except XautodlMissing as exc:
            row[name] = {"skipped": str(exc)}
            print(f"[bench] train {shape.name}: xautodl row skipped: {exc}")
            continue
        opt, sched = make_optimizer(cfg, model, shape.steps)
        loader = make_loader(images, labels, b, augment=True, workers=workers, rt=rt, shuffle=True,
                             seed=cfg.train.seed, drop_last=True)
        batches = iter(loader)
        with bar(name) as progress_bar, peak_memory(rt.device) as memory:
            for epoch, steps in ((0, shape.warmup), (1, shape.steps)):  # the paths train_epoch draws above
                sampler = PathSampler(space, "uniform", epoch_seed(cfg.train.seed, epoch))
                with timed(rt.device) as clock:
                    train_steps(model, batches, sampler, opt, sched, rt, cfg.train.grad_clip, steps, progress_bar)
        del batches, loader  # stops the worker processes
        row[name] = {**_throughput(shape, clock["seconds"], memory), "workers": workers}
    return row


def _throughput(shape: Shape, seconds: float, memory: dict[str, Any]) -> dict[str, Any]:
    return {"seconds": seconds, "images_per_s": shape.steps * shape.batch / seconds, **memory}


# ------------------------------------------------------------------------------------------------ scaling


def scaling(size: Size, overrides: dict[str, Any], rt, root: Path,
            epochs_only: bool = False) -> tuple[dict[str, Any], tuple[Config, Any]]:
    """Wall time (setup included) of train_supernet against epochs and of evaluate_run against subnets, each
    in a fresh run, with lines fitted; returns them and (config, run) of the longest-trained run."""
    from wsnas.supernets.evaluate import SHARDS_DIR, evaluate_run
    from wsnas.supernets.train import train_supernet

    cfg = build_config("cpu", overrides={**overrides, "data.n_train": size.scale_n_train,
                                         "data.n_valid": size.n_valid, "eval.calib_batches": size.calib_batches,
                                         "eval.batch_size": size.eval_batch, "eval.epochs": []})
    result: dict[str, Any] = {"config": cfg.to_dict(), "epochs": [], "subnets": []}
    run = None
    for epochs in size.scale_epochs:
        cfg.train.epochs = epochs
        run = RunDir(root / f"{cfg.space}-{epochs}ep")
        shutil.rmtree(run.path, ignore_errors=True)
        run.init(cfg)
        with peak_memory(rt.device) as memory, timed(rt.device) as clock:
            train_supernet(cfg, run, log=_silent)
        result["epochs"].append({"epochs": epochs, "seconds": clock["seconds"], **memory})
    result["epochs_fit"] = fit_line([p["epochs"] for p in result["epochs"]], [p["seconds"] for p in result["epochs"]])
    if not epochs_only:
        for n in size.scale_subnets:
            cfg.eval.n_archs = n
            run.scores_path.unlink(missing_ok=True)
            shutil.rmtree(run.path / SHARDS_DIR, ignore_errors=True)
            with peak_memory(rt.device) as memory, timed(rt.device) as clock:
                evaluate_run(cfg, run, log=_silent)
            result["subnets"].append({"subnets": n, "seconds": clock["seconds"], **memory})
        result["subnets_fit"] = fit_line([p["subnets"] for p in result["subnets"]],
                                         [p["seconds"] for p in result["subnets"]])
    return result, (cfg, run)


def fit_line(xs: list[float], ys: list[float]) -> dict[str, float]:
    """Least-squares seconds = overhead + per_unit * x, with R^2."""
    import numpy as np

    per_unit, overhead = np.polyfit(np.asarray(xs, float), np.asarray(ys, float), 1)
    residual = np.asarray(ys) - (overhead + per_unit * np.asarray(xs))
    spread = float(np.sum((np.asarray(ys) - np.mean(ys)) ** 2))
    return {"overhead_s": float(overhead), "per_unit_s": float(per_unit),
            "r2": 1.0 - float(np.sum(residual ** 2)) / spread if spread > 0 else 1.0}


def _silent(*_: object) -> None:
    """The log of the scaling runs (their config lines would drown the report)."""


# --------------------------------------------------------------------------------------------- evaluation


def eval_row(cfg: Config, run, rt, size: Size, workers: int) -> tuple[dict[str, Any], Any, list[Any]]:
    """Subnets/min of SubnetScorer and of the naive evaluator on the same checkpoint, archs and images; raises
    BenchMismatch unless every accuracy is equal. Returns the row, the scorer and the archs."""
    from wsnas.supernets.evaluate import SubnetScorer

    space, epoch = get_space(cfg.space), cfg.train.epochs
    archs = space.sample(size.eval_subnets + 1, cfg.eval.seed)  # the first one warms up
    scorer = SubnetScorer(cfg, rt)
    scorer.load(run, epoch)
    with peak_memory(rt.device) as memory:
        scorer.score(archs[0])
        with timed(rt.device) as clock:
            rows = [scorer.score(arch) for arch in _bar(cfg, archs[1:], "eval wsnas")]
    wsnas = {"seconds": clock["seconds"], "subnets_per_min": 60 * len(rows) / clock["seconds"], **memory}
    naive_runs = [naive_eval(cfg, run, rt, archs, count) for count in sorted({workers, 0})]
    loss_diff = 0.0
    for naive in naive_runs:
        for arch, row, (acc, loss) in zip(archs[1:], rows, naive.pop("scores")):
            if row["supernet_acc"] != acc:
                raise BenchMismatch(f"arch {space.format(arch)}: wsnas accuracy {row['supernet_acc']}% but the "
                                    f"naive evaluator's {acc}% on the same weights and images")
            loss_diff = max(loss_diff, abs(row["supernet_loss"] - loss))
    return {"space": cfg.space, "C": cfg.model.C, "N": cfg.model.N, "epoch": epoch, "subnets": len(rows),
            "calib_images": sum(len(y) for _, y in scorer.calib), "eval_images": scorer.n_eval, "wsnas": wsnas,
            "naive": max(naive_runs, key=lambda r: r["subnets_per_min"]),  # the ratio is against the faster
            "naive_by_workers": naive_runs, "identical_accuracy": True, "max_abs_loss_diff": loss_diff,
            "archs": [space.format(a) for a in archs[1:]], "accuracies": [r["supernet_acc"] for r in rows]
            }, scorer, archs


def naive_eval(cfg: Config, run, rt, archs: list[Any], workers: int) -> dict[str, Any]:
    """Subnets/min of the naive evaluator with `workers` DataLoader workers (0 = in-process loading, which on
    few cores may beat worker processes), on SubnetScorer's calibration and held-out images; archs[0] warms up."""
    import torch

    from wsnas.supernets.baselines import NaiveEvaluator, host_images, make_loader
    from wsnas.supernets.checkpoints import checkpoint_path, load_checkpoint
    from wsnas.supernets.registry import prepare_data, supernet_spec
    from wsnas.supernets.train import build_model

    e = cfg.eval
    train, valid = prepare_data(cfg.data, rt.device)
    # the calibration images SubnetScorer's materialize draws: the first of a seeded permutation
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(e.seed))
    calib = order[:e.calib_batches * cfg.train.batch_size].tolist()
    supernet = build_model(cfg, rt)
    supernet.load_state_dict(load_checkpoint(checkpoint_path(run.checkpoint_dir, cfg.train.epochs), rt.device)["model"])
    naive = NaiveEvaluator(supernet, supernet_spec(cfg).extract,
                           make_loader(*host_images(train), cfg.train.batch_size, augment=False, workers=workers,
                                       rt=rt, order=calib),
                           make_loader(*host_images(valid), e.batch_size, augment=False, workers=workers, rt=rt), rt)
    with peak_memory(rt.device) as memory:
        naive.score(archs[0])
        with timed(rt.device) as clock:
            scores = [naive.score(arch) for arch in _bar(cfg, archs[1:], f"eval naive, {workers} workers")]
    return {"seconds": clock["seconds"], "subnets_per_min": 60 * len(scores) / clock["seconds"], "workers": workers,
            "scores": scores, **memory}


def _bar(cfg: Config, items: list[Any], desc: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit="subnet", disable=not cfg.runtime.progress, dynamic_ncols=True, leave=False)


# ------------------------------------------------------------------------------------------------ profile


def profile_train(base: Config, shape: Shape, rt, steps: int) -> dict[str, Any]:
    """Profile `steps` wsnas training steps (on-device batches, labelled phases) at one shape."""
    import torch

    from wsnas.supernets.baselines import train_steps
    from wsnas.supernets.registry import prepare_data
    from wsnas.supernets.samplers import PathSampler
    from wsnas.supernets.train import build_model, make_optimizer

    cfg = _shape_config(base, shape)
    data, _ = prepare_data(dataclasses.replace(cfg.data, n_train=steps * shape.batch), rt.device)
    model = build_model(cfg, rt)
    opt, sched = make_optimizer(cfg, model, steps)
    space = get_space(cfg.space)

    def run() -> None:  # the same images, augmentation and paths every time
        gen = torch.Generator().manual_seed(cfg.train.seed)
        batches = data.batches(shape.batch, shuffle=True, augment=True, generator=gen, drop_last=True,
                               channels_last=rt.channels_last)
        train_steps(model, batches, PathSampler(space, "uniform", cfg.train.seed), opt, sched, rt,
                    cfg.train.grad_clip, steps)

    sampler = PathSampler(space, "uniform", cfg.train.seed)
    return {"what": f"{steps} training steps", "shape": shape.name, "C": shape.C, "N": shape.N,
            "batch": shape.batch, "archs": [space.format(sampler()) for _ in range(steps)], **profile(run, rt)}


def profile_eval(scorer, arch: Any, rt) -> dict[str, Any]:
    """Profile one subnet evaluation (recalibration included) of SubnetScorer."""
    from wsnas.supernets.evaluate import score_subnet

    def run() -> None:
        score_subnet(scorer.model, arch, scorer.calib, scorer.evaluation, rt, "recalibrate")

    c = scorer.cfg
    return {"what": "one subnet evaluation", "C": c.model.C, "N": c.model.N, "arch": scorer.space.format(arch),
            "calib_images": sum(len(y) for _, y in scorer.calib), "eval_images": scorer.n_eval, **profile(run, rt)}


def profile(run: Callable[[], None], rt) -> dict[str, Any]:
    """Warm up, time `run` plain, then once under torch.profiler (where the time goes) and once under
    FlopCounterMode (2 FLOPs per multiply-add of conv and matmul, forward and backward; the forward count
    equals benchmarks/nb201_cost's closed form for a cell without dead edges)."""
    import torch
    from torch.profiler import ProfilerActivity
    from torch.utils.flop_counter import FlopCounterMode

    run()
    with timed(rt.device) as plain:
        run()
    on_gpu = rt.device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if on_gpu else [])
    with torch.profiler.profile(activities=activities) as prof, timed(rt.device) as profiled:
        run()
    with FlopCounterMode(display=False) as counter:
        run()
    flops = counter.get_total_flops()
    shares = time_shares(prof.events(), profiled["seconds"], on_gpu)
    averages = prof.key_averages()
    top = sorted(averages, key=lambda ev: _self_us(ev, on_gpu), reverse=True)[:10]
    return {"seconds": plain["seconds"], "profiled_seconds": profiled["seconds"], "flops": flops,
            "achieved_gflops": flops / plain["seconds"] / 1e9,
            "shares_of": "device time (overhead = device idle)" if on_gpu else "wall time of the profiled run",
            "shares": shares, "phases_s": {ev.key: ev.cpu_time_total / 1e6 for ev in averages if ev.key in PHASES},
            "top_ops": [{"op": ev.key, "self_ms": _self_us(ev, on_gpu) / 1e3, "calls": ev.count} for ev in top]}


def time_shares(events: Any, wall_s: float, on_gpu: bool) -> dict[str, float]:
    """Shares of the wall time: conv/BN/matmul ops; every other tensor op (pooling, activations, sums, the
    optimizer's arithmetic, indexing); the data pipeline (everything under the `data` label); and overhead
    (Python, dispatch, autograd bookkeeping: what no op accounts for). On a GPU the op shares are of device
    time, data counts in the ops it launches, and overhead is the time the device sat idle."""
    wall = wall_s * 1e6
    sums = {"conv_bn_matmul": 0.0, "other_ops": 0.0, "data": 0.0}
    for ev in events:
        if ev.name == "data" and not on_gpu:
            sums["data"] += ev.cpu_time_total
        elif ev.name.startswith("aten::") and (on_gpu or not _under(ev, "data")):
            sums["conv_bn_matmul" if COMPUTE_OP.search(ev.name) else "other_ops"] += _self_us(ev, on_gpu)
    shares = {key: value / wall for key, value in sums.items()}
    shares["overhead"] = max(0.0, 1.0 - sum(shares.values()))
    return shares


def _under(event: Any, label: str) -> bool:
    parent = event.cpu_parent
    while parent is not None:
        if parent.name == label:
            return True
        parent = parent.cpu_parent
    return False


def _self_us(event: Any, on_gpu: bool) -> float:
    return event.self_device_time_total if on_gpu else event.self_cpu_time_total


def matmul_peak(rt, n: int, repeats: int) -> dict[str, Any]:
    """Best-of-`repeats` FLOP/s of an n x n fp32 matmul on the run's device and threads (2 n^3 FLOPs each);
    on a GPU with bf16 autocast, of a bf16 one too (the precision the runs compute in); n >= 8192 on a GPU."""
    import torch

    n = n if rt.device.type == "cpu" else max(n, 8192)

    def best(dtype: torch.dtype) -> float:
        a = torch.randn(n, n, device=rt.device).to(dtype)
        b = torch.randn(n, n, device=rt.device).to(dtype)
        torch.mm(a, b)
        times = []
        for _ in range(repeats):
            with timed(rt.device) as clock:
                torch.mm(a, b)
            times.append(clock["seconds"])
        return 2 * n ** 3 / min(times) / 1e9

    out: dict[str, Any] = {"how": f"best of {repeats} torch.mm of two {n}x{n} fp32 matrices on {rt.device}, "
                                  f"{torch.get_num_threads()} threads", "n": n, "gflops": best(torch.float32)}
    if rt.amp_dtype is not None:
        out["amp_gflops"] = best(rt.amp_dtype)
        out["gflops"] = out["amp_gflops"]
        out["how"] += f"; runs compute in {rt.amp_dtype}, so the peak is that of the same matmul in it"
    return out


# ----------------------------------------------------------------------------------------------- helpers


@contextmanager
def timed(device) -> Iterator[dict[str, float]]:
    """Wall seconds of the block, the device synchronised at both ends."""
    _sync(device)
    out: dict[str, float] = {}
    began = time.perf_counter()
    yield out
    _sync(device)
    out["seconds"] = time.perf_counter() - began


def _sync(device) -> None:
    if device.type == "cuda":
        import torch

        torch.cuda.synchronize(device)


@contextmanager
def peak_memory(device) -> Iterator[dict[str, Any]]:
    """Peak resident memory of this process during the block (Linux: VmHWM after resetting it through
    /proc/self/clear_refs; elsewhere the process's peak so far) and, on a GPU, torch's peak allocation.
    DataLoader worker processes are not included."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        scope = "block"
    except OSError:
        scope = "process"
    if device.type == "cuda":
        import torch

        torch.cuda.reset_peak_memory_stats(device)
    out: dict[str, Any] = {}
    yield out
    out["peak_rss_mb"] = _vm_hwm_mb() if scope == "block" else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["peak_rss_scope"] = scope
    if device.type == "cuda":
        import torch

        out["cuda_max_allocated_mb"] = torch.cuda.max_memory_allocated(device) / 2 ** 20


def _vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def machine_facts(rt) -> dict[str, Any]:
    import torch

    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next((int(line.split()[1]) / 2 ** 20 for line in _read("/proc/meminfo").splitlines()
                if line.startswith("MemTotal:")), None)
    facts: dict[str, Any] = {
        "cpu": cpu, "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gb": mem, "torch_threads": torch.get_num_threads(), "loadavg_start": os.getloadavg(),
        "xautodl": package_version("xautodl"),
    }
    if rt.device.type == "cuda":
        props = torch.cuda.get_device_properties(rt.device)
        facts["gpu"] = {"name": props.name, "memory_gb": props.total_memory / 2 ** 30,
                        "capability": f"{props.major}.{props.minor}"}
    return facts


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


# ------------------------------------------------------------------------------------------------- report


def format_report(doc: dict[str, Any]) -> str:
    """The ratio table, the scaling lines and the profile shares."""
    peak = doc["peak"]
    lines = [f"wsnas bench ({doc['options']['size']} size) on {doc['machine']['cpu']}, {doc['runtime']}",
             f"{'measurement':44} {'wsnas':>12} {'baseline':>12} {'ratio':>7}"]
    for row in doc["train"]:
        shape = f"C={row['C']} N={row['N']} batch {row['batch']}"
        for name, label in (("xautodl_dataloader", "xautodl+DataLoader"), ("wsnas_dataloader", "wsnas+DataLoader")):
            other = row[name]
            text = f"{other['images_per_s']:9.1f} im/s" if "images_per_s" in other else "   skipped"
            ratio = f"{row['wsnas']['images_per_s'] / other['images_per_s']:6.2f}x" if "images_per_s" in other else ""
            lines.append(f"{f'train {shape} vs {label}':44} {row['wsnas']['images_per_s']:7.1f} im/s "
                         f"{text:>12} {ratio:>7}")
    e = doc["eval"]
    what = f"eval C={e['C']} N={e['N']}, {e['calib_images']}+{e['eval_images']} images vs naive"
    lines.append(f"{what:44} {e['wsnas']['subnets_per_min']:6.1f}/min {e['naive']['subnets_per_min']:8.1f}/min "
                 f"{e['wsnas']['subnets_per_min'] / e['naive']['subnets_per_min']:6.2f}x")
    tried = " or ".join(str(r["workers"]) for r in e["naive_by_workers"])
    lines.append(f"  naive: the faster of {tried} DataLoader workers ({e['naive']['workers']}); identical accuracies "
                 f"on {e['subnets']} subnets (max |loss diff| {e['max_abs_loss_diff']:.2g})")
    for space, s in doc["scaling"].items():
        for unit, key in (("epoch", "epochs_fit"), ("subnet", "subnets_fit")):
            if key in s:
                fit = s[key]
                peak_mb = max(p["peak_rss_mb"] for p in s[key.split("_")[0]])
                lines.append(f"scaling {space}: {fit['overhead_s']:.1f} s + {fit['per_unit_s']:.2f} s/{unit} "
                             f"(R^2 {fit['r2']:.3f}), peak RSS {peak_mb:.0f} MB")
    for part in (*doc["profile"]["train"], doc["profile"]["eval"]):
        sh = part["shares"]
        lines.append(f"profile {part['what']} C={part['C']} N={part['N']}: conv/BN/matmul {sh['conv_bn_matmul']:.0%}, "
                     f"other ops {sh['other_ops']:.0%}, data {sh['data']:.0%}, overhead {sh['overhead']:.0%}; "
                     f"{part['achieved_gflops']:.1f} GFLOP/s = {part['fraction_of_peak']:.0%} of peak")
    lines.append(f"peak: {peak['gflops']:.1f} GFLOP/s ({peak['how']})")
    lines.append(f"total {doc['seconds_total']:.0f} s")
    return "\n".join(lines)
