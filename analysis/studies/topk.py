"""The top-k study: does the supernet's top k hold better archs than a random pick? Its computation, figure and
record (no torch).

Repeated seeded draws of n archs: best true accuracy of the supernet's top-k against a random pick of the same
size and the oracle, and how often the top-10 holds a true top-10%/1% arch; on the newest scored epoch.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from matplotlib.figure import Figure
from tqdm.auto import tqdm

from wsnas.analysis.free_baselines import baselines
from wsnas.analysis.metrics import random_expected_best, resolve_k, topk_best_truth
from wsnas.analysis.plots.style import BASELINE_COLORS, column, styled
from wsnas.analysis.plots.ticks import count_log_xaxis
from wsnas.analysis.replicated import ScoreSet
from wsnas.analysis.studies.inputs import StudyError, StudyInput
from wsnas.analysis.studies.record import RUN, Study, findings_starting
from wsnas.core.run_files import SUPERNET_ACC

HEADLINE_K: tuple[int | float, ...] = (1, 10, 0.01, 0.1)  # top-1, top-10, top-1% and top-10% of a draw


def hit_probability(score: np.ndarray, good: np.ndarray, k: int) -> float:
    """Probability that the top k by `score` hold at least one `good` arch (boundary ties broken at random).

    A constant `score` gives the chance of a uniformly random pick of k archs.
    """
    kth = np.partition(score, score.size - k)[score.size - k]
    sure, tied = score > kth, score == kth
    if good[sure].any():
        return 1.0
    m, r, g = int(tied.sum()), k - int(sure.sum()), int(good[tied].sum())
    misses = np.arange(r)
    return float(1 - np.prod(np.clip((m - g - misses) / (m - misses), 0, None)))


def space_top_threshold(values: np.ndarray, fraction: float) -> float:
    """Smallest truth among the space's top `fraction` (ceil(fraction * N) archs, ties at the edge included)."""
    ordered = np.sort(values[np.isfinite(values)])[::-1]
    return float(ordered[resolve_k(fraction, ordered.size)[0] - 1])


def _draw_ks(size: int) -> list[tuple[int, str]]:
    """(k, label) of the headline k (ints capped at the draw size), then a geometric grid of k for the curves."""
    grid = np.unique(np.round(np.geomspace(1, size, num=min(size, 16))).astype(int))
    headline = [resolve_k(min(spec, size) if isinstance(spec, int) else spec, size) for spec in HEADLINE_K]
    return headline + [(int(k), str(k)) for k in grid]


def _spread(values: np.ndarray) -> dict[str, float]:
    return {"mean": float(values.mean()), "p5": float(np.percentile(values, 5)),
            "p95": float(np.percentile(values, 95))}


def topk_study(reps: Sequence[StudyInput], draws: int = 200, draw_size: int = 100,
               progress: bool = False, directory: str | Path | None = None) -> dict[str, Any]:
    """topk_one for each replicate (the same seeded draws of archs); with several replicates every figure is the
    mean over replicates, with "<figure>_sd" over replicates for the headline ones and "per_replicate" rows."""
    free = (baselines(reps[0].cfg.space, directory, reps[0].final()["key"].tolist(), reps[0].truth) if directory
            else [])
    docs = [topk_one(inp, draws, draw_size, progress, free) for inp in reps]
    if len(docs) == 1:
        return docs[0]

    def mean_rows(tables: list[list[dict[str, Any]]], spread: Sequence[str]) -> list[dict[str, Any]]:
        out = []
        for same in zip(*tables):
            row = {k: (float(np.mean([r[k] for r in same])) if isinstance(v, float) else v)
                   for k, v in same[0].items()}
            row.update({f"{k}_sd": float(np.std([r[k] for r in same], ddof=1)) for k in spread})
            out.append(row)
        return out

    rows = mean_rows([d["rows"] for d in docs], ("supernet_best_mean", "supernet_beats_random_rate"))
    hits = mean_rows([d["hits"] for d in docs], ("supernet_rate",))
    doc = {**docs[0], "rows": rows, "curve": mean_rows([d["curve"] for d in docs], ()), "hits": hits,
           "per_replicate": [{"run_dir": d["run_dir"], "rows": d["rows"], "hits": d["hits"]} for d in docs]}
    doc["findings"] = [f"mean over {len(docs)} replicates (sd over replicates in brackets):"] + _topk_findings(
        rows, hits, doc["config"]["draw_size"])
    return doc


