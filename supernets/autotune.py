"""Choosing the CPU's precision and memory format by measuring them, reproducibly.

On a CPU, bf16 autocast and channels_last can double a wide model's speed and slow a narrow one, so `auto`
(runtime.amp; runtime.channels_last, the layout of runtime.py) is decided by timing: for each workload (`train`:
forward, backward and an SGD step at train.batch_size; `evaluate`: the held-out forward at eval.batch_size) and
model shape, a few steps run under every candidate (precision x layout: contiguous, channels_last, wide),
interleaved over rounds, and the fastest median wins; full precision in the contiguous format is kept unless
another candidate is more than MARGIN faster. bf16 is a candidate only where the CPU computes it natively
(avx512_bf16 or AMX on x86, the bf16 extension on ARM); a setting given explicitly (`off`, `on`, `wide`, `bf16`)
is never measured, and runtime.autotune=false (the smoke preset) keeps fp32 and the contiguous format. On a GPU
`auto` stays bf16 and channels_last (runtime.py).

A busy machine cannot decide: each round times one arch twice, in two passes over the candidates (the second
in reverse order), and before a measured choice is kept the passes must agree (`_agreement`): on every round, a
candidate's speed relative to its pass (the pass's geometric mean over the candidates) may differ between the two
passes by at most SPREAD, and the choice must be within MARGIN of the fastest median in each pass on its own.
Archs differ in cost, and a layout's gain differs by arch, so only two timings of the same arch tell noise from
the arch. Rounds that disagree are measured once more; if they disagree again, the rule `fallback_choice`
decides (fp32 contiguous, unless bf16 is native and the model is wide: bf16 `wide`), is recorded in the run (a
resume computes the same numbers) but not cached, so the next run on the machine measures again.

Timing can flip between two measurements, and the choice changes the numbers a run computes, so a choice is
made once and then reused:
  * per machine, shape, torch version and thread count, in cache_dir()/autotune.json; a cache from another
    machine, or one that does not parse, is measured again (with a log line);
  * per run, in RUN/runtime.json: a resumed `wsnas train` and every later `wsnas evaluate` of the run use the
    choice recorded there (on the same device type), whatever the cache says since.
The chosen runtime is logged with where it came from (Runtime.describe()).
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import json
import math
import platform
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterator

import torch
from torch import nn

from wsnas.core.atomic import write_json
from wsnas.core.autotune_cache import CACHE_VERSION, cache_path, read_cache
from wsnas.core.config import Config
from wsnas.core.machine import usable_cpus
from wsnas.core.paths import cache_dir
from wsnas.core.run_files import RUNTIME, RUNTIME_LOCK
from wsnas.core.runs import RunDir
from wsnas.supernets.runtime import LAYOUTS, WIDE_CHANNELS, Runtime, apply_layout, batch_format, resolve_runtime

WORKLOADS = ("train", "evaluate")
MARGIN = 0.05      # another candidate must beat full precision, contiguous, by more than this to be chosen
ROUNDS = 3         # timed rounds at least; every candidate runs twice per round (two passes), interleaved
MAX_ROUNDS = 15    # more rounds while a candidate has been timed for less than MIN_SECONDS (fast steps)
MIN_SECONDS = 0.5
WARMUP = 1         # untimed steps per candidate before the first round
SPREAD = 1.3       # the passes disagree when a candidate's speed relative to its pass (the pass's geometric mean)
                   # differs between the two passes over the same arch by more than this factor

Candidate = tuple[str, str]  # (amp: off | bf16, layout: one of LAYOUTS)
Rounds = dict[Candidate, list[tuple[float, float]]]  # images/s of each candidate in each round's two passes
Measure = Callable[[Config, str, list[Candidate]], Rounds]


def autotuned_runtime(cfg: Config, workload: str, run: RunDir | None = None, log: Callable[[str], None] = print,
                      measure: Measure | None = None) -> Runtime:
    """The runtime of `workload` for cfg: resolve_runtime's, with `auto` amp and channels_last on a CPU taken
    from the run's record, else the machine's cache, else measured (by `measure`, default `measure_candidates`)
    and then written to both (a fallback, when the rounds disagree twice, to the run's record only)."""
    if workload not in WORKLOADS:
        raise ValueError(f"workload {workload!r}; one of {WORKLOADS}")
    rt = resolve_runtime(cfg.runtime)
    candidates = _candidates(cfg, rt)
    if len(candidates) < 2:
        return rt
    with _locked(run.path / RUNTIME_LOCK) if run else contextlib.nullcontext():
        entry = _recorded(run, workload, rt, candidates, log) if run else None
        source = f"recorded in {run.path / RUNTIME}" if entry else ""
        if entry is None:
            with _locked(cache_dir() / "autotune.lock"):
                entry, source = _cached(cfg, workload, candidates, log), f"cached in {cache_path()}"
                if entry is None:
                    entry, source = _measured(cfg, workload, candidates, measure or measure_candidates, log)
                    if "fallback" not in entry:
                        _store(cfg, workload, candidates, entry)
            if run:
                _record(run, workload, rt, entry)
    speeds = ", ".join(f"{_label(_parse(k))} {v:.0f}" for k, v in entry["images_per_s"].items())
    log(f"[runtime] {workload}: {_label(_choice(entry))} (images/s: {speeds}; {source})")
    return _runtime(rt, entry, f"autotune, {source.split(' in ')[0]}")


def _measured(cfg: Config, workload: str, candidates: list[Candidate], measure: Measure,
              log: Callable[[str], None]) -> tuple[dict[str, Any], str]:
    """The measured choice, measured twice at most; the rule's choice (marked `fallback`) if the rounds disagree
    both times."""
    log(f"[runtime] timing {workload} steps under {', '.join(map(_label, candidates))} (once per machine and shape)")
    for attempt in range(2):
        rounds = measure(cfg, workload, candidates)
        entry = _decide(rounds)
        problem = _agreement(rounds, _choice(entry))
        if problem is None:
            return entry, "measured"
        log(f"[runtime] {workload}: timing rounds disagree ({problem}); "
            f"{'measuring again' if attempt == 0 else 'falling back to the rule, not cached'}")
    amp, layout = fallback_choice(cfg, candidates)
    return {**entry, "amp": amp, "layout": layout, "fallback": problem}, "fallback (timing rounds disagreed)"


def fallback_choice(cfg: Config, candidates: list[Candidate]) -> Candidate:
    """The choice without timing: bf16 `wide` where bf16 is a candidate (native) and the model is wide (at least
    half its convolutions have WIDE_CHANNELS or more outputs), else the first candidate (fp32 contiguous when
    both settings are `auto`)."""
    if ("bf16", "wide") in candidates and _wide_model(cfg):
        return "bf16", "wide"
    return candidates[0]


def _wide_model(cfg: Config) -> bool:
    from wsnas.supernets.registry import build_model

    with torch.random.fork_rng(devices=[]):
        model = build_model(cfg, Runtime(torch.device("cpu"), None))
    convs = [m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)]
    return bool(convs) and 2 * sum(c >= WIDE_CHANNELS for c in convs) >= len(convs)


