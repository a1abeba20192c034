"""The noise study's torch-free part, its figure and its record; the scoring driver is
wsnas.workflows.noise_study (per-image hits: wsnas.supernets.noise_hits).

The noise budget: where the spread of a supernet's Kendall tau comes from, and what design gives a CI of a
given width (no torch).

Input: per-image correctness hits[r, c, a, i] of R replicates (training seeds) x C calibration draws x A archs x M
held-out images (wsnas noise-study; the supernet accuracy of arch a is the mean over i), and the truth of the A
archs. Kendall tau K(r, c) = tau(accuracy[r, c, :], truth). Its variance splits into variance components:

  arch sample (shared)     the covariance of two replicates' K under resampling the archs (the same resamples for
                           all): the arch sample's error that every replicate shares
  seed x arch              one replicate's own arch-resampling variance minus the shared part
  held-out images (shared) and seed x images: the same two parts under resampling the held-out images
  calibration batches      the variance of K over calibration draws of one supernet (C >= 2)
  training seed (net)      the variance of K over replicates at fixed archs, images and draw holds the seed's own
                           effect and every replicate-level part above (seed x arch, seed x images, calibration),
                           so the seed's own part is that variance minus them (at least 0)

Projection: the figure a study reports is the mean of K over R' replicates on n archs and m images, one
calibration draw each. Its variance is

  arch_shared (n0/n) + image_shared (m0/m) + [seed_net + calibration + seed_x_arch (n0/n) + seed_x_images (m0/m)] / R'

(a rank correlation's resampling variance scales about as 1/size, so sizes beyond the measured n0, m0 are
extrapolations), and the width is 2 x 1.96 x its square root: the width of an interval that knew the variance
(the replicate-level t interval of wsnas.analysis.inference is wider at small R' by its t quantile on the seed
part). tests/test_calibration.py checks the projection against simulations of other designs. With R replicates
the net seed variance rests on R - 1 degrees of freedom: read it as an order of magnitude.
"""
from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter

from wsnas.analysis.inference import arch_parts
from wsnas.analysis.metrics import kendall_tau, resample_indices, resampled_stat, stat_or_nan
from wsnas.analysis.plots.style import as_number, styled
from wsnas.analysis.studies.record import RUN, Study, findings_starting

Z = 1.959963984540054
STUDY = "noise"
GRID_REPLICATES = (1, 2, 3, 5, 10)
GRID_ARCHS = (100, 250, 500, 1000)
GRID_IMAGES = (250, 500, 1000, 2000, 5000)
TARGET_WIDTHS = (0.05, 0.1, 0.15, 0.2)


def load_hits(path: str | Path) -> tuple[list[str], np.ndarray]:
    """(keys, bool hits of shape (archs, n_eval)) of one hits file written by wsnas.supernets.noise_hits."""
    saved = np.load(path)
    n = int(saved["n_eval"])
    return [str(k) for k in saved["keys"]], np.unpackbits(saved["hits"], axis=1, count=n).astype(bool)


def _kendall(acc: np.ndarray, truth: np.ndarray) -> float:
    return stat_or_nan(kendall_tau, acc, truth)


def _var(values: Sequence[float]) -> float:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(np.var(v, ddof=1)) if v.size > 1 else math.nan


def _split(boot: np.ndarray) -> tuple[float, float]:
    """(shared, interaction) of resampled K boot[r, c, b]: the mean off-diagonal covariance over replicates and
    the mean variance minus it (inference.arch_parts), averaged over draws c (one replicate: all of it 'shared')."""
    shared, own = np.mean([arch_parts(boot[:, c]) for c in range(boot.shape[1])], axis=0)
    shared = max(0.0, float(shared))
    return shared, max(0.0, float(own) - shared)


def components(hits: np.ndarray, truth: np.ndarray, *, n_boot: int = 200, seed: int = 0) -> dict[str, Any]:
    """The variance components of Kendall tau (module docstring)."""
    R, C, A, M = hits.shape
    acc = hits.mean(axis=3)  # (R, C, A)
    k = np.array([[_kendall(acc[r, c], truth) for c in range(C)] for r in range(R)])
    between = float(np.nanmean([_var(k[:, c]) for c in range(C)])) if R > 1 else math.nan
    calib_var = float(np.nanmean([_var(k[r, :]) for r in range(R)])) if C > 1 else 0.0
    idx = resample_indices(A, n_boot, seed)
    arch_boot = np.array([[resampled_stat(kendall_tau, acc[r, c], truth, idx) for c in range(C)] for r in range(R)])
    images = np.random.default_rng([seed, 1]).integers(0, M, size=(n_boot, M))
    image_boot = np.empty((R, C, n_boot))
    for b, rows in enumerate(images):
        resampled = hits[..., rows].mean(axis=3)
        for r, c in itertools.product(range(R), range(C)):
            image_boot[r, c, b] = _kendall(resampled[r, c], truth)
    arch_shared, seed_x_arch = _split(arch_boot)
    image_shared, seed_x_images = _split(image_boot)
    seed_net = (max(0.0, between - seed_x_arch - seed_x_images - calib_var) if math.isfinite(between) else math.nan)
    variances = {"training seed (net)": seed_net, "calibration batches": calib_var if C > 1 else math.nan,
                 "arch sample (shared)": arch_shared, "seed x arch": seed_x_arch,
                 "held-out images (shared)": image_shared, "seed x images": seed_x_images}
    total = sum(v for v in variances.values() if math.isfinite(v))
    return {"replicates": R, "calib_draws": C, "archs": A, "images": M, "n_boot": n_boot, "bootstrap_seed": seed,
            "kendall": k.tolist(), "mean_kendall": float(np.nanmean(k)), "between_replicates": between,
            "rows": [{"source": s, "variance": v, "sd": math.sqrt(v) if math.isfinite(v) else math.nan,
                      "share": v / total if math.isfinite(v) and total > 0 else math.nan}
                     for s, v in variances.items()]}


