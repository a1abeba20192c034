"""`wsnas bench`: wsnas's training and evaluation speed side by side with a peer and a naive baseline.

In one run, on one machine, with the same data and shapes (wsnas.supernets.baselines holds the baselines). Every
contender of a measurement runs once per round, in turn (ABC ABC ...), for `rounds` rounds: each figure is the
median with its range, each ratio the median (and range) of the round-by-round ratios, so a passing load hits
every contender alike; a figure whose rounds spread widely, or a fit with a low R^2, is flagged as measured on a
busy machine.
  train    supernet training images/s on NAS-Bench-201 at each shape: wsnas (train.py's epoch loop: on-device
           uint8 data and augmentation, dead paths skipped, at its autotuned runtime) against (a) xautodl's
           random-sampling supernet fed by a torchvision-style DataLoader, in fp32 and the contiguous format as
           its users run it, (b) wsnas's supernet fed by that DataLoader, at wsnas's runtime (what the on-device
           pipeline gives), (c) the same supernet stepped on batches made beforehand, with no loop around it (what
           the training loop costs); same steps, batch and path stream, warm-up steps excluded;
  eval     subnets/min with BN recalibration: SubnetScorer.score_many (staged scoring, at its autotuned runtime,
           and in fp32 contiguous) against a naive evaluator (standalone network rebuilt per subnet, DataLoader
           input, fp32 contiguous) on the same weights, archs and images; fp32 accuracies must be identical;
  scaling  wall time of `train` against epochs and of `evaluate` against subnets, each a fitted line (fixed
           overhead + per-unit cost), with peak memory, per space;
  profile  torch.profiler of training steps and of staged scoring: shares of the conv/BN/matmul ops, of the
           data pipeline and of the rest; FLOPs per subnet scored whole and staged; FLOP/s achieved against a
           measured matmul peak in the precision the run computes in;
  layout   forward + backward milliseconds of a batch norm and of a ReLU-conv3x3 at each NB201 stage's width and
           resolution of the last training shape, contiguous against channels_last, interleaved: what the
           autotune's `wide` layout rests on (runtime.py).
Everything goes to OUT/bench.json (atomically, with the config and machine facts), with a flat `figures` table
that `wsnas bench --compare OLD.json` compares with a saved bench. Torch is imported only when the command runs.
"""
from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from wsnas.core.atomic import write_json
from wsnas.benchmarks.registry import get_space
from wsnas.core.config import Config, apply_overrides, build_config, config_from_dict
from wsnas.core.errors import WsnasError
from wsnas.core.runs import RunDir, provenance
from wsnas.supernets.measure import (busy_warnings, compare, figure, interleave, load_warning, machine_facts,
                                     paired, peak_memory, quiet_stderr, read_document, summary, timed)


@dataclass(frozen=True)
class Shape:
    """A NAS-Bench-201 training shape and how many steps to warm up and to time per round."""

    name: str
    C: int
    N: int
    batch: int
    warmup: int
    steps: int


@dataclass(frozen=True)
class Size:
    shapes: tuple[Shape, ...]
    rounds: int                # interleaved rounds of every side-by-side measurement
    eval_subnets: int          # timed subnets per evaluator and round (one more is scored first as warm-up)
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
    "default": Size(shapes=(Shape("paper", 16, 5, 256, warmup=1, steps=3), Shape("cpu", 8, 1, 64, warmup=5, steps=40)),
                    rounds=3, eval_subnets=40, calib_batches=4, n_valid=1000, eval_batch=500, scale_n_train=2000,
                    scale_epochs=(1, 2, 4), scale_subnets=(10, 20, 40), profile_steps=2, matmul_n=2048,
                    matmul_repeats=5),
    "quick": Size(shapes=(Shape("tiny", 4, 1, 32, warmup=1, steps=2),), rounds=2, eval_subnets=3, calib_batches=1,
                  n_valid=64, eval_batch=32, scale_n_train=128, scale_epochs=(1, 2), scale_subnets=(2, 4),
                  profile_steps=1, matmul_n=256, matmul_repeats=2),
}
EVAL_SPACE = "nb201"  # the eval comparison and the profile run on this space (the training rows always do)
COMPUTE_OP = re.compile(r"conv|batch_norm|addmm|::mm$|bmm|matmul|linear")  # aten ops counted as compute
PHASES = ("data", "forward", "backward", "optimizer")
TRAIN_BASELINES = {"xautodl_dataloader": "xautodl + DataLoader", "wsnas_dataloader": "wsnas + DataLoader",
                   "model_only": "the model alone, no loop"}


