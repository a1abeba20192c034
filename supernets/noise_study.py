"""Scoring for the noise study (analysis/noise.py): each replicate's archs re-scored under several calibration
draws, keeping which held-out images each subnet classifies correctly.

For replicate r and calibration draw c (eval.calib_seed = eval.seed + c; draw 0 is the calibration `wsnas evaluate`
uses), the first `archs` archs of the evaluation sample are scored at the run's newest checkpoint through the
standard SubnetScorer, and the per-image correctness goes to DIR/studies/noise/hits-r<r>-c<c>.npz (bit-packed,
written atomically once a (replicate, draw) is complete, so a killed study resumes at the next one). The ground
truth is never read here.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from wsnas.core.atomic import atomic_path
from wsnas.core.config import Config
from wsnas.core.errors import WsnasError
from wsnas.core.groups import runs_of
from wsnas.core.runs import RunDir
from wsnas.supernets.evaluate import SubnetScorer, eval_epochs, evaluation_archs
from wsnas.supernets.autotune import autotuned_runtime

HITS_DIR = Path("studies") / "noise"


def hits_path(directory: Path, replicate: int, draw: int) -> Path:
    return directory / HITS_DIR / f"hits-r{replicate}-c{draw}.npz"


def draw_config(cfg: Config, draw: int) -> Config:
    """The run's config with calibration draw `draw` (eval.calib_seed = eval.seed + draw)."""
    return dataclasses.replace(cfg, eval=dataclasses.replace(cfg.eval, calib_seed=cfg.eval.seed + draw))


def score_hits(directory: str | Path, archs: int | None, draws: int, overrides: dict[str, Any] | None = None,
               log=print) -> dict[str, Any]:
    """Score every (replicate, draw) of DIRECTORY (a group or a run) that has no hits file yet; returns the design:
    {"runs", "keys", "draws", "n_eval", "epoch", "files"}."""
    from wsnas.core.config import apply_overrides

    directory = Path(directory)
    if draws < 1:
        raise WsnasError(f"--calib-draws {draws}: score at least 1 calibration draw (2 or more to measure its noise)")
    runs = runs_of(directory)
    files: dict[tuple[int, int], Path] = {}
    keys: list[str] | None = None
    design: dict[str, Any] = {}
    todo = [(r, c) for r in range(len(runs)) for c in range(draws) if not hits_path(directory, r, c).is_file()]
    bar = tqdm(total=len(todo) * (archs or 0) or None, desc="noise study", unit="subnet", dynamic_ncols=True,
               disable=not runs[0].config().runtime.progress)
    with bar:
        for r, run in enumerate(runs):
            cfg = run.config()
            if overrides:
                apply_overrides(cfg, overrides)
            sample = evaluation_archs(cfg, run)[:archs]
            epoch = eval_epochs(cfg, run)[-1]
            for c in range(draws):
                files[r, c] = hits_path(directory, r, c)
                if (r, c) in todo:
                    _score_draw(draw_config(cfg, c), run, sample, epoch, files[r, c], bar)
                saved = np.load(files[r, c])
                these = [str(k) for k in saved["keys"]]
                if keys is not None and these != keys:
                    raise WsnasError(f"{files[r, c]} holds other archs than the other replicates' hits; the "
                                     f"replicates must score the same sample: delete {directory / HITS_DIR} and rerun")
                keys = these
                design = {"epoch": int(saved["epoch"]), "n_eval": int(saved["n_eval"])}
    log(f"[noise-study] hits of {len(runs)} replicates x {draws} calibration draws x {len(keys or [])} archs x "
        f"{design['n_eval']} held-out images in {directory / HITS_DIR}")
    return {"runs": [str(run.path) for run in runs], "keys": keys, "draws": draws, "files": files, **design}


def _score_draw(cfg: Config, run: RunDir, archs: Sequence[Any], epoch: int, path: Path, bar: tqdm) -> None:
    rt = autotuned_runtime(cfg, "evaluate", run, log=lambda _: None)  # the precision `wsnas evaluate` scores in
    scorer = SubnetScorer(cfg, rt)
    scorer.load(run, epoch)
    keys = [scorer.space.format(arch) for arch in archs]
    hits: dict[str, list[torch.Tensor]] = {key: [] for key in keys}
    rows = {}
    for row in scorer.score_many(archs, hits=hits):  # together: shared steps computed once
        rows[row["key"]] = row
        bar.update(1)
    packed = []
    for key in keys:
        correct = torch.cat(hits[key]).numpy()
        if not np.isclose(100.0 * correct.mean(), rows[key]["supernet_acc"]):
            raise WsnasError(f"per-image hits of {key} do not add up to its accuracy; this is a bug")
        packed.append(np.packbits(correct))
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, keys=np.array(keys), hits=np.stack(packed), n_eval=scorer.n_eval, epoch=epoch,
                                calib_seed=scorer.calib_seed, score_set=rows[keys[-1]]["score_set"])


def noise_study(directory: str | Path, archs: int | None, draws: int, overrides: dict[str, Any] | None = None,
                n_boot: int = 200, log=print) -> dict[str, Any]:
    """Score the hits (score_hits), split Kendall's variance into its sources and project CI widths; writes and
    returns DIR/studies/noise.json's document."""
    from wsnas.analysis.noise import components, design_table, load_hits, noise_findings
    from wsnas.analysis.studies import write_study
    from wsnas.benchmarks.groundtruth import load_ground_truth

    directory = Path(directory)
    design = score_hits(directory, archs, draws, overrides, log)
    runs = runs_of(directory)
    cfg = runs[0].config()
    metric = (overrides or {}).get("analysis.truth") or cfg.analysis.truth
    hits = np.stack([np.stack([load_hits(design["files"][r, c])[1] for c in range(draws)])
                     for r in range(len(runs))])
    truth = load_ground_truth(cfg.space, cfg.data.mirror, cfg.analysis.truth_file).values(metric, design["keys"])
    comp = components(hits, truth, n_boot=n_boot, seed=cfg.analysis.seed)
    table = design_table(comp, _costs(runs, cfg))
    doc = {"study": "noise", "truth": metric, "space": cfg.space, "run_dir": str(directory), "available": True,
           "config": {"archs": len(design["keys"]), "calib_draws": draws, "epoch": design["epoch"],
                      "n_eval": design["n_eval"], "n_boot": n_boot, "bootstrap_seed": cfg.analysis.seed,
                      "calib_seeds": [cfg.eval.seed + c for c in range(draws)], "runs": design["runs"]},
           "rows": comp["rows"], "components": comp, **table, "findings": noise_findings(comp, table)}
    write_study(directory, doc)
    return doc


def _costs(runs: Sequence[RunDir], cfg: Config) -> dict[str, float] | None:
    """Measured seconds: training per replicate and scoring per subnet (score_timings.csv), for the design costs."""
    import pandas as pd

    from wsnas.core.run_files import SCORE_TIMINGS as TIMINGS_FILE

    train = [pd.read_csv(run.train_log_path)["seconds"].sum() for run in runs if run.train_log_path.is_file()]
    timings = [pd.read_csv(run.path / TIMINGS_FILE)["seconds"] for run in runs if (run.path / TIMINGS_FILE).is_file()]
    if not train or not timings:
        return None
    return {"train_seconds": float(np.mean(train)), "subnet_seconds": float(pd.concat(timings).median()),
            "calib_images": float(cfg.eval.calib_batches * cfg.train.batch_size)}
