"""`wsnas bench --gpu`: the GPU check at the paper shape, in at most 8 minutes on one GPU.

What it measures (NAS-Bench-201, C=16, N=5, batch 256, on CIFAR-10-shaped synthetic images: speed does not
depend on pixel values, and the check needs no dataset on the GPU machine):
  train    images/s of uniform single-path training steps (forward, backward, SGD; data on the device) under
           each variant: fp32 or bf16 autocast, contiguous or channels_last, eager or torch.compile of every op
           module, with or without CUDA graphs (per op module: torch.cuda.make_graphed_callables, or
           torch.compile's reduce-overhead mode). The variants run interleaved, median and range of ROUNDS rounds;
           a variant that fails records its error and the others go on;
  study    one paper-preset epoch (`wsnas train`, 40,000 images) and 200 paper-preset subnet scores (`wsnas
           evaluate`: 20x256 calibration and 10,000 held-out images each), both timed end to end, and the paper
           study (250 epochs, 1,000 subnets) extrapolated from them (each linear: staged scoring shares more with
           more subnets, so the subnet part is an upper bound).
Variants that need CUDA (CUDA graphs) or that take minutes to compile on a CPU (torch.compile) are skipped with
the reason when the device is a CPU; `--quick` shrinks every size, for a smoke run on any device. The budget
(BUDGET_S) is checked before each part: what would not fit is skipped and says so. Everything goes to
OUT/gpu_check.json with a `figures` table that `wsnas bench --compare` reads.
"""
from __future__ import annotations

import dataclasses
import pickle
import shutil
import time
import traceback
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from wsnas.core.atomic import write_json
from wsnas.core.config import Config, build_config
from wsnas.core.run_files import RUNTIME
from wsnas.core.runs import RunDir, provenance
from wsnas.supernets.bench.measure import (busy_warnings, figure, interleave, machine_facts, peak_memory, summary,
                                           timed)

BUDGET_S = 7 * 60          # the whole check stays under 8 minutes
ROUNDS = 3
PAPER_STUDY = {"epochs": 250, "subnets": 1000}


@dataclass(frozen=True)
class Variant:
    """One way to run the training step."""

    amp: bool
    channels_last: bool
    compile: bool = False
    cuda_graphs: bool = False

    @property
    def name(self) -> str:
        return (f"{'bf16' if self.amp else 'fp32'}, {'channels_last' if self.channels_last else 'contiguous'}, "
                f"{'compiled' if self.compile else 'eager'}{', CUDA graphs' if self.cuda_graphs else ''}")


VARIANTS = (Variant(False, False), Variant(True, False), Variant(False, True), Variant(True, True),
            Variant(True, True, compile=True), Variant(True, True, cuda_graphs=True),
            Variant(True, True, compile=True, cuda_graphs=True))


@dataclass(frozen=True)
class CheckSize:
    C: int
    N: int
    batch: int
    n_train: int               # images of the study epoch (the paper preset: 40,000)
    n_valid: int               # held-out images per subnet (paper: 10,000)
    calib_batches: int         # paper: 20
    eval_batch: int            # paper: 1,000
    subnets: int               # subnets scored in the study part (extrapolated to 1,000)
    warmup: int                # untimed steps per variant (compiled variants: COMPILE_WARMUP more)
    steps: int                 # timed steps per variant and round


SIZES = {"gpu": CheckSize(16, 5, 256, 40_000, 10_000, 20, 1000, 200, warmup=5, steps=30),
         "quick": CheckSize(4, 1, 32, 256, 64, 1, 32, 4, warmup=1, steps=2)}
COMPILE_WARMUP = 10        # more warm-up steps for compiled variants: each op kind compiles on its first step