class BenchMismatch(RuntimeError):
    """wsnas and the naive evaluator disagree on a subnet's accuracy: a bug, never a measurement."""


# -------------------------------------------------------------------------------------------------- CLI


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="training and evaluation throughput against xautodl and naive baselines, "
                                     "scaling, profile (minutes on 2 cores); --gpu: the GPU check")
    p.add_argument("--quick", action="store_true", help="tiny sizes that only check the machinery (seconds)")
    p.add_argument("--gpu", action="store_true", help="the GPU check at the paper shape instead (at most 8 minutes "
                                                      "on one GPU; with --quick, a smoke run on any device)")
    p.add_argument("--out", default="runs/bench", help="output directory: bench.json (gpu_check.json with --gpu) "
                                                       "and the scaling runs")
    p.add_argument("--compare", metavar="OLD.json", help="print each figure's ratio to this saved bench document")
    p.add_argument("--against", metavar="NEW.json", help="with --compare: compare with this saved document "
                                                         "instead of running a bench")
    p.add_argument("--rounds", type=int, help="interleaved rounds of each side-by-side measurement (default 3)")
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
    if args.against:
        if not args.compare:
            raise WsnasError("--against NEW.json compares with an older document: give it with --compare OLD.json")
        print("\n".join(compare(read_document(args.compare), read_document(args.against))))
        return
    old = read_document(args.compare) if args.compare else None  # a bad file stops before minutes of measuring
    if args.workers < 0:
        raise WsnasError(f"--workers {args.workers}: give 0 (load in the main process) or more worker processes")
    if args.rounds is not None and args.rounds < 1:
        raise WsnasError(f"--rounds {args.rounds}: give 1 or more (3 or more for a median with a range)")
    spaces = [s.strip() for s in args.spaces.split(",") if s.strip()]
    if not spaces:
        raise WsnasError(f"--spaces {args.spaces!r} names no space; give e.g. --spaces nb201,macro")
    for space in spaces:
        get_space(space)  # a misspelt space stops here, naming the known ones
    given = {"data.root": args.data, "data.mirror": args.data_mirror, "runtime.device": args.device,
             "runtime.threads": args.threads, "runtime.progress": not args.quiet, "train.sampler": "uniform",
             "eval.bn_policy": "recalibrate", "eval.finetune_batches": 0}
    common = {k: v for k, v in given.items() if v is not None}
    if args.gpu:
        from wsnas.supernets.gpu_check import format_gpu_report, run_gpu_check

        document = run_gpu_check(Path(args.out), common, quick=args.quick)
        print(format_gpu_report(document))
        name = "gpu_check.json"
    else:
        size = SIZES["quick" if args.quick else "default"]
        if args.rounds:
            size = dataclasses.replace(size, rounds=args.rounds)
        options = {"size": "quick" if args.quick else "default", "spaces": spaces, "workers": args.workers,
                   "out": args.out, "rounds": size.rounds, **common}
        document = run_bench(size, Path(args.out), spaces, args.workers, common, options)
        print(format_report(document))
        name = "bench.json"
    print(f"[bench] {Path(args.out) / name}")
    if old is not None:
        print("\n".join(compare(old, document)))


# ------------------------------------------------------------------------------------------ orchestration


