"""Replicates from outside: `wsnas audit --replicate-cols A,B,C` (no torch).

The named score columns are replicate scorers of one method (supernets trained elsewhere with different seeds, or
any replicate scorers). Per truth column and BN policy they get what `wsnas study` gives a replicate group: the
replicated figures (the mean over replicates with the replicate-level interval, the sd, how the replicates agree,
the Kendall of their mean score, top-k), and the paired verdicts against the free baselines and the audit's other
score columns, tested on the per-replicate differences (wsnas.analysis.replicated). The other columns are single
scorers held fixed (one draw each). Each replicate column also keeps its own per-column results.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from wsnas.analysis.audit.baselines import FREE, OTHER, short_name
from wsnas.analysis.audit.tables import BN_POLICY, NO_POLICY, SCORE, TRUTH, AuditError, Joined
from wsnas.analysis.direction import Column
from wsnas.analysis.metrics import CORRELATIONS, resolve_k
from wsnas.analysis.replicated import ScoreSet, fitting, replicate_summary
from wsnas.analysis.verdicts import (baseline_entries, baseline_verdicts, format_replicated, group_lines, headline,
                                     replicated_head)

GROUP = "replicates"  # the group's name in the output


def check_group(columns: Sequence[str], scores: Sequence[str]) -> tuple[str, ...]:
    """The replicate columns, at least two distinct ones, each a score column of the audit."""
    group = tuple(dict.fromkeys(columns))
    if len(group) < 2:
        raise AuditError(f"--replicate-cols {','.join(columns)}: name at least two score columns, one per replicate "
                         f"(e.g. --replicate-cols seed0,seed1,seed2)")
    missing = [c for c in group if c not in scores]
    if missing:
        raise AuditError(f"--replicate-cols names {', '.join(missing)}, not a score column of the audit")
    return group


def _topk_rows(summary: dict[str, Any], true: np.ndarray, truth: Column, topk: Sequence[int | float],
               n: int) -> list[dict[str, Any]]:
    rows = []
    for spec in topk:
        k, label = resolve_k(spec, n)
        rows.append({"label": label, "k": k, "oracle_best": truth.restore(float(true.max())),
                     "random_expected_best": truth.restore(summary["random_expected_best"][label]),
                     "supernet_best": truth.restore(summary[f"supernet_best@{label}"]["value"]),
                     **{name: summary[f"{name}@{label}"]["value"] for name in ("precision_at_k",
                                                                                 "precision_at_bottom_k")}})
    return rows


def replicated_results(joined: Joined, group: Sequence[Column], others: Sequence[Column], free: Sequence[Column],
                       truths: Sequence[Column], topk: Sequence[int | float], n_boot: int,
                       seed: int, advance: Callable[[int], object] | None = None) -> list[dict[str, Any]]:
    """One replicated result per (truth, BN policy): the group's figures and its verdicts against `others` and
    `free` (module docstring); `advance(n)` counts the bootstraps of each (a progress bar's update)."""
    results = []
    members = tuple(c.name for c in group)
    for truth in truths:
        for policy in dict.fromkeys(joined.table[BN_POLICY]):
            rows = joined.table[joined.table[BN_POLICY] == policy]
            keys = tuple(rows["key"])
            true = truth.orient(rows[TRUTH + truth.name])
            scores = np.stack([c.orient(rows[SCORE + c.name]) for c in group])
            supernet = ScoreSet(GROUP, keys, scores, members)
            ks = fitting(topk, len(keys))
            summary = replicate_summary(supernet, true, topk=ks, n_boot=n_boot, seed=seed)
            fixed = [ScoreSet(short_name(c.name), keys, c.orient(rows[SCORE + c.name])[None, :], (c.name,), fixed=True)
                     for c in (*others, *free)]
            entries = baseline_entries(fixed, supernet, true, ks, n_boot, seed)
            results.append({
                "truth": truth.name, BN_POLICY: policy, "members": list(members), "replicates": len(members),
                "n_archs": len(keys), "mean_supernet_acc": float(np.mean([c.restore(s.mean())
                                                                          for c, s in zip(group, scores)])),
                **headline(summary),
                "replicated": summary, "topk": _topk_rows(summary, true, truth, ks, len(keys)),
                "baselines": [{"kind": FREE if c in free else OTHER, **e}
                              for c, e in zip((*others, *free), entries)]})
            if advance:
                advance(len(CORRELATIONS) * (len(group) + len(fixed)))
    return results


def replicated_verdicts(results: Sequence[dict[str, Any]]) -> list[str]:
    """The group's verdict lines per (truth, BN policy), as `wsnas analyze` prints a replicate group's."""
    lines = []
    for r in results:
        lines.append(f"[audit] {_where(r)}: replicate columns {', '.join(r['members'])} on {r['n_archs']} archs")
        lines.append(f"  {replicated_head(r)}")
        lines += [f"  {line}" for line in (*group_lines(r), *baseline_verdicts(r, "the replicate group"))]
    return lines


def format_replicated_results(results: Sequence[dict[str, Any]]) -> str:
    """The replicated tables of every (truth, BN policy)."""
    return "\n".join(format_replicated(r, title=_where(r)) for r in results)


def _where(result: dict[str, Any]) -> str:
    """'truth T' or 'truth T, bn_policy P': which pair of the audit a result is."""
    policy = result[BN_POLICY]
    return f"truth {result['truth']}" + (f", bn_policy {policy}" if policy != NO_POLICY else "")