def _agreement(rounds: Rounds, choice: Candidate) -> str | None:
    """Why the two passes over each round's arch disagree about `choice`, or None: a candidate's speed relative
    to its pass changes between the passes by more than SPREAD in some round, or `choice` is not within MARGIN
    of the fastest median in one of the passes."""
    for candidate, (changes, round_) in _pass_changes(rounds).items():
        if changes > SPREAD:
            return (f"{_label(candidate)}'s speed relative to the other candidates changes {changes:.2f}x between "
                    f"two timings of round {round_ + 1}'s arch")
    for pass_ in range(2):
        medians = {c: statistics.median(r[pass_] for r in v) for c, v in rounds.items()}
        if medians[choice] * (1 + MARGIN) < max(medians.values()):
            return f"pass {pass_ + 1} alone prefers {_label(max(medians, key=medians.get))} to {_label(choice)}"
    return None


def _pass_changes(rounds: Rounds) -> dict[Candidate, tuple[float, int]]:
    """Per candidate, the largest factor by which its speed relative to its pass (the pass's geometric mean over
    the candidates) changes between a round's two passes, and that round."""
    n = min(map(len, rounds.values()))
    means = [[math.exp(sum(math.log(v[r][p]) for v in rounds.values()) / len(rounds)) for p in range(2)]
             for r in range(n)]
    worst: dict[Candidate, tuple[float, int]] = {}
    for candidate, speeds in rounds.items():
        factors = [max(ratio, 1 / ratio) for ratio in
                   ((speeds[r][0] / means[r][0]) / (speeds[r][1] / means[r][1]) for r in range(n))]
        worst[candidate] = max((f, r) for r, f in enumerate(factors))
    return worst


def native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (x86: avx512_bf16 or AMX-BF16; ARM: the bf16 extension)."""
    flags = set(_cpu_flags())
    return bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})


def machine_fingerprint() -> dict[str, Any]:
    """What makes timings of one machine differ from another's: processor, its flags, cores, torch build."""
    flags = sorted(_cpu_flags())
    return {"cpu": _cpu_name(), "flags_sha": hashlib.sha256(" ".join(flags).encode()).hexdigest()[:16],
            "logical_cpus": usable_cpus(), "machine": platform.machine(), "torch": torch.__version__,
            "capability": torch.backends.cpu.get_cpu_capability()}


