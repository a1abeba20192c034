"""`wsnas bench`'s run: every measurement of wsnas.supernets.bench in order, the fidelity of the autotuned runtime
ranked by Kendall's tau (wsnas.analysis.metrics), and the document written to OUT/bench.json.

The measurements and what they compare are described in wsnas.supernets.bench.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import time
from pathlib import Path
from typing import Any

from wsnas.analysis.metrics import kendall_tau, stat_or_nan
from wsnas.core.atomic import write_json
from wsnas.core.config import build_config
from wsnas.core.runs import provenance
from wsnas.supernets.bench.eval_throughput import eval_row
from wsnas.supernets.bench.layout import layout_ops
from wsnas.supernets.bench.measure import busy_warnings, load_warning, machine_facts, timed
from wsnas.supernets.bench.profile import matmul_peak, profile_eval, profile_train
from wsnas.supernets.bench.report import figures
from wsnas.supernets.bench.scaling import scaling
from wsnas.supernets.bench.sizes import EVAL_SPACE, Size, plain_runtime, silent
from wsnas.supernets.bench.train_throughput import train_row


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
    say = print if progress else silent
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
    doc["eval"], scorers, archs = eval_row(eval_cfg, eval_run, rt, size, workers,
                                            functools.partial(stat_or_nan, kendall_tau))
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