def topk_one(inp: StudyInput, draws: int = 200, draw_size: int = 100, progress: bool = False,
             baselines: Sequence[ScoreSet] = ()) -> dict[str, Any]:
    """Supernet top-k against a random pick over `draws` seeded draws of `draw_size` evaluated archs.

    When the run evaluated no more than `draw_size` archs, each draw takes 80% of them (at least 3). Rows
    ("rows": top-1, top-10, top-1% and top-10% of a draw; "curve": a grid of k) hold the mean and 5/95
    percentiles over draws of the supernet's best (topk_best_truth), the random pick's exact expected best
    and the draw's best; "hits": how often the supernet's top-10 holds a top-10% / top-1% arch of the space.
    Each free baseline (one-row ScoreSets over the run's archs) gets the same figures on the same draws, as
    "baseline:<name>_best_*" in the rows and "baseline:<name>_rate" in the hits.
    """
    if draws < 1 or draw_size < 3:
        raise StudyError(f"topk study: draws={draws}, draw size={draw_size}; need draws >= 1 and a draw "
                         f"size >= 3 (e.g. --draws 200 --draw-size 100)")
    final = inp.final()
    score, truth = final[SUPERNET_ACC].to_numpy(), final["truth"].to_numpy()
    rankers = {"supernet": score, **{f"baseline:{b.label}": b.select(final["key"].tolist()).scores[0]
                                     for b in baselines}}
    pool = len(final)
    if pool < 4:
        raise StudyError(f"topk study: run {inp.run.path} scored {pool} archs at epoch {inp.final_epoch}; "
                         f"draws need at least 4, evaluate more with `wsnas evaluate {inp.run.path} --archs 100`")
    size = draw_size if draw_size < pool else max(3, math.floor(0.8 * pool))
    ks = _draw_ks(size)
    space_truth = inp.truth.frame[inp.metric].to_numpy(dtype=float)
    targets = {f"top-{f * 100:g}%": space_top_threshold(space_truth, f) for f in (0.1, 0.01)}
    hit_k = min(10, size)
    rng = np.random.default_rng(inp.cfg.analysis.seed)
    best = {who: np.empty((draws, len(ks))) for who in rankers}
    rand, oracle = np.empty((draws, len(ks))), np.empty(draws)
    hits = {(name, who): np.empty(draws) for name in targets for who in (*rankers, "random")}
    for d in tqdm(range(draws), desc="topk draws", unit="draw", disable=not progress):
        pick = rng.choice(pool, size=size, replace=False)
        y = truth[pick]
        for who, values in rankers.items():
            best[who][d] = [topk_best_truth(values[pick], y, k) for k, _ in ks]
        rand[d] = [random_expected_best(y, k) for k, _ in ks]
        oracle[d] = y.max()
        for name, threshold in targets.items():
            for who, values in rankers.items():
                hits[name, who][d] = hit_probability(values[pick], y >= threshold, hit_k)
            hits[name, "random"][d] = hit_probability(np.zeros(size), y >= threshold, hit_k)

    def summary(j: int) -> dict[str, Any]:
        row: dict[str, Any] = {"k": ks[j][0], "label": ks[j][1]}
        columns = [(f"{who}_best", best[who][:, j]) for who in rankers]
        for prefix, values in (*columns, ("random_expected_best", rand[:, j]), ("oracle_best", oracle)):
            row.update({f"{prefix}_{stat}": v for stat, v in _spread(values).items()})
        row["supernet_beats_random_rate"] = float(np.mean(best["supernet"][:, j] > rand[:, j]))
        return row

    rows = [summary(j) for j in range(len(HEADLINE_K))]
    curve = [summary(j) for j in range(len(HEADLINE_K), len(ks))]
    hit_rows = [{"k": hit_k, "target": name, "threshold": threshold,
                 **{f"{who}_rate": float(hits[name, who].mean()) for who in (*rankers, "random")}}
                for name, threshold in targets.items()]
    config = {"draws": draws, "draw_size": size, "requested_draw_size": draw_size, "n_pool": pool,
              "seed": inp.cfg.analysis.seed, "epoch": inp.final_epoch}
    return inp.document("topk", config, rows, _topk_findings(rows, hit_rows, size), curve=curve, hits=hit_rows)


def _topk_findings(rows: list[dict[str, Any]], hit_rows: list[dict[str, Any]], size: int) -> list[str]:
    def sd(row: dict[str, Any], key: str, scale: float = 1.0, fmt: str = ".2f") -> str:
        return f" (sd {scale * row[key + '_sd']:{fmt}})" if key + "_sd" in row else ""

    findings = [f"in a draw of {size} archs the supernet's top-{r['label']} reaches {r['supernet_best_mean']:.2f}% "
                f"true accuracy on average{sd(r, 'supernet_best_mean')} (5-95%: {r['supernet_best_p5']:.2f}-"
                f"{r['supernet_best_p95']:.2f}), a random pick of {r['k']} {r['random_expected_best_mean']:.2f}%, "
                f"the draw's best {r['oracle_best_mean']:.2f}%; the supernet beats random in "
                f"{100 * r['supernet_beats_random_rate']:.0f}% of draws{sd(r, 'supernet_beats_random_rate', 100, '.0f')}"
                for r in rows[:2]]
    findings += [f"the supernet's top-{h['k']} holds a {h['target']} arch of the whole space in "
                 f"{100 * h['supernet_rate']:.0f}% of draws{sd(h, 'supernet_rate', 100, '.0f')} (random pick: "
                 f"{100 * h['random_rate']:.0f}%" + "".join(f", {k[len('baseline:'):-len('_rate')]}: {100 * v:.0f}%"
                                                           for k, v in h.items() if k.startswith("baseline:"))
                 + ")" for h in hit_rows]
    for r in rows[:2]:
        free = [(k[len("baseline:"):-len("_best_mean")], v) for k, v in r.items()
                if k.startswith("baseline:") and k.endswith("_best_mean")]
        if free:
            findings.append(f"free baselines' top-{r['label']} on the same draws: "
                            + ", ".join(f"{name} {v:.2f}%" for name, v in free)
                            + f" (supernet {r['supernet_best_mean']:.2f}%)")
    return findings


