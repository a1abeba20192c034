"""`wsnas protocol-study`: train one replicate group per training protocol (wsnas.workflows.protocol_registry) on the same
archs and budget, and set them side by side (wsnas.analysis.leaderboard).

    OUT/<protocol>/            a replicate group per protocol (`wsnas study`'s output; resumes where it stopped)
    OUT/protocols.json         the protocols, their overrides, the base config and the machine
    OUT/leaderboard.csv, .md   the leaderboard (verdicts first); .png its figure: Kendall against CPU-seconds
With `report`, the markdown and the figure are also written there (reports/training-protocols).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd

from wsnas.analysis.leaderboard import free_lines, leaderboard, leaderboard_figure, leaderboard_markdown
from wsnas.analysis.plots.style import save
from wsnas.core.atomic import atomic_path, write_json, write_text
from wsnas.core.config import build_config
from wsnas.core.errors import WsnasError
from wsnas.supernets.autotune import machine_fingerprint
from wsnas.workflows.pipeline import study
from wsnas.workflows.protocol_registry import protocol

FIGURE = "leaderboard.png"


def protocol_study(preset: str, file: str | Path | None, overrides: dict[str, Any], names: Sequence[str],
                   out: Path, reference: str = "default", report: Path | None = None,
                   log: Callable[[str], None] = print) -> pd.DataFrame:
    """Study every protocol in `names` (the user's preset, file and overrides, then the protocol's own), then
    write the leaderboard."""
    if reference not in names:
        raise WsnasError(f"the reference protocol {reference!r} must be one of --protocols ({', '.join(names)})")
    chosen = [protocol(n) for n in names]  # unknown names fail before any training
    base = build_config(preset, file, overrides)
    configs = {p.name: build_config(preset, file, {**overrides, **p.overrides,
                                                   "train.epochs": p.epochs(base.train.epochs)}) for p in chosen}
    if base.replicates < 2:
        raise WsnasError(f"a protocol study compares replicate groups: give --replicates 2 or more (3 for a "
                         f"verdict); the {preset} preset has {base.replicates}")
    machine = machine_fingerprint()["cpu"]
    write_json(out / "protocols.json", {"protocols": {p.name: {"overrides": p.overrides, "summary": p.summary,
                                                              "source": p.source,
                                                              "train_epochs": configs[p.name].train.epochs}
                                                      for p in chosen},
                                        "reference": reference, "base_config": base.to_dict(), "cpu": machine})
    began = time.perf_counter()
    for p in chosen:
        log(f"[protocol-study] {p.name}: {p.summary}")
        study(configs[p.name], out / p.name)
    wall = time.perf_counter() - began
    table = leaderboard([(p.name, out / p.name) for p in chosen], reference, base.data.mirror)
    with atomic_path(out / "leaderboard.csv") as tmp:
        table.to_csv(tmp, index=False)
    budget = (f"{base.train.epochs} epochs x {base.data.n_train or 'all'} training images per supernet (a protocol "
              f"that trains more paths per step trains fewer epochs: see its summary), {base.replicates} replicates "
              f"per protocol, {base.eval.n_archs} archs of {base.space} scored with BN {base.eval.bn_policy}; this invocation took {wall:.0f} s on "
              f"{machine} (a resumed study counts only what it redid)")
    figure = leaderboard_figure(table, free_lines(out / reference), machine)  # drawn once, saved where asked
    markdown = leaderboard_markdown(
        table, reference, {p.name: f"{p.summary} ({p.source}; {p.overrides or 'no override'})" for p in chosen},
        budget, FIGURE)
    for directory in [out, *([report] if report else [])]:
        save(figure, directory / FIGURE)
        write_text(directory / "leaderboard.md", markdown)
    return table