# ------------------------------------------------------------------------------------------ measurement


def measure_candidates(cfg: Config, workload: str, candidates: list[Candidate]) -> Rounds:
    """Images/s of each candidate in each round's two passes of one `workload` step (ROUNDS, or up to MAX_ROUNDS
    until each candidate was timed for MIN_SECONDS) on a throwaway copy of the run's model, with the run's first
    batch and a fixed set of archs (one arch per round, timed twice per candidate: once in a pass over the
    candidates in order, once in a pass in reverse order); the global RNG is left as it was."""
    from wsnas.benchmarks.registry import get_space
    from wsnas.supernets.registry import build_model, prepare_data

    rt = resolve_runtime(cfg.runtime)
    train = workload == "train"
    batch = cfg.train.batch_size if train else cfg.eval.batch_size
    with torch.random.fork_rng(devices=[]):
        train_set, valid_set = prepare_data(cfg.data, rt.device)
        data = train_set if train else valid_set
        x, y = next(iter(data.batches(min(batch, len(data)), shuffle=False, augment=False)))
        archs = get_space(cfg.space).sample(MAX_ROUNDS + WARMUP, seed=cfg.train.seed)
        model = build_model(cfg, rt)
        opt = torch.optim.SGD(model.parameters(), lr=1e-4)  # no momentum: no state kept between candidates
        seconds: dict[Candidate, list[list[float]]] = {c: [] for c in candidates}
        for round_, arch in enumerate(archs):
            if round_ >= WARMUP + ROUNDS and min(sum(map(sum, v)) for v in seconds.values()) >= MIN_SECONDS:
                break
            timed = {c: [0.0, 0.0] for c in candidates}
            for pass_, order in enumerate((candidates, candidates[::-1])):
                for amp, layout in order:
                    apply_layout(model, layout)
                    inputs = x.contiguous(memory_format=batch_format(layout))
                    cast = torch.autocast(rt.device.type, dtype=torch.bfloat16, enabled=amp == "bf16")
                    began = time.perf_counter()
                    _step(model, opt, inputs, y, arch, cast, train)
                    timed[(amp, layout)][pass_] = time.perf_counter() - began
            if round_ >= WARMUP:
                for c in candidates:
                    seconds[c].append(timed[c])
    return {c: [(len(y) / a, len(y) / b) for a, b in times] for c, times in seconds.items()}


def _step(model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, arch: Any,
          cast: ContextManager, train: bool) -> None:
    """One step of the workload: forward, backward and SGD step (train), or an inference forward (evaluate)."""
    if train:
        model.train()
        opt.zero_grad(set_to_none=True)
        with cast:
            loss = nn.functional.cross_entropy(model(x, arch), y)
        loss.backward()
        opt.step()
    else:
        model.eval()
        with torch.no_grad(), cast:
            model(x, arch)


