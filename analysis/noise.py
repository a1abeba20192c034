"""The noise budget: where the spread of a supernet's Kendall tau comes from, and what design gives a CI of a
given width (no torch).

Input: per-image correctness hits[r, c, a, i] of R replicates (training seeds) x C calibration draws x A archs x M
held-out images (wsnas noise-study; the supernet accuracy of arch a is the mean over i), and the truth of the A
archs. Kendall tau K(r, c) = tau(accuracy[r, c, :], truth). Its variance splits into four sources:

  training seed        variance of K over replicates (same archs, images, calibration), averaged over draws
  calibration batches  variance of K over calibration draws (same supernet), averaged over replicates
  arch sample          bootstrap variance of K over the A archs, averaged over (r, c)
  held-out images      bootstrap variance of K over the M images (accuracies recomputed), averaged over (r, c)

Projection: the figure a study reports is the mean of K over R' replicates on n archs and m images. Training seed
and calibration noise are independent per replicate (they shrink as 1/R'); the arch sample and the images are
shared by all replicates, so their errors are correlated across replicates: their variance at R' replicates is
v1 (n0/n) (rho + (1 - rho)/R') for the arch term (v1: one replicate, rho measured by resampling archs jointly for
all R replicates) and likewise (m0/m) for images. Bootstrap variances of a rank correlation scale about as 1/size,
so n and m beyond the measured n0, m0 are extrapolations. The CI width is 2 x 1.96 x sqrt(variance). With R
replicates the seed variance has R - 1 degrees of freedom: read it as an order of magnitude.
"""
from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from wsnas.analysis.metrics import kendall_tau, resample_indices, resampled_stat, stat_or_nan

Z = 1.959963984540054
SOURCES = ("training seed", "calibration batches", "arch sample", "held-out images")
GRID_REPLICATES = (1, 2, 3, 5, 10)
GRID_ARCHS = (100, 250, 500, 1000)
GRID_IMAGES = (250, 500, 1000, 2000, 5000)
TARGET_WIDTHS = (0.05, 0.1, 0.15, 0.2)


def load_hits(path: str | Path) -> tuple[list[str], np.ndarray]:
    """(keys, bool hits of shape (archs, n_eval)) of one hits file written by wsnas.supernets.noise_study."""
    saved = np.load(path)
    n = int(saved["n_eval"])
    return [str(k) for k in saved["keys"]], np.unpackbits(saved["hits"], axis=1, count=n).astype(bool)


def _kendall(acc: np.ndarray, truth: np.ndarray) -> float:
    return stat_or_nan(kendall_tau, acc, truth)


def _var(values: Sequence[float]) -> float:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(np.var(v, ddof=1)) if v.size > 1 else math.nan


def _shared_correlation(joint: float, single: float, replicates: int) -> float:
    """rho of the replicates' errors under a shared resampling: joint = single (rho + (1 - rho)/R)."""
    if replicates < 2 or not single > 0 or not math.isfinite(joint):
        return 1.0
    rho = (joint / single - 1 / replicates) / (1 - 1 / replicates)
    return float(min(1.0, max(0.0, rho)))


def components(hits: np.ndarray, truth: np.ndarray, *, n_boot: int = 200, seed: int = 0) -> dict[str, Any]:
    """The four variance components of Kendall tau (module docstring) and the shared-error correlations."""
    R, C, A, M = hits.shape
    acc = hits.mean(axis=3)  # (R, C, A)
    k = np.array([[_kendall(acc[r, c], truth) for c in range(C)] for r in range(R)])
    seed_var = float(np.nanmean([_var(k[:, c]) for c in range(C)])) if R > 1 else math.nan
    calib_var = float(np.nanmean([_var(k[r, :]) for r in range(R)])) if C > 1 else math.nan
    idx = resample_indices(A, n_boot, seed)
    arch_boot = np.array([[resampled_stat(kendall_tau, acc[r, c], truth, idx) for c in range(C)] for r in range(R)])
    arch_var = float(np.nanmean([[_var(arch_boot[r, c]) for c in range(C)] for r in range(R)]))
    arch_joint = float(np.nanmean([_var(np.nanmean(arch_boot[:, c], axis=0)) for c in range(C)]))
    images = np.random.default_rng([seed, 1]).integers(0, M, size=(n_boot, M))
    image_boot = np.empty((R, C, n_boot))
    for b, rows in enumerate(images):
        resampled = hits[..., rows].mean(axis=3)
        for r, c in itertools.product(range(R), range(C)):
            image_boot[r, c, b] = _kendall(resampled[r, c], truth)
    image_var = float(np.nanmean([[_var(image_boot[r, c]) for c in range(C)] for r in range(R)]))
    image_joint = float(np.nanmean([_var(np.nanmean(image_boot[:, c], axis=0)) for c in range(C)]))
    variances = dict(zip(SOURCES, (seed_var, calib_var, arch_var, image_var)))
    total = sum(v for v in variances.values() if math.isfinite(v))
    return {"replicates": R, "calib_draws": C, "archs": A, "images": M, "n_boot": n_boot, "bootstrap_seed": seed,
            "kendall": k.tolist(), "mean_kendall": float(np.nanmean(k)),
            "rows": [{"source": s, "variance": v, "sd": math.sqrt(v) if math.isfinite(v) else math.nan,
                      "share": v / total if math.isfinite(v) and total > 0 else math.nan}
                     for s, v in variances.items()],
            "shared_correlation": {"arch sample": _shared_correlation(arch_joint, arch_var, R),
                                   "held-out images": _shared_correlation(image_joint, image_var, R)}}


