"""`wsnas bench`'s profile: torch.profiler of training steps and of staged scoring (shares of the conv/BN/matmul
ops, of the data pipeline and of the rest), FLOPs per subnet scored whole and staged, and the FLOP/s achieved
against a measured matmul peak in the precision the run computes in."""
from __future__ import annotations

import dataclasses
import re
from typing import Any, Callable

from wsnas.benchmarks.registry import get_space
from wsnas.core.config import Config
from wsnas.supernets.bench.measure import quiet_stderr, timed
from wsnas.supernets.bench.sizes import Shape, shape_config, silent

COMPUTE_OP = re.compile(r"conv|batch_norm|addmm|::mm$|bmm|matmul|linear")  # aten ops counted as compute
PHASES = ("data", "forward", "backward", "optimizer")


def profile_train(base: Config, shape: Shape, steps: int) -> dict[str, Any]:
    """Profile `steps` wsnas training steps (on-device batches, labelled phases) at one shape, at its runtime."""
    import torch

    from wsnas.supernets.autotune import autotuned_runtime
    from wsnas.supernets.bench.dataloader_baselines import train_steps
    from wsnas.supernets.registry import build_model, prepare_data
    from wsnas.supernets.samplers import PathSampler
    from wsnas.supernets.train import make_optimizer

    cfg = shape_config(base, shape)
    rt = autotuned_runtime(cfg, "train", None, log=silent)
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