def _decide(rounds: Rounds) -> dict[str, Any]:
    """The fastest candidate by median over both passes, unless full precision in the contiguous format (when
    measured) is within MARGIN; with each candidate's median images/s, the spread (slowest / fastest timing) of
    its rounds, and the largest change of its relative speed between a round's two passes."""
    timings = {c: [s for pair in v for s in pair] for c, v in rounds.items()}
    speeds = {c: statistics.median(v) for c, v in timings.items()}
    best = max(speeds, key=speeds.get)
    plain = ("off", "contiguous")
    if plain in speeds and speeds[plain] * (1 + MARGIN) >= speeds[best]:
        best = plain
    return {"amp": best[0], "layout": best[1], "images_per_s": {_key(c): v for c, v in speeds.items()},
            "spread": {_key(c): max(v) / min(v) for c, v in timings.items()},
            "pass_change": {_key(c): round(f, 4) for c, (f, _) in _pass_changes(rounds).items()},
            "rounds": min(map(len, rounds.values())),
            "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


# ------------------------------------------------------------------------------------- cache and record


def _candidates(cfg: Config, rt: Runtime) -> list[Candidate]:
    """The (amp, layout) pairs to measure: only on a CPU with runtime.autotune, only for `auto` settings and 4-d
    image batches, bf16 only where native. Full precision, contiguous first."""
    r = cfg.runtime
    if rt.device.type != "cpu" or not r.autotune or not _image_data(cfg):
        return [(rt.amp, rt.layout)]
    amps = (["off", "bf16"] if native_bf16() else ["off"]) if r.amp == "auto" else [rt.amp]
    formats = list(LAYOUTS) if r.channels_last == "auto" else [rt.layout]
    return list(itertools.product(amps, formats))


def _image_data(cfg: Config) -> bool:
    from wsnas.supernets.registry import dataset_spec

    return dataset_spec(cfg.data.dataset).images


def _shape_key(cfg: Config, workload: str, candidates: list[Candidate]) -> str:
    """The cache key: workload, space, model, batch, dataset, threads and the candidates measured."""
    batch = cfg.train.batch_size if workload == "train" else cfg.eval.batch_size
    return json.dumps({"workload": workload, "space": cfg.space, "model": vars(cfg.model), "batch": batch,
                       "dataset": cfg.data.dataset, "threads": torch.get_num_threads(),
                       "candidates": [_key(c) for c in candidates]}, sort_keys=True)


def _cached(cfg: Config, workload: str, candidates: list[Candidate],
            log: Callable[[str], None]) -> dict[str, Any] | None:
    """The cached choice for this shape on this machine, or None (logging why a cache file is not usable)."""
    cache = _read_cache(log)
    return cache["entries"].get(_shape_key(cfg, workload, candidates)) if cache else None


def _read_cache(log: Callable[[str], None]) -> dict[str, Any] | None:
    path = cache_path()
    if not path.is_file():
        return None
    cache = read_cache(path)
    if cache is None:
        log(f"[runtime] {path} does not parse as an autotune cache; measuring again")
        return None
    if cache.get("machine") != machine_fingerprint():
        log(f"[runtime] {path} was measured on another machine or torch ({cache.get('machine')}); measuring again")
        return None
    return cache


def _store(cfg: Config, workload: str, candidates: list[Candidate], entry: dict[str, Any]) -> None:
    cache = _read_cache(lambda _: None) or {"version": CACHE_VERSION, "machine": machine_fingerprint(), "entries": {}}
    cache["entries"][_shape_key(cfg, workload, candidates)] = entry
    write_json(cache_path(), cache)


def _recorded(run: RunDir, workload: str, rt: Runtime, candidates: list[Candidate],
              log: Callable[[str], None]) -> dict[str, Any] | None:
    """The run's recorded choice for the workload, if it was made on this device type and the settings given
    now allow it."""
    path = run.path / RUNTIME
    try:
        record = json.loads(path.read_text()).get(workload) if path.is_file() else None
    except (OSError, ValueError, AttributeError):
        log(f"[runtime] {path} does not parse; choosing again")
        return None
    if record is None:
        return None
    if record.get("device") != rt.device.type or _choice(record) not in candidates:
        log(f"[runtime] {path}: the recorded {workload} choice ({_label(_choice(record))} on "
            f"{record.get('device')}) does not apply here ({rt.device.type}, choices {', '.join(map(_label, candidates))}); "
            f"choosing again")
        return None
    return record


def _record(run: RunDir, workload: str, rt: Runtime, entry: dict[str, Any]) -> None:
    path = run.path / RUNTIME
    try:
        record = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        record = {}
    record[workload] = {**entry, "device": rt.device.type, "threads": torch.get_num_threads(),
                        "machine": machine_fingerprint()}
    write_json(path, record)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` (created if missing) for the block: concurrent ranks or shards decide once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


# ------------------------------------------------------------------------------------------- helpers


def _runtime(rt: Runtime, entry: dict[str, Any], source: str) -> Runtime:
    amp, layout = _choice(entry)
    return Runtime(rt.device, torch.bfloat16 if amp == "bf16" else None, layout, source)


def _choice(entry: dict[str, Any]) -> Candidate:
    """An entry's (amp, layout); entries written before `wide` existed hold a channels_last flag instead."""
    if "layout" in entry:
        return entry["amp"], entry["layout"]
    return entry["amp"], "channels_last" if entry["channels_last"] else "contiguous"


def _key(candidate: Candidate) -> str:
    return f"{candidate[0]}/{candidate[1]}"


def _parse(key: str) -> Candidate:
    amp, layout = key.split("/")
    return amp, layout  # the inverse of _key


def _label(candidate: Candidate) -> str:
    return f"{'bf16' if candidate[0] == 'bf16' else 'fp32'} {candidate[1]}"


def _cpu_flags() -> list[str]:
    for line in _cpuinfo().splitlines():
        if line.startswith(("flags", "Features")):
            return line.split(":", 1)[1].split()
    return []


def _cpu_name() -> str:
    for line in _cpuinfo().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""