def predicted_width(comp: dict[str, Any], replicates: int, archs: int, images: int) -> float:
    """The 95% CI width (known variance) of the mean Kendall over `replicates` supernets on `archs` archs and
    `images` held-out images, one calibration draw each (the module docstring's projection)."""
    v = {r["source"]: (r["variance"] if math.isfinite(r["variance"]) else 0.0) for r in comp["rows"]}
    a, m = comp["archs"] / archs, comp["images"] / images
    own = (v["training seed (net)"] + v["calibration batches"] + v["seed x arch"] * a + v["seed x images"] * m)
    variance = v["arch sample (shared)"] * a + v["held-out images (shared)"] * m + own / replicates
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
                f"its variance components: {parts}",
                f"net training-seed variance from {comp['replicates']} replicates ({comp['replicates'] - 1} degrees of "
                f"freedom), net of the seed x arch, seed x image and calibration parts it holds: an order of "
                f"magnitude, not a precise figure"]
    for a in table["answers"]:
        if a.get("replicates") is None:
            findings.append(f"no design in the grid reaches a 95% CI width of {a['target_width']:.2f}")
            continue
        cost = f", about {a['cost_seconds'] / 60:.0f} min on this machine" if "cost_seconds" in a else ""
        findings.append(f"95% CI width <= {a['target_width']:.2f}: {a['replicates']} replicates x {a['archs']} archs "
                        f"x {a['images']} held-out images (predicted {a['width']:.3f}{cost})")
    return findings


# ------------------------------------------------------------------------------------------------ figure

@styled
def noise_figure(doc: dict[str, Any], title: str) -> Figure:
    """The noise budget: the sd of Kendall tau from each source, and the predicted 95% CI width of the mean
    Kendall against the number of replicates, per number of archs (at the measured held-out images)."""
    comp, grid = doc["components"], doc["grid"]
    fig = Figure(figsize=(12, 4.6), layout="constrained")
    bars, lines = fig.subplots(1, 2, width_ratios=[1, 1.3])
    rows = [r for r in doc["rows"] if as_number(r["sd"]) is not None]
    y = np.arange(len(rows))[::-1]
    drawn = bars.barh(y, [r["sd"] for r in rows], color="tab:purple", alpha=0.75)
    bars.bar_label(drawn, labels=[f"{r['sd']:.3f} ({100 * r['share']:.0f}%)" for r in rows], padding=3, fontsize=10)
    bars.set_yticks(y, [r["source"] for r in rows])
    bars.set_xlabel("sd of Kendall τ from this source (share of variance)")
    bars.set_xlim(0, 1.35 * max([r["sd"] for r in rows] + [1e-3]))
    bars.set_title(f"{comp['replicates']} replicates x {comp['calib_draws']} calibration draws,\n"
                   f"{comp['archs']} archs, {comp['images']} held-out images")
    sizes = sorted({g["images"] for g in grid})
    images = comp["images"] if comp["images"] in sizes else sizes[-1]  # the measured number (in the grid since v2)
    for archs in sorted({g["archs"] for g in grid}):
        pts = sorted((g["replicates"], g["width"]) for g in grid if g["archs"] == archs and g["images"] == images)
        lines.plot(*zip(*pts), marker="o", label=f"{archs} archs")
    for w in (0.1, 0.2):
        lines.axhline(w, ls=":", color="0.4")
        lines.text(1, w, f" width {w}", va="bottom", fontsize=10, color="0.3")
    lines.set_xscale("log")
    lines.set_xticks(sorted({g["replicates"] for g in grid}))
    lines.xaxis.set_major_formatter(ScalarFormatter())
    lines.set_xlabel("replicates (supernets with other training seeds)")
    lines.set_ylabel("predicted 95% CI width of Kendall τ")
    lines.set_title(f"design: CI width at {images} held-out images")
    lines.legend(loc="upper right")
    fig.suptitle(f"{title}: noise budget of Kendall τ ({doc['truth']})")
    return fig


RECORD = Study(
    name=STUDY, title="Noise budget of Kendall tau",
    caption="Left: the variance components of Kendall tau as sds (training seed: between replicates, net of the "
            "seed x arch, seed x image and calibration parts it holds; calibration batches: between calibration "
            "draws; arch sample and held-out images: the bootstrap's covariance between replicates (shared) and "
            "the rest of one replicate's (seed x ...)), with their share of the variance. Right: the predicted 95% CI width of the mean Kendall over replicates, per number of "
            # the caption's "analysis/noise.py" (now analysis/studies/noise.py) is kept: the report stays byte-identical
            "archs (wsnas noise-study; analysis/noise.py explains the projection).",
    producer="wsnas noise-study {dir}",
    draw=lambda doc, title, directory: noise_figure(doc, title),
    applies_to=(RUN,),
    verdict=findings_starting("no design", "95% CI width"),
)
