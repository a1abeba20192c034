"""Size and operator bias of a supernet's ranking, each statistic judged against an unbiased null (no torch).

    bias       Zhang et al.'s triangle: Kendall tau-b between the ground truth, the supernet score and each cost
               proxy the space provides (parameters, FLOPs); and, judged against the null, per cost c:
               kendall(c, supernet), and partial_spearman(supernet, c | truth), the Spearman correlation of
               supernet and c with the truth partialled out: (r_sc - r_st r_ct) / sqrt((1 - r_st^2)(1 - r_ct^2)),
               r = Spearman's rho. > 0: the supernet ranks larger (costlier) archs higher than the truth does.
    operators  the supernet's rank percentile (0 = worst, 100 = best, average ranks) regressed by least squares
               on an intercept, the true rank percentile and either how many slots carry each op (model "op")
               or one dummy per (slot, op) (model "edge"). An op's effect is its coefficient minus the mean
               coefficient over the ops (per slot in the edge model): the percentile points the supernet gives
               an arch for one more slot with that op instead of the average op, at equal true rank.

Any scorer that tracks the truth imperfectly moves these statistics without any bias (regression to the mean:
tau(params, supernet) shrinks with the scorer's noise; an old form of the operator statistic, supernet minus
true percentile against op counts, gives an op-blind scorer at Kendall 0.41 about -8 points per
nor_conv_3x3 edge on NB201). So each statistic is set against the null of wsnas.analysis.null: unbiased
scorers with the supernet's own scores and Kendall, which see the truth plus noise and nothing else. A
finding is stated only when a statistic lies outside the null's simultaneous 95% band over all the study's
statistics (so at most 5% of unbiased supernets get any finding from a study); otherwise the study says
"no evidence". Intervals in brackets are 95% percentile-bootstrap intervals over archs (seeds fixed).

Replicates: each study takes one StudyInput per supernet replicate, scored on the same archs (a single run
is a list of one). Every statistic is given per replicate and as the mean over replicates; the verdict is
the mean's, against the band of the mean over the R replicates' null draws (one permutation for all, so the
null replicates agree with each other as the replicates do). Intervals in brackets resample the archs with
the seeds fixed (these supernets); the headline Kendall of `wsnas analyze` is the one with seeds random.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from wsnas.analysis.features import EDGE, FLOPS, OP_COUNT, PARAMS, columns_with, feature_table
from wsnas.analysis.metrics import MIN_ARCHS, bootstrap_values, kendall_tau, spearman_rho
from wsnas.analysis.null import NullModel, fit_null, kendall_rows, null_bands, pearson_rows, rank_rows

if TYPE_CHECKING:
    from wsnas.analysis.studies import StudyInput

NULL_LEVEL = 0.95
NULL_SIMS = 1000
COSTS = (("params", PARAMS), ("flops", FLOPS))  # (name in the study, feature column)
CHECK_SIMS = 250  # null draws whose Kendall with the truth is reported as the check of the match
MAX_FINDINGS = 8  # findings listed per study; the JSON holds every statistic
NULL_RULE = (
    "null: the supernet's own scores with its archs permuted among truth neighbours (strata of 5 archs sorted by "
    "the truth; one permutation for all replicates), an unbiased scorer with the supernet's marginal, its "
    "precision along the truth and its replicates' agreement; a statistic is a finding only outside the "
    "simultaneous 95% band of the null over all statistics of the study, which bounds the study's "
    "false-positive rate at 5%"
)


class _Unavailable(Exception):
    """The study cannot run on these inputs; the message says why."""


@dataclass
class Aligned:
    """The replicates' final scores on their common archs, the truth and the space's features."""

    keys: list[str]
    truth: np.ndarray  # (n,)
    scores: np.ndarray  # (R, n)
    features: pd.DataFrame
    epochs: list[int]
    notes: list[str] = field(default_factory=list)


def align(reps: Sequence["StudyInput"]) -> Aligned:
    """The archs every replicate scored at its newest epoch, in the first replicate's order."""
    if not reps:
        raise ValueError("a study needs at least one replicate (a single run is a list of one StudyInput)")
    if len({(inp.cfg.space, inp.metric) for inp in reps}) > 1:
        raise _Unavailable("the replicates differ in space or ground-truth column: "
                           + ", ".join(f"{inp.run.path}: {inp.cfg.space} {inp.metric}" for inp in reps))
    frames = [inp.final() for inp in reps]
    epochs = [int(f["epoch"].max()) for f in frames]
    finals = [f.set_index("key") for f in frames]
    common = set.intersection(*(set(f.index) for f in finals))
    keys = [k for k in finals[0].index if k in common and np.isfinite(finals[0].at[k, "truth"])
            and all(np.isfinite(f.at[k, "supernet_acc"]) for f in finals)]
    notes = []
    left_out = len(set.union(*(set(f.index) for f in finals))) - len(keys)
    if left_out:
        notes.append(f"{left_out} archs not scored (finitely) by every replicate were left out")
    if len(keys) < MIN_ARCHS:
        raise _Unavailable(f"the replicates share {len(keys)} scored archs; the study needs at least {MIN_ARCHS}")
    scores = np.vstack([f.loc[keys, "supernet_acc"].to_numpy(dtype=float) for f in finals])
    truth = finals[0].loc[keys, "truth"].to_numpy(dtype=float)
    for name, values in (("supernet score", scores), ("truth", truth[None])):
        if np.any(np.ptp(values, axis=1) == 0):
            raise _Unavailable(f"the {name} is constant over the {len(keys)} archs: no ranking to study")
    return Aligned(keys, truth, scores, feature_table(reps[0].cfg.space, keys),
                   epochs, notes)