def predicted_width(comp: dict[str, Any], replicates: int, archs: int, images: int) -> float:
    """The 95% CI width of the mean Kendall over `replicates` supernets on `archs` archs and `images` images."""
    v = {r["source"]: (r["variance"] if math.isfinite(r["variance"]) else 0.0) for r in comp["rows"]}
    rho = comp["shared_correlation"]

    def shared(source: str, scale: float) -> float:
        return v[source] * scale * (rho[source] + (1 - rho[source]) / replicates)

    variance = ((v["training seed"] + v["calibration batches"]) / replicates
                + shared("arch sample", comp["archs"] / archs) + shared("held-out images", comp["images"] / images))
    return 2 * Z * math.sqrt(variance)


def design_table(comp: dict[str, Any], costs: dict[str, float] | None = None) -> dict[str, Any]:
    """Predicted CI widths over a grid of designs, and for each target width the cheapest design that reaches it
    (cost: replicates x (training seconds + archs x scoring seconds per subnet at that many images), from the
    measured `costs` {"train_seconds", "subnet_seconds", "calib_images"}; without costs, the fewest subnets
    scored)."""
    grid = []
    sizes = (sorted({*GRID_REPLICATES, comp["replicates"]}), sorted({*GRID_ARCHS, comp["archs"]}),
             sorted({*GRID_IMAGES, comp["images"]}))
    for R, n, m in itertools.product(*sizes):
        row = {"replicates": R, "archs": n, "images": m, "width": predicted_width(comp, R, n, m)}
        if costs:
            per_subnet = costs["subnet_seconds"] * (costs["calib_images"] + m) / (costs["calib_images"] + comp["images"])
            row["cost_seconds"] = R * (costs["train_seconds"] + n * per_subnet)
        grid.append(row)
    cost_key = "cost_seconds" if costs else None
    answers = []
    for w in TARGET_WIDTHS:
        fits = [g for g in grid if g["width"] <= w]
        best = min(fits, key=lambda g: g[cost_key] if cost_key else g["replicates"] * g["archs"] * g["images"],
                   default=None)
        answers.append({"target_width": w, **(best or {"replicates": None})})
    return {"grid": grid, "answers": answers}


def noise_findings(comp: dict[str, Any], table: dict[str, Any]) -> list[str]:
    """The components in words, and the cheapest design per target CI width."""
    parts = ", ".join(f"{r['source']} sd {r['sd']:.3f} ({100 * r['share']:.0f}%)" for r in comp["rows"]
                      if math.isfinite(r["variance"]))
    findings = [f"Kendall tau {comp['mean_kendall']:+.3f} (mean over {comp['replicates']} replicates x "
                f"{comp['calib_draws']} calibration draws, {comp['archs']} archs, {comp['images']} held-out images); "
                f"its spread: {parts}",
                f"training seed variance from {comp['replicates']} replicates ({comp['replicates'] - 1} degrees of "
                f"freedom): an order of magnitude, not a precise figure"]
    for a in table["answers"]:
        if a.get("replicates") is None:
            findings.append(f"no design in the grid reaches a 95% CI width of {a['target_width']:.2f}")
            continue
        cost = f", about {a['cost_seconds'] / 60:.0f} min on this machine" if "cost_seconds" in a else ""
        findings.append(f"95% CI width <= {a['target_width']:.2f}: {a['replicates']} replicates x {a['archs']} archs "
                        f"x {a['images']} held-out images (predicted {a['width']:.3f}{cost})")
    return findings