def run_bench(size: Size, out: Path, spaces: list[str], workers: int, common: dict[str, Any],
              options: dict[str, Any]) -> dict[str, Any]:
    """Every measurement in order; returns (and writes to out/bench.json) the document."""
    from wsnas.supernets.registry import SUPERNETS, prepare_data
    from wsnas.supernets.runtime import resolve_runtime

    began = time.perf_counter()
    base = build_config("cpu", overrides={**common, "space": EVAL_SPACE, "data.n_train": size.scale_n_train,
                                          "data.n_valid": size.n_valid})
    rt = plain_runtime(resolve_runtime(base.runtime))
    progress = base.runtime.progress
    doc: dict[str, Any] = {"options": options, "size": dataclasses.asdict(size), "base_config": base.to_dict(),
                           "provenance": provenance(), "machine": machine_facts(rt), "baseline_runtime": rt.describe()}
    say = print if progress else _silent
    say(f"[bench] {options['size']} size, {size.rounds} interleaved rounds; loading the data")
    with timed(rt.device) as first_load:
        prepare_data(base.data, rt.device)  # a first run decodes CIFAR-10 here, outside every measurement
    doc["data_first_load_s"] = first_load["seconds"]
    say("[bench] peak FLOP/s (matmul), then training throughput")
    doc["peak"] = matmul_peak(rt, size.matmul_n, size.matmul_repeats)
    doc["train"] = [train_row(base, shape, rt, workers, progress, size.rounds) for shape in size.shapes]
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
    doc["eval"], scorers, archs = eval_row(eval_cfg, eval_run, rt, size, workers)
    say("[bench] layouts of the batch norms and convolutions at each stage")
    doc["layout"] = layout_ops(base, size.shapes[-1], size.rounds)
    say("[bench] profiling training steps and staged scoring")
    doc["profile"] = {"train": [profile_train(base, shape, size.profile_steps) for shape in size.shapes],
                      "eval": profile_eval(scorers, archs[1:])}
    for part in (*doc["profile"]["train"], doc["profile"]["eval"]):
        peak = doc["peak"].get(f"{part['amp']}_gflops", doc["peak"]["fp32_gflops"])
        part["fraction_of_peak"] = part["achieved_gflops"] / peak
    doc["machine"]["loadavg_end"] = os.getloadavg()
    doc["seconds_total"] = time.perf_counter() - began
    doc["figures"] = figures(doc)
    doc["warnings"] = [w for w in [load_warning(doc["machine"])] if w] + busy_warnings(
        {"train": doc["train"], "eval": doc["eval"], "scaling": doc["scaling"]})
    write_json(out / "bench.json", doc)
    return doc


def plain_runtime(rt):
    """`rt` in fp32 and the contiguous format: how the baselines' users run them, and the reference numerics."""
    return dataclasses.replace(rt, amp_dtype=None, layout="contiguous", source="baseline: fp32, contiguous")