def _aligned(reps: Sequence["StudyInput"], study: str) -> Aligned | dict[str, Any]:
    """align(reps), or the study's "unavailable" document saying why it cannot run."""
    try:
        return align(reps)
    except _Unavailable as exc:
        return reps[0].unavailable(study, str(exc))


def percentiles(values: np.ndarray) -> np.ndarray:
    """Average-rank percentile along the last axis: 0 = worst, 100 = best (ties share their average rank)."""
    return (rank_rows(values) - 1) / max(1, values.shape[-1] - 1) * 100


def _ci(resamples: np.ndarray) -> tuple[float, float]:
    """95% percentile interval of bootstrap values (NaN ones dropped)."""
    finite = resamples[np.isfinite(resamples)]
    if finite.size == 0:
        return np.nan, np.nan
    low, high = np.quantile(finite, [0.025, 0.975])
    return float(low), float(high)


@dataclass
class Statistic:
    """One statistic of a study: per-replicate values, their null draws (sims, R) and the mean's bootstrap."""

    label: dict[str, Any]
    values: np.ndarray  # (R,)
    null: np.ndarray  # (sims, R)
    boot: np.ndarray  # (n_boot,) the mean over replicates on each resample of archs


def judge(statistics: list[Statistic], level: float = NULL_LEVEL) -> list[dict[str, Any]]:
    """Rows of the statistics: the replicate mean with its CI and null band (the family being all of them),
    and per replicate its value and band (the family being that replicate's statistics)."""
    if not statistics:
        return []
    mean_bands = null_bands([s.values.mean() for s in statistics],
                            np.column_stack([s.null.mean(axis=1) for s in statistics]), level)
    reps = statistics[0].values.size
    rep_bands = [null_bands([s.values[r] for s in statistics], np.column_stack([s.null[:, r] for s in statistics]),
                            level) for r in range(reps)]
    rows = []
    for j, s in enumerate(statistics):
        low, high = _ci(s.boot)
        rows.append({**s.label, "value": float(s.values.mean()), "ci_low": low, "ci_high": high, **mean_bands[j],
                     "replicates": [{"value": float(s.values[r]), **rep_bands[r][j]} for r in range(reps)]})
    return rows


def _band_text(row: dict[str, Any], fmt: str) -> str:
    return (f"{row['value']:{fmt}} [{row['ci_low']:{fmt}}, {row['ci_high']:{fmt}}] (archs resampled, seeds fixed); "
            f"an unbiased scorer with the supernet's precision along the truth: {row['null_median']:{fmt}}, 95% band "
            f"[{row['null_sim_low']:{fmt}}, {row['null_sim_high']:{fmt}}]")


def _replicate_note(rows: list[dict[str, Any]], reps: int) -> list[str]:
    if reps < 2:
        return []
    flagged = [sum(r["replicates"][i]["outside"] for r in rows) for i in range(reps)]
    return [f"figures are means over {reps} replicates; statistics outside the band per replicate: "
            f"{', '.join(map(str, flagged))}"]


def _null_summary(model: NullModel, null: np.ndarray, truth: np.ndarray, sims: int, level: float) -> dict[str, Any]:
    """The fitted null and the check that it matches: the mean Kendall with the truth of (up to
    CHECK_SIMS of) its draws, and its Monte Carlo standard error."""
    check = null[:CHECK_SIMS]
    taus = kendall_rows(check.reshape(-1, truth.size), truth).reshape(check.shape[:2])
    return {**model.describe(), "sims": sims, "level": level, "null_kendall_mean": taus.mean(axis=0).tolist(),
            "null_kendall_mc_se": (taus.std(axis=0, ddof=1) / np.sqrt(taus.shape[0])).tolist()}


