"""Tools of `wsnas bench` and `wsnas bench --gpu`: interleaved timing with medians and ranges, wall time with the
device synchronised, peak memory, the machine's facts, busy-machine warnings, quiet profiling, and the flat
`figures` of a bench document that `wsnas bench --compare` reads.

Torch is imported inside the functions that need it, so the CLI and `--compare` work without it.
"""
from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from wsnas.core.errors import WsnasError
from wsnas.core.runs import package_version

BUSY_SPREAD = 0.25   # (max - min) / median of one figure's rounds above this: the machine was busy
BUSY_R2 = 0.95       # a scaling fit below this: the machine was busy (or the cost is not linear)


# ------------------------------------------------------------------------------------------ interleaving


def interleave(runs: dict[str, Callable[[int], float]], rounds: int, between: Callable[[], None] | None = None
               ) -> dict[str, list[float]]:
    """Call every run once per round, in turn (ABC ABC ...), each given the round's number; `between` runs
    after each call (e.g. a progress bar). Returns each run's values in round order. Interleaving spreads a
    passing load (another process, a thermal limit) over every contender instead of one."""
    values: dict[str, list[float]] = {name: [] for name in runs}
    for round_ in range(rounds):
        for name, run in runs.items():
            values[name].append(run(round_))
            if between:
                between()
    return values


def summary(values: list[float]) -> dict[str, Any]:
    """Median, minimum, maximum and the spread (max - min) / median of a figure's rounds."""
    median = statistics.median(values)
    return {"median": median, "min": min(values), "max": max(values), "values": list(values),
            "spread": (max(values) - min(values)) / median if median else 0.0}


def paired(numerator: list[float], denominator: list[float]) -> dict[str, Any]:
    """The ratio of two figures measured side by side, round by round (median and range of the ratios)."""
    return summary([a / b for a, b in zip(numerator, denominator)])


def busy_warnings(doc: Any, path: str = "") -> list[str]:
    """Every figure in a bench document whose rounds spread more than BUSY_SPREAD, and every fit with R^2
    below BUSY_R2: signs that the machine was busy while it was measured."""
    found: list[str] = []
    if isinstance(doc, dict):
        if {"median", "spread", "values"} <= set(doc) and len(doc["values"]) > 1 and doc["spread"] > BUSY_SPREAD:
            found.append(f"{path}: rounds spread {doc['spread']:.0%} ({doc['min']:.4g} to {doc['max']:.4g})")
        if {"r2", "per_unit_s"} <= set(doc) and doc["r2"] < BUSY_R2:
            found.append(f"{path}: the line fits with R^2 {doc['r2']:.2f}")
        for key, value in doc.items():
            found += busy_warnings(value, f"{path}.{key}" if path else str(key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            found += busy_warnings(value, f"{path}[{i}]")
    return found


def load_warning(facts: dict[str, Any]) -> str | None:
    """A warning when the load average during the bench exceeded the usable CPUs."""
    loads = [facts.get("loadavg_start", [0])[0], facts.get("loadavg_end", [0])[0]]
    if max(loads) > facts.get("usable_cpus", 1):
        return (f"load average {max(loads):.1f} on {facts.get('usable_cpus')} usable CPUs: other processes ran "
                f"during the bench, so absolute figures are low; the side-by-side ratios are the ones to read")
    return None


# -------------------------------------------------------------------------------------------- clocks


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


@contextmanager
def quiet_stderr() -> Iterator[None]:
    """Send what native code writes to stderr (file descriptor 2) to /dev/null for the block: the profiler's
    start and stop lines, which no setting turns off."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


# ------------------------------------------------------------------------------------------- machine


def machine_facts(rt) -> dict[str, Any]:
    import torch

    from wsnas.supernets.autotune import native_bf16

    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next((int(line.split()[1]) / 2 ** 20 for line in _read("/proc/meminfo").splitlines()
                if line.startswith("MemTotal:")), None)
    facts: dict[str, Any] = {
        "cpu": cpu, "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(), "native_bf16": native_bf16(),
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


# ----------------------------------------------------------------------------------- figures, compare


def figure(value: float | None, unit: str, higher_is_better: bool = True, **extra: Any) -> dict[str, Any]:
    """One named figure of a bench document (what --compare compares)."""
    return {"value": value, "unit": unit, "higher_is_better": higher_is_better, **extra}


def read_document(path: str | Path) -> dict[str, Any]:
    """A saved bench document (bench.json or the GPU check's JSON) that carries `figures`."""
    file = Path(path)
    try:
        doc = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise WsnasError(f"cannot read the bench document {file} ({exc}); give a bench.json written by `wsnas "
                         f"bench` or the JSON of `wsnas bench --gpu`") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("figures"), dict):
        raise WsnasError(f"{file} has no `figures`: it was written by an older `wsnas bench`; rerun the bench at "
                         f"that commit, or compare two documents of this one")
    return doc


def compare(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """One line per figure of `new` with its ratio to `old` (above 1: better), then figures only one has."""
    lines = [f"{'figure':58} {'old':>11} {'new':>11} {'new/old':>8}"]
    olds, news = old["figures"], new["figures"]
    for name, fig in news.items():
        if name not in olds or olds[name]["value"] in (None, 0) or fig["value"] is None:
            continue
        ratio = fig["value"] / olds[name]["value"]
        better = ratio if fig.get("higher_is_better", True) else 1 / ratio
        mark = "  slower" if better < 0.9 else ("  faster" if better > 1.1 else "")
        lines.append(f"{name:58} {olds[name]['value']:11.4g} {fig['value']:11.4g} {ratio:7.2f}x{mark}")
    only_new, only_old = sorted(set(news) - set(olds)), sorted(set(olds) - set(news))
    if only_new:
        lines.append(f"only in the new document: {', '.join(only_new)}")
    if only_old:
        lines.append(f"only in the old document: {', '.join(only_old)}")
    lines.append("(ratios of figures measured on different machines or loads compare the machines too)")
    return lines