def figures(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The flat table `--compare` reads: medians of every throughput and ratio, fits, profile figures."""
    out: dict[str, dict[str, Any]] = {}
    for row in doc["train"]:
        shape = row["shape"]
        for name in ("wsnas", *TRAIN_BASELINES):
            if "images_per_s" in row[name]:
                out[f"train_{shape}/{name} images/s"] = figure(row[name]["images_per_s"]["median"], "images/s")
        for name, ratio in row["ratios"].items():
            out[f"train_{shape}/wsnas over {name}"] = figure(ratio["median"], "x")
    e = doc["eval"]
    for name in ("wsnas", "wsnas_fp32", "naive"):
        out[f"eval/{name} subnets/min"] = figure(e[name]["subnets_per_min"]["median"], "subnets/min")
    for name, ratio in e["ratios"].items():
        out[f"eval/{name}"] = figure(ratio["median"], "x")
    for space, s in doc["scaling"].items():
        for key, unit in (("epochs_fit", "epoch"), ("subnets_fit", "subnet")):
            if key in s:
                out[f"scaling_{space}/seconds per {unit}"] = figure(s[key]["per_unit_s"], "s", higher_is_better=False)
    for part in doc["profile"]["train"]:
        out[f"profile_train_{part['shape']}/GFLOP/s"] = figure(part["achieved_gflops"], "GFLOP/s")
    out["profile_eval/MFLOP per subnet (staged)"] = figure(doc["profile"]["eval"]["mflop_per_subnet"], "MFLOP",
                                                           higher_is_better=False)
    out["peak/fp32 GFLOP/s"] = figure(doc["peak"]["fp32_gflops"], "GFLOP/s")
    return out


# ----------------------------------------------------------------------------------------------- training


def _shape_config(base: Config, shape: Shape) -> Config:
    return apply_overrides(config_from_dict(base.to_dict()), {"model.C": shape.C, "model.N": shape.N,
                                                               "train.batch_size": shape.batch})


def train_row(base: Config, shape: Shape, plain, workers: int, progress: bool, rounds: int) -> dict[str, Any]:
    """Images/s of wsnas's training loop and of the baselines at one shape, interleaved over `rounds` rounds."""
    import torch
    from torch import nn
    from tqdm.auto import tqdm

    from wsnas.supernets.autotune import autotuned_runtime
    from wsnas.supernets.baselines import XautodlMissing, XautodlNB201, host_images, make_loader, train_steps
    from wsnas.supernets.registry import num_classes, prepare_data
    from wsnas.supernets.samplers import PathSampler
    from wsnas.supernets.train import build_model, epoch_seed, make_optimizer, train_epoch

    cfg = _shape_config(base, shape)
    rt = autotuned_runtime(cfg, "train", None, log=_silent)
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


# ------------------------------------------------------------------------------------------------ scaling


def scaling(size: Size, overrides: dict[str, Any], rt, root: Path,
            epochs_only: bool = False) -> tuple[dict[str, Any], tuple[Config, Any]]:
    """Wall time (setup included) of train_supernet against epochs and of evaluate_run against subnets, each
    in a fresh run, with lines fitted; returns them and (config, run) of the longest-trained run."""
    from wsnas.supernets.autotune import autotuned_runtime
    from wsnas.supernets.evaluate import SHARDS_DIR, evaluate_run
    from wsnas.supernets.train import train_supernet

    cfg = build_config("cpu", overrides={**overrides, "data.n_train": size.scale_n_train,
                                         "data.n_valid": size.n_valid, "eval.calib_batches": size.calib_batches,
                                         "eval.batch_size": size.eval_batch, "eval.epochs": []})
    result: dict[str, Any] = {"config": cfg.to_dict(), "epochs": [], "subnets": []}
    for workload in ("train", "evaluate"):  # a first autotune measurement belongs to no timed run
        autotuned_runtime(cfg, workload, None, log=_silent)
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


def eval_row(cfg: Config, run, plain, size: Size, workers: int) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    """Subnets/min of SubnetScorer (at its autotuned runtime, and in fp32 contiguous) and of the naive evaluator
    on the same checkpoint, archs and images, interleaved; raises BenchMismatch unless the fp32 accuracies are
    identical. Returns the row, the scorers and the archs."""
    from wsnas.analysis.metrics import kendall_tau, stat_or_nan
    from wsnas.supernets.autotune import autotuned_runtime
    from wsnas.supernets.evaluate import SubnetScorer
    from wsnas.supernets.stages import sharing

    space, epoch = get_space(cfg.space), cfg.train.epochs
    archs = space.sample(size.eval_subnets + 1, cfg.eval.seed)  # the first one warms up
    tuned = autotuned_runtime(cfg, "evaluate", None, log=_silent)
    scorers = {"wsnas": SubnetScorer(cfg, tuned), "wsnas_fp32": SubnetScorer(cfg, plain)}
    for scorer in scorers.values():
        scorer.load(run, epoch)
        list(scorer.score_many(archs[:1]))
    naive, naive_workers = _fastest_naive(cfg, run, plain, archs[0], workers)
    results: dict[str, list[tuple[float, float]]] = {}

    def staged(name: str) -> Callable[[int], float]:
        def run_(round_: int) -> float:
            with timed(scorers[name].rt.device) as clock:
                rows = {r["key"]: r for r in scorers[name].score_many(archs[1:])}
            results[name] = [(rows[k]["supernet_acc"], rows[k]["supernet_loss"]) for k in map(space.format, archs[1:])]
            return 60 * len(rows) / clock["seconds"]
        return run_

    def one_by_one(round_: int) -> float:
        with timed(plain.device) as clock:
            results["naive"] = [naive.score(arch) for arch in archs[1:]]
        return 60 * len(archs[1:]) / clock["seconds"]

    values = interleave({"wsnas": staged("wsnas"), "wsnas_fp32": staged("wsnas_fp32"), "naive": one_by_one},
                        size.rounds)
    loss_diff = 0.0
    for arch, (acc, loss), (naive_acc, naive_loss) in zip(archs[1:], results["wsnas_fp32"], results["naive"]):
        if acc != naive_acc:
            raise BenchMismatch(f"arch {space.format(arch)}: wsnas accuracy {acc}% but the naive evaluator's "
                                f"{naive_acc}% on the same weights and images")
        loss_diff = max(loss_diff, abs(loss - naive_loss))
    tuned_acc, naive_acc = [a for a, _ in results["wsnas"]], [a for a, _ in results["naive"]]
    scorer = scorers["wsnas"]
    row = {"space": cfg.space, "C": cfg.model.C, "N": cfg.model.N, "epoch": epoch, "subnets": len(archs) - 1,
           "rounds": size.rounds, "calib_images": sum(len(y) for _, y in scorer.calib), "eval_images": scorer.n_eval,
           "sharing": sharing(scorer.model, archs[1:]),
           **{name: {"subnets_per_min": summary(v), "runtime": (scorers[name].rt if name in scorers else plain)
                     .describe()} for name, v in values.items()},
           "naive_workers": naive_workers, "fp32_identical_accuracy": True, "fp32_max_abs_loss_diff": loss_diff,
           "tuned_vs_fp32": {"max_abs_acc_diff": max(abs(a - b) for a, b in zip(tuned_acc, naive_acc)),
                             "kendall_tau": stat_or_nan(kendall_tau, tuned_acc, naive_acc)},
           "ratios": {"wsnas over naive": paired(values["wsnas"], values["naive"]),
                      "wsnas fp32 over naive (sharing alone)": paired(values["wsnas_fp32"], values["naive"]),
                      "wsnas over wsnas fp32 (runtime alone)": paired(values["wsnas"], values["wsnas_fp32"])},
           "archs": [space.format(a) for a in archs[1:]], "accuracies": tuned_acc}
    return row, scorers, archs


def _fastest_naive(cfg: Config, run, plain, arch: Any, workers: int) -> tuple[Any, int]:
    """The naive evaluator with the faster of 0 or `workers` DataLoader workers (in-process loading may beat
    worker processes on few cores), timed on one warm subnet each."""
    from wsnas.supernets.baselines import NaiveEvaluator, host_images, make_loader
    from wsnas.supernets.checkpoints import checkpoint_path, load_checkpoint
    from wsnas.supernets.registry import prepare_data, supernet_spec
    from wsnas.supernets.train import build_model

    import torch

    e = cfg.eval
    train, valid = prepare_data(cfg.data, plain.device)
    # the calibration images SubnetScorer's materialize draws: the first of a seeded permutation
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(e.seed))
    calib = order[:e.calib_batches * cfg.train.batch_size].tolist()
    supernet = build_model(cfg, plain)
    supernet.load_state_dict(load_checkpoint(checkpoint_path(run.checkpoint_dir, cfg.train.epochs),
                                             plain.device)["model"])
    best: tuple[float, Any, int] | None = None
    for count in sorted({workers, 0}):
        naive = NaiveEvaluator(supernet, supernet_spec(cfg).extract,
                               make_loader(*host_images(train), cfg.train.batch_size, augment=False, workers=count,
                                           rt=plain, order=calib),
                               make_loader(*host_images(valid), e.batch_size, augment=False, workers=count, rt=plain),
                               plain)
        naive.score(arch)
        with timed(plain.device) as clock:
            naive.score(arch)
        if best is None or clock["seconds"] < best[0]:
            best = (clock["seconds"], naive, count)
    return best[1], best[2]