# -------------------------------------------------------------------------------------------------- size

def _tau_row(a: str, b: str, x: np.ndarray, y: np.ndarray, n_boot: int, seed: int) -> dict[str, Any]:
    """Kendall (and Spearman) of each row of x (R, n) with y, as the mean over rows with a bootstrap CI."""
    taus = np.array([kendall_tau(row, y) for row in x])
    boot = np.mean([bootstrap_values(kendall_tau, row, y, n_boot=n_boot, seed=seed) for row in x], axis=0)
    low, high = _ci(boot)
    return {"a": a, "b": b, "kendall": float(taus.mean()), "kendall_ci_low": low, "kendall_ci_high": high,
            "spearman": float(np.mean([spearman_rho(row, y) for row in x])), "replicates": taus.tolist()}


def _partial(r_sc: np.ndarray, r_st: np.ndarray, r_ct: np.ndarray | float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return (r_sc - r_st * r_ct) / np.sqrt((1 - r_st ** 2) * (1 - r_ct ** 2))


def size_statistics(truth: np.ndarray, scores: np.ndarray, costs: dict[str, np.ndarray], *, n_boot: int,
                    seed: int, sims: int = NULL_SIMS, level: float = NULL_LEVEL,
                    judged: Sequence[str] | None = None) -> dict[str, Any]:
    """The size study on arrays: truth (n,), scores (R, n), costs {name: (n,)} (see the module docstring).

    Returns {"rows": triangle rows (a, b, kendall with CI, spearman, per-replicate kendall), "statistics":
    judge() rows for kendall(c, supernet) and partial_spearman(supernet, c | truth) per cost in `judged`
    (default: every cost), "null"}.
    """
    model = fit_null(truth, scores, seed)
    null = model.simulate(sims)  # (sims, R, n)
    n = truth.size
    rows = [_tau_row("supernet", "truth", scores, truth, n_boot, seed)]
    for name, cost in costs.items():
        rows += [_tau_row(name, "truth", cost[None], truth, n_boot, seed),
                 _tau_row(name, "supernet", scores, cost, n_boot, seed)]
    null_ranks = rank_rows(null)
    null_st = pearson_rows(null_ranks, stats.rankdata(truth))  # (sims, R)
    obs_st = np.array([spearman_rho(s, truth) for s in scores])
    boot_st = [bootstrap_values(spearman_rho, s, truth, n_boot=n_boot, seed=seed) for s in scores]
    statistics = []
    for name in costs if judged is None else judged:
        cost = costs[name]
        taus = kendall_rows(null.reshape(-1, n), cost).reshape(null.shape[:2])
        statistics.append(Statistic({"statistic": f"kendall({name}, supernet)", "kind": "kendall", "cost": name},
                                    np.array([kendall_tau(cost, s) for s in scores]), taus,
                                    np.mean([bootstrap_values(kendall_tau, s, cost, n_boot=n_boot, seed=seed)
                                             for s in scores], axis=0)))
        r_ct = spearman_rho(cost, truth)
        boot_ct = bootstrap_values(spearman_rho, cost, truth, n_boot=n_boot, seed=seed)
        boot = [_partial(bootstrap_values(spearman_rho, s, cost, n_boot=n_boot, seed=seed), boot_st[r], boot_ct)
                for r, s in enumerate(scores)]
        statistics.append(Statistic(
            {"statistic": f"partial_spearman(supernet, {name} | truth)", "kind": "partial_spearman", "cost": name},
            _partial(np.array([spearman_rho(s, cost) for s in scores]), obs_st, r_ct),
            _partial(pearson_rows(null_ranks, stats.rankdata(cost)), null_st, r_ct), np.mean(boot, axis=0)))
    return {"rows": rows, "statistics": judge(statistics, level),
            "null": _null_summary(model, null, truth, sims, level)}


def _size_findings(rows: list[dict[str, Any]], statistics: list[dict[str, Any]], reps: int) -> list[str]:
    findings = [f"tau({r['a']}, {r['b']}) = {r['kendall']:+.3f} [{r['kendall_ci_low']:+.3f}, "
                f"{r['kendall_ci_high']:+.3f}] (archs resampled, seeds fixed)" for r in rows]
    outside = [s for s in statistics if s["outside"]]
    for s in outside:
        larger = s["excess"] > 0
        what = ("ranks larger" if larger else "ranks smaller") + f" archs (by {s['cost']}) higher"
        findings.append(f"size bias: the supernet {what} than an unbiased scorer of its quality would: "
                        f"{s['statistic']} = {_band_text(s, '+.3f')}; {s['excess']:+.3f} beyond the null median")
    if not outside:
        findings.append("no evidence of a size bias: every statistic lies inside the 95% band of an unbiased "
                        "scorer with the supernet's precision along the truth (" + "; ".join(
                            f"{s['statistic']} = {s['value']:+.3f}, band [{s['null_sim_low']:+.3f}, "
                            f"{s['null_sim_high']:+.3f}]" for s in statistics) + ")")
    return findings + _replicate_note(statistics, reps)


def bias_study(reps: Sequence["StudyInput"], sims: int = NULL_SIMS) -> dict[str, Any]:
    """Does the supernet prefer large (or small) models beyond what an unbiased scorer of its quality shows?"""
    data = _aligned(reps, "bias")
    if isinstance(data, dict):
        return data
    first = reps[0]
    costs, judged, skipped = {}, [], []
    for name, column in COSTS:
        values = data.features[column].to_numpy(dtype=float) if column in data.features.columns else None
        if values is None:
            skipped.append(f"{name}: space {first.cfg.space!r} provides no {column} (SearchSpace.features)")
        elif not np.isfinite(values).all() or np.ptp(values) == 0:
            skipped.append(f"{name}: missing or constant over the {len(data.keys)} archs")
        else:
            twin = next((other for other in judged if np.array_equal(stats.rankdata(values), stats.rankdata(costs[other]))), None)
            if twin:
                skipped.append(f"{name} against the null: it ranks the {len(data.keys)} archs exactly as {twin}")
            else:
                judged.append(name)
            costs[name] = values
    if not costs:
        return first.unavailable("bias", f"space {first.cfg.space!r} provides no usable parameter counts or FLOPs "
                                         f"({'; '.join(skipped)}); implement SearchSpace.features")
    a = first.cfg.analysis
    result = size_statistics(data.truth, data.scores, costs, n_boot=a.n_boot, seed=a.seed, sims=sims, judged=judged)
    config = {"epoch": data.epochs[0], "epochs": data.epochs, "n_archs": len(data.keys),
              "replicates": len(reps), "run_dirs": [str(inp.run.path) for inp in reps], "n_boot": a.n_boot,
              "bootstrap_seed": a.seed, "null_sims": sims, "null_seed": a.seed, "costs": list(costs), "judged_costs": judged,
              "cost_model": f"{first.cfg.space} SearchSpace.features: the benchmark's training skeleton"}
    findings = _size_findings(result["rows"], result["statistics"], len(reps))
    return first.document("bias", config, result["rows"], findings + data.notes + [f"skipped {s}" for s in skipped],
                          statistics=result["statistics"], null=result["null"], null_rule=NULL_RULE,
                          skipped=skipped)


# --------------------------------------------------------------------------------------------- operators

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
            "null": _null_summary(model, null, truth, sims, level)}


