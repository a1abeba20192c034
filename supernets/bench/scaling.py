"""`wsnas bench`'s scaling: wall time of `train` against epochs and of `evaluate` against subnets, each a fitted
line (fixed overhead + per-unit cost), with peak memory."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from wsnas.core.config import Config, build_config
from wsnas.core.run_files import SHARDS_DIR
from wsnas.core.runs import RunDir
from wsnas.supernets.bench.measure import peak_memory, timed
from wsnas.supernets.bench.sizes import Size, silent


def scaling(size: Size, overrides: dict[str, Any], rt, root: Path,
            epochs_only: bool = False) -> tuple[dict[str, Any], tuple[Config, Any]]:
    """Wall time (setup included) of train_supernet against epochs and of evaluate_run against subnets, each
    in a fresh run, with lines fitted; returns them and (config, run) of the longest-trained run."""
    from wsnas.supernets.autotune import autotuned_runtime
    from wsnas.supernets.evaluate import evaluate_run
    from wsnas.supernets.train import train_supernet

    cfg = build_config("cpu", overrides={**overrides, "data.n_train": size.scale_n_train,
                                         "data.n_valid": size.n_valid, "eval.calib_batches": size.calib_batches,
                                         "eval.batch_size": size.eval_batch, "eval.epochs": []})
    result: dict[str, Any] = {"config": cfg.to_dict(), "epochs": [], "subnets": []}
    for workload in ("train", "evaluate"):  # a first autotune measurement belongs to no timed run
        autotuned_runtime(cfg, workload, None, log=silent)
    run = None
    for epochs in size.scale_epochs:
        cfg.train.epochs = epochs
        run = RunDir(root / f"{cfg.space}-{epochs}ep")
        shutil.rmtree(run.path, ignore_errors=True)
        run.init(cfg)
        with peak_memory(rt.device) as memory, timed(rt.device) as clock:
            train_supernet(cfg, run, log=silent)
        result["epochs"].append({"epochs": epochs, "seconds": clock["seconds"], **memory})
    result["epochs_fit"] = fit_line([p["epochs"] for p in result["epochs"]], [p["seconds"] for p in result["epochs"]])
    if not epochs_only:
        for n in size.scale_subnets:
            cfg.eval.n_archs = n
            run.scores_path.unlink(missing_ok=True)
            shutil.rmtree(run.path / SHARDS_DIR, ignore_errors=True)
            with peak_memory(rt.device) as memory, timed(rt.device) as clock:
                evaluate_run(cfg, run, log=silent)
            result["subnets"].append({"subnets": n, "seconds": clock["seconds"], **memory})
        result["subnets_fit"] = fit_line([p["subnets"] for p in result["subnets"]],
                                         [p["seconds"] for p in result["subnets"]])
    return result, (cfg, run)


def fit_line(xs: list[float], ys: list[float]) -> dict[str, float]:
    """Least-squares seconds = overhead + per_unit * x, with R^2."""
    import numpy as np

    per_unit, overhead = np.polyfit(np.asarray(xs, float), np.asarray(ys, float), 1)
    residual = np.asarray(ys) - (overhead + per_unit * np.asarray(xs))
    spread = float(np.sum((np.asarray(ys) - np.mean(ys)) ** 2))
    return {"overhead_s": float(overhead), "per_unit_s": float(per_unit),
            "r2": 1.0 - float(np.sum(residual ** 2)) / spread if spread > 0 else 1.0}