# ------------------------------------------------------------------------------------------------ profile


def profile_train(base: Config, shape: Shape, steps: int) -> dict[str, Any]:
    """Profile `steps` wsnas training steps (on-device batches, labelled phases) at one shape, at its runtime."""
    import torch

    from wsnas.supernets.autotune import autotuned_runtime
    from wsnas.supernets.baselines import train_steps
    from wsnas.supernets.registry import prepare_data
    from wsnas.supernets.samplers import PathSampler
    from wsnas.supernets.train import build_model, make_optimizer

    cfg = _shape_config(base, shape)
    rt = autotuned_runtime(cfg, "train", None, log=_silent)
    data, _ = prepare_data(dataclasses.replace(cfg.data, n_train=steps * shape.batch), rt.device)
    model = build_model(cfg, rt)
    opt, sched = make_optimizer(cfg, model, steps)
    space = get_space(cfg.space)

    def run() -> None:  # the same images, augmentation and paths every time
        gen = torch.Generator().manual_seed(cfg.train.seed)
        batches = data.batches(shape.batch, shuffle=True, augment=True, generator=gen, drop_last=True,
                               channels_last=rt.batches_channels_last)
        train_steps(model, batches, PathSampler(space, "uniform", cfg.train.seed), opt, sched, rt,
                    cfg.train.grad_clip, steps)

    sampler = PathSampler(space, "uniform", cfg.train.seed)
    return {"what": f"{steps} training steps", "shape": shape.name, "C": shape.C, "N": shape.N,
            "batch": shape.batch, "amp": rt.amp, "runtime": rt.describe(),
            "archs": [space.format(sampler()) for _ in range(steps)], **profile(run, rt)}