def _effect_name(row: dict[str, Any]) -> str:
    return row["op"] if row["model"] == "op" else f"{row['op']} on edge {row['edge']}"


def _operator_findings(rows: list[dict[str, Any]], reps: int) -> list[str]:
    outside = sorted((r for r in rows if r["outside"]), key=lambda r: (r["model"] != "op", -abs(r["excess"])))
    findings = []
    for r in outside[:MAX_FINDINGS]:
        unit = "per slot carrying it" if r["model"] == "op" else "when the edge carries it"
        findings.append(f"operator bias: the supernet {'over' if r['excess'] > 0 else 'under'}-rates "
                        f"{_effect_name(r)} (rank-percentile points {unit}, against the average op): "
                        f"{_band_text(r, '+.1f')}; {r['excess']:+.1f} beyond the null median")
    if len(outside) > MAX_FINDINGS:
        findings.append(f"and {len(outside) - MAX_FINDINGS} more effects outside the band (see the JSON)")
    if not outside:
        top = max(rows, key=lambda r: abs(r["excess"]))
        findings.append(f"no evidence of an operator bias: all {len(rows)} effects (per op and per edge) lie inside "
                        f"the 95% band of an unbiased scorer with the supernet's precision; the largest, "
                        f"{_effect_name(top)}: {_band_text(top, '+.1f')}")
    return findings + _replicate_note(rows, reps)


def operator_study(reps: Sequence["StudyInput"], sims: int = NULL_SIMS) -> dict[str, Any]:
    """Which ops the supernet over- or under-rates beyond an unbiased scorer of its quality (OPERATOR_RULE)."""
    data = _aligned(reps, "operators")
    if isinstance(data, dict):
        return data
    first = reps[0]
    designs, skipped = operator_designs(data.features)
    if not designs:
        return first.unavailable("operators", f"space {first.cfg.space!r} provides no per-slot ops "
                                              f"(implement SearchSpace.features)")
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
