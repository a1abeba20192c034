"""The noise study's driver: score each replicate's archs under several calibration draws keeping the per-image
hits (wsnas.supernets.noise_hits), then split Kendall's variance into its sources and project CI widths
(wsnas.analysis.studies.noise, torch-free, which also holds the figure and the record)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from wsnas.analysis.studies.inputs import write_study
from wsnas.analysis.studies.noise import STUDY, components, design_table, load_hits, noise_findings
from wsnas.benchmarks.groundtruth import config_truth
from wsnas.core.config import Config
from wsnas.core.groups import runs_of
from wsnas.core.run_files import SCORE_TIMINGS
from wsnas.core.runs import RunDir
from wsnas.supernets.noise_hits import score_hits


def noise_study(directory: str | Path, archs: int | None, draws: int, overrides: dict[str, Any] | None = None,
                n_boot: int = 200, log=print) -> dict[str, Any]:
    """Score the hits (score_hits), split Kendall's variance into its sources and project CI widths; writes and
    returns DIR/studies/noise.json's document."""
    directory = Path(directory)
    design = score_hits(directory, archs, draws, overrides, log)
    runs = runs_of(directory)
    cfg = runs[0].config()
    metric = (overrides or {}).get("analysis.truth") or cfg.analysis.truth
    hits = np.stack([np.stack([load_hits(design["files"][r, c])[1] for c in range(draws)])
                     for r in range(len(runs))])
    truth = config_truth(cfg).values(metric, design["keys"])
    comp = components(hits, truth, n_boot=n_boot, seed=cfg.analysis.seed)
    table = design_table(comp, _costs(runs, cfg))
    doc = {"study": STUDY, "truth": metric, "space": cfg.space, "run_dir": str(directory), "available": True,
           "config": {"archs": len(design["keys"]), "calib_draws": draws, "epoch": design["epoch"],
                      "n_eval": design["n_eval"], "n_boot": n_boot, "bootstrap_seed": cfg.analysis.seed,
                      "calib_seeds": [cfg.eval.seed + c for c in range(draws)], "runs": design["runs"]},
           "rows": comp["rows"], "components": comp, **table, "findings": noise_findings(comp, table)}
    write_study(directory, doc)
    return doc


def _costs(runs: Sequence[RunDir], cfg: Config) -> dict[str, float] | None:
    """Measured seconds: training per replicate and scoring per subnet (score_timings.csv), for the design costs."""
    train = [pd.read_csv(run.train_log_path)["seconds"].sum() for run in runs if run.train_log_path.is_file()]
    timings = [pd.read_csv(run.path / SCORE_TIMINGS)["seconds"] for run in runs if (run.path / SCORE_TIMINGS).is_file()]
    if not train or not timings:
        return None
    return {"train_seconds": float(np.mean(train)), "subnet_seconds": float(pd.concat(timings).median()),
            "calib_images": float(cfg.eval.calib_batches * cfg.train.batch_size)}