def layout_ops(base: Config, shape: Shape, rounds: int, repeats: int = 20) -> dict[str, Any]:
    """Forward + backward ms of BatchNorm2d (training mode) and of ReLU-conv3x3 at each stage of `shape` (C, 2C, 4C
    channels at 32, 16, 8 pixels), contiguous against channels_last, at the autotuned training precision (inputs
    and gradients in that precision and layout, as inside the network): the median over interleaved rounds of the
    mean of `repeats` calls."""
    import torch
    from torch import nn

    from wsnas.supernets.autotune import autotuned_runtime

    rt = autotuned_runtime(_shape_config(base, shape), "train", None, log=_silent)
    formats = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}
    stages = []
    for channels, pixels in ((shape.C, 32), (2 * shape.C, 16), (4 * shape.C, 8)):
        ops = {"batch_norm": lambda c=channels: nn.BatchNorm2d(c, affine=False),
               "relu_conv3x3": lambda c=channels: nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, 3, padding=1, bias=False))}
        runs = {}
        for (op, make), (fmt, memory_format) in itertools.product(ops.items(), formats.items()):
            torch.manual_seed(0)
            module = make().to(rt.device, memory_format=memory_format)  # one module per layout
            x = torch.randn(shape.batch, channels, pixels, pixels, device=rt.device,  # as a conv's output gives it
                            dtype=rt.amp_dtype or torch.float32).contiguous(memory_format=memory_format).requires_grad_()
            with rt.autocast():
                grad = torch.randn_like(module(x))  # a gradient in the output's dtype and layout, as in a network

            def run(_round: int, module: nn.Module = module, x: torch.Tensor = x, grad: torch.Tensor = grad) -> float:
                with timed(rt.device) as t:
                    for _ in range(repeats):
                        with rt.autocast():
                            out = module(x)
                        out.backward(grad)
                return 1000 * t["seconds"] / repeats

            run(-1)  # warm-up: oneDNN builds its kernels for the shape
            runs[f"{op}/{fmt}"] = run
        ms = {name: summary(values) for name, values in interleave(runs, rounds).items()}
        stages.append({"channels": channels, "pixels": pixels, "ms": ms})
    return {"shape": shape.name, "batch": shape.batch, "amp": rt.amp, "stages": stages}


