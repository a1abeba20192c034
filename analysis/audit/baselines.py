"""The free baselines of an audit, and the paired verdicts of its first score column (no torch).

With features that give parameter count and FLOPs (params_M, flops_M: a `--features` table's, else a registered
`--space`'s), both become extra score columns of the audit on the same archs, named baseline:params and
baseline:flops (higher = better: the bigger net is guessed to be the better one); every table, Kendall matrix, heat
map, report figure and database row of a score column follows. The first score column (the supernet's) is then compared with every other score column
and each baseline by a paired bootstrap on the same archs (wsnas.analysis.replicated.paired_difference on oriented
values), per truth column and BN policy. The comparisons sit in that column's results as "baselines", in the
format of `wsnas analyze`, and their verdicts lead the audit's output.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

import numpy as np

from wsnas.analysis.audit.features import features_of
from wsnas.analysis.audit.tables import BN_POLICY, NO_POLICY, SCORE, TRUTH, Joined
from wsnas.analysis.direction import Column
from wsnas.analysis.features import FLOPS, PARAMS
from wsnas.analysis.metrics import CORRELATIONS
from wsnas.analysis.free_baselines import cost_baselines
from wsnas.analysis.replicated import ScoreSet, fitting
from wsnas.analysis.verdicts import baseline_entries, baseline_verdicts, interval_text
from wsnas.benchmarks.registry import space_names

PREFIX = "baseline:"  # score columns of the free baselines: baseline:params, baseline:flops
UNITS = {"params": "M params", "flops": "MFLOPs"}
FREE, OTHER = "free baseline", "score column"  # the kinds of a comparison


def short_name(column: str) -> str:
    """A score column's name in a comparison: 'params' for baseline:params, else the column's own name."""
    return column[len(PREFIX):] if column.startswith(PREFIX) else column


def no_cost_reason(space: str | None, features: bool = False) -> str:
    """Why an audit of `space` (`features`: made with --features) has neither parameter count nor FLOPs, and what
    would give them."""
    if features:
        return f"its --features table has neither {PARAMS} nor {FLOPS} columns"
    if space in space_names():
        return f"the {space} space's features give neither {PARAMS} nor {FLOPS}"
    return (f"the space {space!r} is not registered, so its archs have no parameter count or FLOPs; audit with "
            f"--features F.csv (the archs' {PARAMS}, {FLOPS} columns) or --space NAME (a space of `wsnas benchmarks "
            f"list`, or a plugin's: --plugin FILE --space NAME)")


def add_cost_baselines(joined: Joined, space: str | None) -> tuple[Joined, tuple[Column, ...], tuple[str, ...]]:
    """The joined table with a score column per cost baseline of the archs' features (the joined --features
    columns, else the registered `space`'s; None: none), their Columns, and notes on what is left out."""
    features = features_of(joined.table)
    if space is None and features is None:
        return joined, (), ()
    source = f"the {space} space's features" if features is None else "the --features table"
    keys = list(dict.fromkeys(joined.table["key"]))
    table, columns, notes = joined.table.copy(), [], []
    for found in cost_baselines(space, keys, features):
        values = found.scores[0]
        if not np.isfinite(values).all():
            notes.append(f"free baseline {found.label}: {source} give no finite value for "
                         f"{int((~np.isfinite(values)).sum())} of the {len(keys)} archs; left out")
            continue
        name = PREFIX + found.label
        table[SCORE + name] = table["key"].map(dict(zip(keys, values)))
        columns.append(Column(name, False, UNITS.get(found.label)))
    if not columns and not notes:
        notes.append(f"no free baseline: {no_cost_reason(space, features is not None)}")
    return dataclasses.replace(joined, table=table), tuple(columns), tuple(notes)


def compare_first(joined: Joined, scores: Sequence[Column], free: Sequence[Column], truths: Sequence[Column],
                  results: list[dict[str, Any]], topk: Sequence[int | float], n_boot: int, seed: int,
                  advance: Callable[[int], object] | None = None) -> None:
    """Add "baselines" to every result of the first score column: the paired comparison with every other score
    column and every free baseline (`free`) on the same archs, each with its "kind". Each one's own Kendall and
    Spearman are those of its own result (the same bootstrap). `advance(n)` counts each result's
    len(CORRELATIONS) x comparisons bootstraps (a progress bar's update)."""
    first, others = scores[0], [*scores[1:], *free]
    truth_of = {t.name: t for t in truths}
    result_of = {(r["score"], r["truth"], r[BN_POLICY]): r for r in results}
    for result in results:
        if result["score"] != first.name:
            continue
        if not others:  # nothing to compare with: no bootstrap of the first column's figures again
            result["baselines"] = []
            continue
        rows = joined.table[joined.table[BN_POLICY] == result[BN_POLICY]]
        keys = tuple(rows["key"])
        true = truth_of[result["truth"]].orient(rows[TRUTH + result["truth"]])

        def score_set(column: Column) -> ScoreSet:
            values = column.orient(rows[SCORE + column.name])
            return ScoreSet(short_name(column.name), keys, values[None, :], (column.name,), fixed=column in free)

        own = [result_of[(c.name, result["truth"], result[BN_POLICY])] for c in others]
        entries = baseline_entries([score_set(c) for c in others], score_set(first), true, fitting(topk, len(keys)),
                                   n_boot, seed, own)
        result["baselines"] = [{"kind": FREE if c in free else OTHER, **entry} for c, entry in zip(others, entries)]
        if advance:
            advance(len(CORRELATIONS) * len(others))


def audit_verdicts(metrics: dict[str, Any]) -> list[str]:
    """The first lines of an audit: per truth (and BN policy), the first score column's Kendall and its verdict
    against every free baseline and other score column; a line saying why there is none otherwise."""
    first = metrics.get("score")
    lines = []
    for result in metrics["results"]:
        if result["score"] != first or "baselines" not in result:
            continue
        where = f"truth {result['truth']}" + (f", bn_policy {result[BN_POLICY]}"
                                              if result[BN_POLICY] != NO_POLICY else "")
        kinds = {kind: [b["name"] for b in result["baselines"] if b.get("kind") == kind] for kind in (OTHER, FREE)}
        against = "; ".join(f"{kind}s {', '.join(names)}" for kind, names in kinds.items() if names)
        lines.append(f"[audit] {where}: {first} ranks {result['n_archs']} archs at Kendall "
                     f"{interval_text(result['kendall'])}"
                     + (f"; paired on the same archs against {against}:" if result["baselines"] else ""))
        lines += [f"  {line}" for line in baseline_verdicts(result, first)]
    if not any(b for r in metrics["results"] for b in r.get("baselines", [])):
        reason = no_cost_reason(metrics.get("space"), "features" in metrics)
        lines.append(f"[audit] no free baseline to compare {first} with: {reason}; "
                     f"or add baseline score columns (--score-col)")
    return lines
