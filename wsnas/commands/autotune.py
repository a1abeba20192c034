"""`wsnas autotune --show | --reset`: the machine's cache of CPU runtime choices (wsnas.supernets.autotune), read
and cleared without torch."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from wsnas.core.autotune_cache import cache_path, read_cache
from wsnas.core.errors import WsnasError

def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("autotune", help="show or clear this machine's cached CPU precision and layout choices")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--show", action="store_true", help="print every cached choice with its timings")
    what.add_argument("--reset", action="store_true", help="delete the cache: the next run on this machine "
                                                           "measures again")
    p.set_defaults(func=cmd_autotune)


def cmd_autotune(args: argparse.Namespace) -> None:
    path = cache_path()
    if args.reset:
        if not path.is_file():
            print(f"[autotune] no cache at {path}")
            return
        path.unlink()
        print(f"[autotune] removed {path}: the next run on this machine measures again")
        return
    if not path.is_file():
        print(f"[autotune] no cache at {path}: the next run on this machine measures")
        return
    print(show(_read(path), path))


def show(cache: dict[str, Any], path: Path) -> str:
    """The cache as text: the machine it was measured on, then one block per workload and shape."""
    machine = cache.get("machine", {})
    lines = [f"[autotune] {path}: {len(cache['entries'])} entries, measured on {machine.get('cpu', '?')} "
             f"({machine.get('logical_cpus', '?')} CPUs, {machine.get('machine', '?')}, torch "
             f"{machine.get('torch', '?')}); pin a choice with --set runtime.amp=off|bf16 "
             f"--set runtime.channels_last=off|on|wide"]
    for key, entry in sorted(cache["entries"].items()):
        shape = json.loads(key)
        model = ",".join(f"{k}={v}" for k, v in sorted(shape.get("model", {}).items()))
        amp = "bf16" if entry.get("amp") == "bf16" else "fp32"
        lines.append(f"{shape.get('workload')}: {amp} {entry.get('layout')}  [{shape.get('space')} {model} "
                     f"batch={shape.get('batch')} {shape.get('dataset')} threads={shape.get('threads')}; "
                     f"measured {entry.get('measured_at', '?')}]")
        spread = entry.get("spread", {})
        for candidate, speed in entry.get("images_per_s", {}).items():
            rounds = f", rounds spread {spread[candidate]:.2f}x" if candidate in spread else ""
            lines.append(f"    {candidate:<20} {speed:8.0f} images/s{rounds}")
    return "\n".join(lines)


def _read(path: Path) -> dict[str, Any]:
    cache = read_cache(path)
    if cache is not None:
        return cache
    raise WsnasError(f"{path} does not parse as an autotune cache; clear it with `wsnas autotune --reset`")