def profile_eval(scorers: dict[str, Any], archs: list[Any]) -> dict[str, Any]:
    """Profile staged scoring of `archs` at wsnas's runtime; FLOPs per subnet staged and scored whole (fp32)."""
    from torch.utils.flop_counter import FlopCounterMode

    from wsnas.supernets.evaluate import score_subnet

    scorer, plain = scorers["wsnas"], scorers["wsnas_fp32"]
    result = profile(lambda: list(scorer.score_many(archs)), scorer.rt)
    with FlopCounterMode(display=False) as whole:
        for arch in archs:
            score_subnet(plain.model, arch, plain.calib, plain.evaluation, plain.rt, "recalibrate")
    c = scorer.cfg
    return {"what": f"staged scoring of {len(archs)} subnets", "C": c.model.C, "N": c.model.N,
            "amp": scorer.rt.amp, "runtime": scorer.rt.describe(),
            "calib_images": sum(len(y) for _, y in scorer.calib), "eval_images": scorer.n_eval, **result,
            "mflop_per_subnet": result["flops"] / len(archs) / 1e6,
            "mflop_per_subnet_whole": whole.get_total_flops() / len(archs) / 1e6}


def profile(run: Callable[[], None], rt) -> dict[str, Any]:
    """Warm up, time `run` plain, then once under torch.profiler (where the time goes; its own log lines kept off
    stderr) and once under FlopCounterMode (2 FLOPs per multiply-add of conv and matmul, forward and backward;
    the forward count equals benchmarks/nb201_cost's closed form for a cell without dead edges)."""
    import torch
    from torch.profiler import ProfilerActivity
    from torch.utils.flop_counter import FlopCounterMode

    run()
    with timed(rt.device) as plain:
        run()
    on_gpu = rt.device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if on_gpu else [])
    with quiet_stderr(), torch.profiler.profile(activities=activities) as prof, timed(rt.device) as profiled:
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
    """Best-of-`repeats` FLOP/s of an n x n matmul on the run's device and threads (2 n^3 FLOPs each), in fp32,
    and in bf16 where the device computes it natively (a GPU, or a CPU with avx512_bf16/AMX); n >= 8192 on a
    GPU. A profiled run is set against the peak of the precision it computes in."""
    import torch

    from wsnas.supernets.autotune import native_bf16

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

    out: dict[str, Any] = {"how": f"best of {repeats} torch.mm of two {n}x{n} matrices on {rt.device}, "
                                  f"{torch.get_num_threads()} threads", "n": n, "fp32_gflops": best(torch.float32)}
    if rt.device.type == "cuda" or native_bf16():
        out["bf16_gflops"] = best(torch.bfloat16)
    return out


# ------------------------------------------------------------------------------------------------- report