def run_gpu_check(out: Path, common: dict[str, Any], quick: bool = False) -> dict[str, Any]:
    """Every part of the check within BUDGET_S; writes and returns the document."""
    import torch

    from wsnas.supernets.runtime import resolve_runtime

    began = time.perf_counter()
    size = SIZES["quick" if quick else "gpu"]
    out.mkdir(parents=True, exist_ok=True)
    data_root = synthetic_cifar10(out / "synthetic-cifar10", size.n_train + size.n_valid, size.n_valid)
    cfg = build_config("paper", overrides={**common, "data.root": str(data_root), "data.mirror": None,
                                           "model.C": size.C, "model.N": size.N, "train.batch_size": size.batch,
                                           "data.n_train": size.n_train, "data.n_valid": size.n_valid,
                                           "eval.calib_batches": size.calib_batches, "eval.batch_size": size.eval_batch,
                                           "eval.n_archs": size.subnets, "train.epochs": 1,
                                           "train.checkpoint_every": 1})
    rt = resolve_runtime(cfg.runtime)
    doc: dict[str, Any] = {"kind": "gpu_check", "size": dataclasses.asdict(size), "config": cfg.to_dict(),
                           "provenance": provenance(), "machine": machine_facts(rt), "device": str(rt.device),
                           "data": "synthetic CIFAR-10-shaped uint8 images (speed does not depend on pixel values)",
                           "budget_s": BUDGET_S, "torch_cuda": torch.version.cuda}

    def left() -> float:
        return BUDGET_S - (time.perf_counter() - began)

    doc["study"] = study_part(cfg, out / "runs", left)
    doc["train"] = train_variants(cfg, size, rt, left)
    doc["seconds_total"] = time.perf_counter() - began
    doc["figures"] = gpu_figures(doc)
    doc["warnings"] = busy_warnings(doc["train"])
    write_json(out / "gpu_check.json", doc)
    return doc


