"""Scoring for the noise study (wsnas.analysis.studies.noise; driver: wsnas.workflows.noise_study): each replicate's archs re-scored under several calibration
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
