"""The operator-bias study: which ops the supernet over- or under-rates beyond an unbiased scorer of its quality.
Its computation, figure and record (no torch).

The supernet's rank percentile (0 = worst, 100 = best, average ranks) is regressed by least squares on an
intercept, the true rank percentile and either how many slots carry each op (model "op") or one dummy per
(slot, op) (model "edge"). An op's effect is its coefficient minus the mean coefficient over the ops (per slot
in the edge model): the percentile points the supernet gives an arch for one more slot with that op instead of
the average op, at equal true rank. Each effect is judged against the null of
wsnas.analysis.studies.null_bands.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import matplotlib
import matplotlib.patches
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from wsnas.analysis.features import EDGE, OP_COUNT, columns_with
from wsnas.analysis.null import fit_null
from wsnas.analysis.plots.forest import null_forest, replicates_text
from wsnas.analysis.plots.style import styled
from wsnas.analysis.studies.inputs import StudyInput
from wsnas.analysis.studies.null_bands import (NULL_LEVEL, NULL_RULE, NULL_SIMS, Statistic, aligned, band_text,
                                               judge, null_summary, percentiles, replicate_note)
from wsnas.analysis.studies.record import AUDIT, RUN, Study, findings_starting

MAX_FINDINGS = 8  # findings listed per study; the JSON holds every statistic

OPERATOR_RULE = (
    "Each arch's supernet rank percentile (0 = worst, 100 = best, average ranks over the archs evaluated at the "
    "newest epoch) is regressed by least squares on an intercept, its true rank percentile and either each "
    "op's slot count (model op) or a dummy per (slot, op) (model edge). An op's effect is its coefficient minus "
    "the mean coefficient over the ops (of its slot, in the edge model): the percentile points the supernet "
    "adds for one more slot with that op instead of the average op, at equal true rank; > 0 = over-rated."
)


@dataclass
class Design:
    """One regression: its terms (n, p), groups of term columns whose effects are centred together, labels."""

    model: str
    terms: np.ndarray
    groups: list[list[int]]
    labels: list[dict[str, Any]]


def operator_designs(features: pd.DataFrame) -> tuple[list[Design], list[str]]:
    """The op-count and per-slot designs the features allow, and notes on what is skipped."""
    ops, slots = columns_with(features, OP_COUNT), columns_with(features, EDGE)
    designs, skipped = [], []
    if ops:
        designs.append(Design("op", features[list(ops.values())].to_numpy(dtype=float), [list(range(len(ops)))],
                               [{"model": "op", "op": op, "edge": None} for op in ops]))
    else:
        skipped.append("op model: the space's features have no op counts (n_ops:<op>)")
    if slots:
        order = list(ops) or sorted({op for c in slots.values() for op in features[c].unique()})
        columns, groups, labels = [], [], []
        for slot, column in slots.items():
            present = [op for op in order if (features[column] == op).any()]
            groups.append(list(range(len(columns), len(columns) + len(present))))
            columns += [(features[column] == op).to_numpy(dtype=float) for op in present]
            labels += [{"model": "edge", "op": op, "edge": slot} for op in present]
        designs.append(Design("edge", np.column_stack(columns), groups, labels))
    else:
        skipped.append("edge model: the space's features have no per-slot ops (edge:<slot>)")
    return designs, skipped


def effect_map(x: np.ndarray, design_terms: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    """(q, n) matrix L with effects = L @ y for the regression of y on [1, x, terms] (module docstring).

    Effect j is the contrast of its term's coefficient with the mean over the group's terms that occur
    (nonzero somewhere); a row is NaN where that contrast is not estimable from these archs.
    """
    n, p = design_terms.shape
    design = np.column_stack([np.ones(n), x, design_terms])
    pinv = np.linalg.pinv(design)
    contrasts = np.full((p, p + 2), np.nan)
    for group in groups:
        occurs = [j for j in group if np.any(design_terms[:, j] != 0)]
        for j in occurs:
            contrasts[j] = 0
            contrasts[j, [2 + i for i in occurs]] = -1 / len(occurs)
            contrasts[j, 2 + j] += 1
    known = ~np.isnan(contrasts).any(axis=1)
    residual = contrasts[known] @ pinv @ design - contrasts[known]
    estimable = np.zeros(p, bool)
    estimable[known] = np.abs(residual).max(axis=1) < 1e-8
    mapped = np.full((p, n), np.nan)
    mapped[estimable] = contrasts[estimable] @ pinv
    return mapped


def operator_statistics(truth: np.ndarray, scores: np.ndarray, designs: list[Design], *, n_boot: int, seed: int,
                        sims: int = NULL_SIMS, level: float = NULL_LEVEL) -> dict[str, Any]:
    """The operator study on arrays: truth (n,), scores (R, n) and the designs (see the module docstring).

    Returns {"rows": judge() rows of every estimable effect (model, op, edge, value, CI, null band, per
    replicate), "not_estimable": labels of the effects these archs cannot identify, "null"}.
    """
    model = fit_null(truth, scores, seed)
    null = model.simulate(sims)
    x, y = percentiles(truth), percentiles(scores)  # (n,), (R, n)
    y_null = percentiles(null)  # (sims, R, n)
    rng = np.random.default_rng([seed, 2])
    resamples = rng.integers(0, truth.size, size=(n_boot, truth.size))
    statistics, not_estimable = [], []
    for design in designs:
        mapped = effect_map(x, design.terms, design.groups)
        boot = np.stack([effect_map(x[idx], design.terms[idx], design.groups) @ y[:, idx].T for idx in resamples])
        observed, drawn = mapped @ y.T, np.einsum("qn,srn->qsr", mapped, y_null)
        for j, label in enumerate(design.labels):
            if np.isnan(mapped[j]).any():
                not_estimable.append(label)
            else:
                statistics.append(Statistic(label, observed[j], drawn[j], boot[:, j].mean(axis=1)))
    return {"rows": judge(statistics, level), "not_estimable": not_estimable,
            "null": null_summary(model, null, truth, sims, level)}


def _effect_name(row: dict[str, Any]) -> str:
    return row["op"] if row["model"] == "op" else f"{row['op']} on edge {row['edge']}"


def _operator_findings(rows: list[dict[str, Any]], reps: int) -> list[str]:
    outside = sorted((r for r in rows if r["outside"]), key=lambda r: (r["model"] != "op", -abs(r["excess"])))
    findings = []
    for r in outside[:MAX_FINDINGS]:
        unit = "per slot carrying it" if r["model"] == "op" else "when the edge carries it"
        findings.append(f"operator bias: the supernet {'over' if r['excess'] > 0 else 'under'}-rates "
                        f"{_effect_name(r)} (rank-percentile points {unit}, against the average op): "
                        f"{band_text(r, '+.1f')}; {r['excess']:+.1f} beyond the null median")
    if len(outside) > MAX_FINDINGS:
        findings.append(f"and {len(outside) - MAX_FINDINGS} more effects outside the band (see the JSON)")
    if not outside:
        top = max(rows, key=lambda r: abs(r["excess"]))
        findings.append(f"no evidence of an operator bias: all {len(rows)} effects (per op and per edge) lie inside "
                        f"the 95% band of an unbiased scorer with the supernet's precision; the largest, "
                        f"{_effect_name(top)}: {band_text(top, '+.1f')}")
    return findings + replicate_note(rows, reps)


def operator_study(reps: Sequence[StudyInput], sims: int = NULL_SIMS) -> dict[str, Any]:
    """Which ops the supernet over- or under-rates beyond an unbiased scorer of its quality (OPERATOR_RULE)."""
    data = aligned(reps, "operators")
    if isinstance(data, dict):
        return data
    first = reps[0]
    designs, skipped = operator_designs(data.features)
    if not designs:
        source, _, fix = first.feature_source
        return first.unavailable("operators", f"{source} provides no per-slot ops ({fix})")
    a = first.cfg.analysis
    result = operator_statistics(data.truth, data.scores, designs, n_boot=a.n_boot, seed=a.seed, sims=sims)
    for design in designs:
        missing = [lab for lab in result["not_estimable"] if lab["model"] == design.model]
        if missing:
            skipped.append(f"{design.model} model: {len(missing)} of {len(design.labels)} effects not estimable "
                           f"from {len(data.keys)} archs (too few archs, or an op on too few of them)")
    if not result["rows"]:
        return first.unavailable("operators", "; ".join(skipped))
    config = {"epoch": data.epochs[0], "epochs": data.epochs, "n_archs": len(data.keys), "replicates": len(reps),
              "run_dirs": [str(inp.run.path) for inp in reps], "n_boot": a.n_boot, "bootstrap_seed": a.seed,
              "null_sims": sims, "null_seed": a.seed, "models": [d.model for d in designs],
              "ops": list(dict.fromkeys(lab["op"] for d in designs for lab in d.labels)),
              "edges": list(dict.fromkeys(lab["edge"] for d in designs for lab in d.labels if lab["edge"]))}
    findings = _operator_findings(result["rows"], len(reps))
    return first.document("operators", config, result["rows"], findings + data.notes + [f"skipped {s}" for s in skipped],
                          rule=OPERATOR_RULE, null=result["null"], null_rule=NULL_RULE, skipped=skipped,
                          not_estimable=result["not_estimable"])


# ------------------------------------------------------------------------------------------------ figure

@styled
def operator_figure(doc: dict[str, Any], title: str) -> Figure:
    """Each op's effect on the supernet's rank at equal true rank, against an unbiased scorer's band; and the
    same per edge (a heatmap, cells outside the band marked)."""
    cfg = doc["config"]
    ops_rows = [r for r in doc["rows"] if r["model"] == "op"]
    edge_rows = [r for r in doc["rows"] if r["model"] == "edge"]
    fig = Figure(figsize=(14, 5.6), layout="constrained")
    forest, heat = fig.subplots(1, 2, width_ratios=[1, 1.15])
    if ops_rows:
        null_forest(fig, forest, ops_rows, [r["op"] for r in ops_rows], "+.1f",
                     "rank-percentile points per slot with the op\n(against the average op, at equal true rank)",
                     f"per op: over-rated (> 0) or under-rated (< 0)\n({replicates_text(cfg)}{cfg['n_archs']} archs)")
    else:
        forest.set_visible(False)
    if edge_rows:
        ops, edges = cfg["ops"], cfg["edges"]
        effect = np.full((len(edges), len(ops)), np.nan)
        outside = np.zeros_like(effect, dtype=bool)
        for r in edge_rows:
            i, j = edges.index(r["edge"]), ops.index(r["op"])
            effect[i, j], outside[i, j] = r["value"], r["outside"]
        limit = max(1.0, float(np.nanmax(np.abs(effect))))
        cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="0.92")
        image = heat.imshow(np.ma.masked_invalid(effect), cmap=cmap, vmin=-limit, vmax=limit, aspect="auto")
        for (i, j), value in np.ndenumerate(effect):
            if np.isnan(value):
                continue
            heat.text(j, i, f"{value:+.1f}" + ("*" if outside[i, j] else ""), ha="center", va="center",
                      fontsize=10, fontweight="bold" if outside[i, j] else "normal",
                      color="white" if abs(value) > 0.6 * limit else "black")
            if outside[i, j]:
                heat.add_patch(matplotlib.patches.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=2.5,
                                                            edgecolor="black"))
        heat.set_xticks(range(len(ops)), [op.replace("_", "\n", 1) for op in ops])
        heat.set_yticks(range(len(edges)), [f"edge {e}" for e in edges])
        heat.grid(False)
        heat.set_title("per edge: effect of the op on that edge (vs the edge's average op)\n"
                       "* and boxed: outside an unbiased scorer's 95% band")
        fig.colorbar(image, ax=heat, label="rank-percentile points")
    else:
        heat.set_visible(False)
    fig.suptitle(f"{title}: operator bias ({doc['truth']}): supernet rank regressed on true rank + ops")
    return fig


RECORD = Study(
    name="operators", title="Operator bias",
    caption="The supernet's rank percentile regressed on the true rank percentile plus op counts (left, per "
            "op) or one dummy per edge and op (right): the percentile points the supernet gives an arch for "
            "an op, against the average op, at equal true rank (> 0: over-rated). Grey (left) and the boxes "
            "(right, marked *): outside the 95% band of an unbiased scorer, the supernet's scores permuted among "
            "archs of near-equal truth (light grey = all effects at once, which decides a finding).",
    producer="wsnas studies {dir} --only operators",
    draw=lambda doc, title, directory: operator_figure(doc, title),
    applies_to=(RUN, AUDIT),
    compute=lambda reps, options: operator_study(reps, options.null_sims),
    verdict=findings_starting("operator bias:", "and ", "no evidence of an operator bias"),
)