def format_report(doc: dict[str, Any]) -> str:
    """The side-by-side figures with their ratios, the scaling lines, the profile shares and the warnings."""
    def rng(s: dict[str, Any], fmt: str = ".0f") -> str:
        return f"{s['median']:{fmt}} [{s['min']:{fmt}}-{s['max']:{fmt}}]"

    peak = doc["peak"]
    lines = [f"wsnas bench ({doc['options']['size']} size, medians [range] of {doc['options']['rounds']} interleaved "
             f"rounds) on {doc['machine']['cpu']}, {doc['machine']['torch_threads']} threads",
             f"{'measurement':46} {'wsnas':>16} {'baseline':>16} {'ratio':>16}"]
    for row in doc["train"]:
        shape, w = f"C={row['C']} N={row['N']} batch {row['batch']}", row["wsnas"]
        lines.append(f"train {shape}: wsnas at {w['runtime']['amp']}, "
                     f"{w['runtime']['layout']}")
        for name, label in TRAIN_BASELINES.items():
            other = row[name]
            if "images_per_s" not in other:
                lines.append(f"  vs {label:40} {'skipped':>16}")
                continue
            lines.append(f"  vs {label:40} {rng(w['images_per_s']):>16} {rng(other['images_per_s']):>16} "
                         f"{rng(row['ratios'][name], '.2f'):>16}")
    e = doc["eval"]
    lines.append(f"eval C={e['C']} N={e['N']}, {e['subnets']} subnets, {e['calib_images']}+{e['eval_images']} images "
                 f"(subnets/min; wsnas at {e['wsnas']['runtime']['amp']}, "
                 f"{e['wsnas']['runtime']['layout']})")
    for name, ratio in e["ratios"].items():
        a, b = name.split(" over ")
        key = {"wsnas": "wsnas", "wsnas fp32": "wsnas_fp32", "naive": "naive"}
        lines.append(f"  {name:44} {rng(e[key[a]]['subnets_per_min'], '.1f'):>16} "
                     f"{rng(e[key[b.split(' (')[0]]]['subnets_per_min'], '.1f'):>16} {rng(ratio, '.2f'):>16}")
    sh, t = e["sharing"], e["tuned_vs_fp32"]
    lines.append(f"  naive: {e['naive_workers']} DataLoader workers (the faster); fp32 accuracies identical on all "
                 f"{e['subnets']} subnets (max |loss diff| {e['fp32_max_abs_loss_diff']:.2g}); staged ran "
                 f"{sh['distinct_steps']} of {sh['steps']} steps ({sh['distinct_functions']} distinct functions)")
    if t["max_abs_acc_diff"] or e["wsnas"]["runtime"]["amp"] != "off":
        lines.append(f"  wsnas's runtime against fp32: max |accuracy diff| {t['max_abs_acc_diff']:.2f} points, "
                     f"Kendall tau {t['kendall_tau']:.3f} "
                     f"(the fidelity check is `wsnas compare`)")
    for space, s in doc["scaling"].items():
        for unit, key in (("epoch", "epochs_fit"), ("subnet", "subnets_fit")):
            if key in s:
                fit = s[key]
                peak_mb = max(p["peak_rss_mb"] for p in s[key.split("_")[0]])
                lines.append(f"scaling {space}: {fit['overhead_s']:.1f} s + {fit['per_unit_s']:.2f} s/{unit} "
                             f"(R^2 {fit['r2']:.3f}), peak RSS {peak_mb:.0f} MB")
    for part in (*doc["profile"]["train"], doc["profile"]["eval"]):
        sh = part["shares"]
        lines.append(f"profile {part['what']} C={part['C']} N={part['N']} ({part['amp']}): conv/BN/matmul "
                     f"{sh['conv_bn_matmul']:.0%}, other ops {sh['other_ops']:.0%}, data {sh['data']:.0%}, overhead "
                     f"{sh['overhead']:.0%}; {part['achieved_gflops']:.1f} GFLOP/s = {part['fraction_of_peak']:.0%} of "
                     f"peak")
    lay = doc["layout"]
    lines.append(f"layout, {lay['amp']}, batch {lay['batch']}: forward + backward ms, contiguous / channels_last")
    for stage in lay["stages"]:
        ms = {name: s["median"] for name, s in stage["ms"].items()}
        lines.append(f"  {stage['channels']:3d} channels at {stage['pixels']:2d}x{stage['pixels']:<2d}: batch norm "
                     f"{ms['batch_norm/contiguous']:.2f} / {ms['batch_norm/channels_last']:.2f}, ReLU-conv3x3 "
                     f"{ms['relu_conv3x3/contiguous']:.2f} / {ms['relu_conv3x3/channels_last']:.2f}")
    p = doc["profile"]["eval"]
    lines.append(f"profile eval: {p['mflop_per_subnet']:.0f} MFLOP per subnet staged, {p['mflop_per_subnet_whole']:.0f} "
                 f"scored whole")
    lines.append(f"peak: {peak['fp32_gflops']:.1f} GFLOP/s fp32" + (f", {peak['bf16_gflops']:.1f} bf16"
                                                                    if "bf16_gflops" in peak else "")
                 + f" ({peak['how']})")
    lines.append(f"total {doc['seconds_total']:.0f} s; load average {doc['machine']['loadavg_start'][0]:.1f} at the "
                 f"start, {doc['machine']['loadavg_end'][0]:.1f} at the end")
    lines += [f"warning: {w}" for w in doc["warnings"]]
    return "\n".join(lines)