# ------------------------------------------------------------------------------------------------ figure

@styled
def topk_figure(doc: dict[str, Any], title: str) -> Figure:
    """Best true accuracy in the supernet's top k against a random pick and the oracle; top-10 hit rates."""
    curve, hits, cfg = doc["curve"], doc.get("hits", []), doc["config"]
    k = column(curve, "k")
    fig = Figure(figsize=(11, 4.6), layout="constrained")
    ax, bars = fig.subplots(1, 2, width_ratios=[2, 1])
    for prefix, label, color in (("supernet_best", "supernet top-k", "tab:blue"),
                                 ("random_expected_best", "random k (exact expectation)", "tab:gray")):
        ax.plot(k, column(curve, f"{prefix}_mean"), marker="o", color=color, label=f"{label}, mean")
        ax.fill_between(k, column(curve, f"{prefix}_p5"), column(curve, f"{prefix}_p95"), color=color,
                        alpha=0.2, label=f"{label}, 5-95% of draws")
    free = [key[:-len("_best_mean")] for key in curve[0] if key.startswith("baseline:") and key.endswith("_best_mean")]
    for key, style, color in zip(free, ("--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1))), BASELINE_COLORS):
        ax.plot(k, column(curve, f"{key}_best_mean"), ls=style, lw=1.6, color=color,
                label=f"{key[len('baseline:'):]} top-k (free baseline), mean")
    ax.plot(k, column(curve, "oracle_best_mean"), ls="--", color="black", label="oracle (best in draw), mean")
    count_log_xaxis(ax)
    ax.set_xlabel("k (archs picked from a draw, log scale)")
    ax.set_ylabel(f"best true accuracy among the k (%, {doc['truth']})")
    ax.legend(loc="lower right", fontsize=9)
    ax.set_title(f"top-k over {cfg['draws']} draws of {cfg['draw_size']} archs")
    if hits:
        x = np.arange(len(hits))
        free_hits = [key for key in hits[0] if key.startswith("baseline:")]
        who = [("supernet_rate", "tab:blue", "supernet"),
               *[(key, color, key[len("baseline:"):-len("_rate")]) for key, color in zip(free_hits, BASELINE_COLORS)],
               ("random_rate", "tab:gray", "random")]
        width = 0.8 / len(who)
        for i, (key, color, label) in enumerate(who):
            drawn = bars.bar(x + (i - (len(who) - 1) / 2) * width, [100 * h[key] for h in hits], width=width,
                             color=color, label=label)
            bars.bar_label(drawn, fmt="%.0f%%", fontsize=9, rotation=90, padding=2)  # upright labels overlap
        bars.set_xticks(x, [f"holds a {h['target']}\narch of the space" for h in hits])
        bars.set_ylim(0, 122)
        bars.set_ylabel("share of draws (%)")
        bars.set_title(f"does the top-{hits[0]['k']} hold a top arch?")
        bars.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=3, fontsize=9)  # below: clear of bars
    else:
        bars.set_visible(False)
    fig.suptitle(f"{title}: picking the top k")
    return fig


RECORD = Study(
    name="topk", title="Top-k: supernet against random and oracle",
    caption="Over repeated seeded draws of archs from the evaluated set: best true accuracy among the supernet's "
            "top k, the exact expected best of k random archs, and the draw's best (oracle); bands: 5-95% of "
            "draws. Right: how often the supernet's top-10 holds an arch of the whole space's top-10% / top-1%.",
    producer="wsnas studies {dir} --only topk",
    draw=lambda doc, title, directory: topk_figure(doc, title),
    applies_to=(RUN,),
    verdict=findings_starting("the supernet's top-"),
    compute=lambda reps, options: topk_study(reps, options.draws, options.draw_size, options.progress,
                                             options.directory),
    not_for_audit="its top-k figures are in metrics.json and `wsnas report` draws them",
)