def synthetic_cifar10(root: Path, n_train: int, n_test: int) -> Path:
    """A cifar-10-batches-py folder of seeded random images: n_train in 5 training batches, n_test in the test
    batch (n_train a multiple of 5)."""
    if (root / "test_batch").is_file():
        return root
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    for name, n in [(f"data_batch_{i}", n_train // 5) for i in range(1, 6)] + [("test_batch", n_test)]:
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        (root / name).write_bytes(pickle.dumps({b"labels": (np.arange(n) % 10).tolist(), b"data": data}))
    return root


# ------------------------------------------------------------------------------------------- the study


def study_part(cfg: Config, root: Path, left: Callable[[], float]) -> dict[str, Any]:
    """One paper-preset epoch and the paper-preset scores of cfg.eval.n_archs subnets, each timed end to end
    (setup included), and the paper study extrapolated from them."""
    from wsnas.supernets.autotune import autotuned_runtime
    from wsnas.supernets.evaluate import evaluate_run
    from wsnas.supernets.train import train_supernet

    for workload in ("train", "evaluate"):  # on a CPU, a first autotune measurement belongs to no timed part
        autotuned_runtime(cfg, workload, None, log=lambda _: None)
    run = RunDir(root / "paper-1epoch")
    shutil.rmtree(run.path, ignore_errors=True)
    run.init(cfg)
    result: dict[str, Any] = {"run": str(run.path)}
    try:
        with peak_memory(_device(cfg)) as memory, timed(_device(cfg)) as clock:
            trained = train_supernet(cfg, run, log=print)
        result["epoch"] = {"seconds": clock["seconds"], "images_per_s": trained.images_per_second, **memory}
        if left() < 60:
            result["subnets"] = {"skipped": f"{left():.0f} s of the budget left"}
            return result
        with peak_memory(_device(cfg)) as memory, timed(_device(cfg)) as clock:
            evaluate_run(cfg, run, log=print)
        n = cfg.eval.n_archs
        result["subnets"] = {"count": n, "seconds": clock["seconds"], "subnets_per_s": n / clock["seconds"], **memory}
        result["paper_study_minutes"] = (PAPER_STUDY["epochs"] * result["epoch"]["seconds"]
                                         + PAPER_STUDY["subnets"] / n * clock["seconds"]) / 60
        result["extrapolation"] = (f"{PAPER_STUDY['epochs']} x the epoch's seconds + {PAPER_STUDY['subnets']}/{n} x "
                                   f"the {n} subnets' seconds")
        result["runtime"] = json_record(run)
    except Exception as exc:  # noqa: BLE001  the check must finish and report what it could measure
        result["error"] = _error(exc)
    return result


def json_record(run: RunDir) -> Any:
    import json

    path = run.path / RUNTIME
    return json.loads(path.read_text()) if path.is_file() else "config (no autotune on this device)"


# ------------------------------------------------------------------------------------- training variants


def train_variants(cfg: Config, size: CheckSize, rt, left: Callable[[], float]) -> dict[str, Any]:
    """Images/s of training steps under every variant that applies and fits in the budget, interleaved."""
    import torch

    from wsnas.benchmarks.registry import get_space
    from wsnas.supernets.samplers import PathSampler

    x = torch.randn(size.batch, 3, 32, 32, device=rt.device)
    y = torch.randint(0, 10, (size.batch,), device=rt.device)
    space = get_space(cfg.space)
    steppers: dict[str, Callable[[int], float]] = {}
    result: dict[str, Any] = {"variants": {}}
    for variant in VARIANTS:
        entry = result["variants"].setdefault(variant.name, dataclasses.asdict(variant))
        reason = _not_here(variant, rt)
        if reason is None and left() < 90:
            reason = f"{left():.0f} s of the budget left"
        if reason:
            entry["skipped"] = reason
            continue
        try:
            with timed(rt.device) as clock:
                step = _stepper(cfg, variant, rt, x, y)
                warm = size.warmup + (COMPILE_WARMUP if variant.compile else 0)
                for arch in (_covering_archs() + space.sample(warm, seed=1))[:max(warm, 3 if variant.compile else 0)]:
                    if left() < 60:  # a compile that takes longer than the budget allows: time what there is
                        entry["warmup_cut"] = f"warm-up stopped with {left():.0f} s of the budget left"
                        break
                    step([arch])
            entry["warmup_s"] = clock["seconds"]
        except Exception as exc:  # noqa: BLE001  one variant's failure must not cost the others
            entry["error"] = _error(exc)
            continue

        def clocked(round_: int, step=step) -> float:
            sampler = PathSampler(space, "uniform", round_)
            archs = [sampler() for _ in range(size.steps)]
            with timed(rt.device) as clock:
                step(archs)
            return size.steps * size.batch / clock["seconds"]

        steppers[variant.name] = clocked
    for name, values in interleave(steppers, ROUNDS).items():
        result["variants"][name]["images_per_s"] = summary(values)
    return result


def _not_here(variant: Variant, rt) -> str | None:
    if variant.cuda_graphs and rt.device.type != "cuda":
        return "CUDA graphs need a CUDA device"
    if variant.compile and rt.device.type != "cuda":
        return "torch.compile is timed on the GPU only (on a CPU its compile alone takes minutes)"
    return None


def _stepper(cfg: Config, variant: Variant, rt, x, y) -> Callable[[list[Any]], None]:
    """A function running one training step per given arch on a fresh supernet under `variant`."""
    import torch
    from torch import nn

    from wsnas.supernets.registry import build_model
    from wsnas.supernets.train import make_optimizer

    fmt = torch.channels_last if variant.channels_last else torch.contiguous_format
    model = build_model(cfg, rt).to(memory_format=fmt)
    inputs = x.contiguous(memory_format=fmt)
    opt, _ = make_optimizer(cfg, model, 1)

    def cast():  # CUDA graphs replay captured kernels: autocast must not cache casts across them
        if not variant.amp:
            return nullcontext()
        return torch.autocast(rt.device.type, dtype=torch.bfloat16, cache_enabled=not variant.cuda_graphs)

    ops = list(_op_modules(model))
    if variant.compile:
        for module in ops:
            module.compile(mode="reduce-overhead" if variant.cuda_graphs else None)
    elif variant.cuda_graphs:
        _graph_ops(model, ops, inputs, cast, fmt)
    model.train()

    def step(archs: list[Any]) -> None:
        for arch in archs:
            opt.zero_grad(set_to_none=True)
            with cast():
                loss = nn.functional.cross_entropy(model(inputs, arch), y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), cfg.train.grad_clip)
            opt.step()

    return step


def _op_modules(model) -> list:
    """The modules a path runs as units: the stem, every cell op with weights or pooling, the reductions, head."""
    from wsnas.supernets.models.nb201 import ResidualReduction, SearchCell

    ops = [model.stem]
    for layer in model.layers:
        if isinstance(layer, ResidualReduction):
            ops.append(layer)
        elif isinstance(layer, SearchCell):
            ops += [op for edge in layer.edges for name, op in edge.items() if name != "skip_connect"]
    return ops + [model.head]


def _graph_ops(model, ops: list, x, cast, fmt) -> None:
    """Replace every op module's forward by a CUDA graph of it (forward and backward; one private memory pool
    each, since a path runs a different subset of ops, in its own order, at every step)."""
    import torch

    shapes: dict[int, torch.Size] = {}
    hooks = [op.register_forward_hook(lambda m, args, out: shapes.setdefault(id(m), args[0].shape)) for op in ops]
    with torch.no_grad(), cast():
        for arch in _covering_archs():
            model(x, arch)  # records each op's input shape
    for hook in hooks:
        hook.remove()
    for op in ops:  # the images need no gradient; every other op's input does
        sample = torch.randn(shapes[id(op)], device=x.device).contiguous(memory_format=fmt)
        sample.requires_grad_(op is not model.stem)
        with cast():
            torch.cuda.make_graphed_callables(op, (sample,))


def _covering_archs() -> list[tuple[str, ...]]:
    """Archs that together run every op of every edge."""
    return [(op,) * 6 for op in ("nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")]


# ------------------------------------------------------------------------------------------- document


def gpu_figures(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, entry in doc["train"]["variants"].items():
        if "images_per_s" in entry:
            out[f"gpu_train/{name} images/s"] = figure(entry["images_per_s"]["median"], "images/s")
    study = doc["study"]
    if "epoch" in study:
        out["gpu_study/paper epoch seconds"] = figure(study["epoch"]["seconds"], "s", higher_is_better=False)
    if "subnets_per_s" in study.get("subnets", {}):
        out["gpu_study/subnets per second"] = figure(study["subnets"]["subnets_per_s"], "subnets/s")
    if "paper_study_minutes" in study:
        out["gpu_study/paper study minutes (extrapolated)"] = figure(study["paper_study_minutes"], "min",
                                                                     higher_is_better=False)
    return out


def format_gpu_report(doc: dict[str, Any]) -> str:
    size = doc["size"]
    lines = [f"wsnas GPU check on {doc['machine'].get('gpu', {}).get('name', doc['device'])}: NB201 C={size['C']} "
             f"N={size['N']} batch {size['batch']}, {doc['data']}"]
    for name, entry in doc["train"]["variants"].items():
        if "images_per_s" in entry:
            s = entry["images_per_s"]
            lines.append(f"  train {name:42} {s['median']:9.0f} images/s [{s['min']:.0f}-{s['max']:.0f}]"
                         f" (warm-up {entry['warmup_s']:.1f} s)")
        else:
            lines.append(f"  train {name:42} {entry.get('skipped') or entry.get('error', {}).get('message')}")
    study = doc["study"]
    if "epoch" in study:
        lines.append(f"  one paper epoch ({doc['config']['data']['n_train']} images): {study['epoch']['seconds']:.1f} s")
    if "subnets_per_s" in study.get("subnets", {}):
        sub = study["subnets"]
        lines.append(f"  {sub['count']} paper subnet scores: {sub['seconds']:.1f} s ({sub['subnets_per_s']:.2f}/s)")
    if "paper_study_minutes" in study:
        lines.append(f"  the paper study extrapolated: {study['paper_study_minutes']:.1f} minutes "
                     f"({study['extrapolation']}; target: 30 minutes)")
    if "error" in study:
        lines.append(f"  study part failed: {study['error']['message']}")
    lines.append(f"  total {doc['seconds_total']:.0f} s (budget {doc['budget_s']} s)")
    lines += [f"warning: {w}" for w in doc["warnings"]]
    return "\n".join(lines)


def _device(cfg: Config):
    from wsnas.supernets.runtime import resolve_runtime

    return resolve_runtime(cfg.runtime).device


def _error(exc: BaseException) -> dict[str, str]:
    return {"message": f"{type(exc).__name__}: {exc}"[:500], "traceback": traceback.format_exc()[-4000:]}

