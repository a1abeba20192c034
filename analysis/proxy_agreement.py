"""How well wsnas's zero-cost proxies agree with those a benchmark's publisher computed on the same archs (no
torch).

NASLib's samples of NAS-Bench-101 and NAS-Bench-301 (wsnas.benchmarks.naslib_truth) ship each arch's synflow,
jacov, snip and grad_norm (and others) as NAS-Bench-Suite-Zero computed them. `proxy_agreement` ranks both
computations of each proxy the two share and reports their rank agreement (Kendall tau-b and Spearman rho, ties
averaged) beside each one's Kendall with the truth, so a low agreement can be read: if both rank the truth alike,
they differ in detail (batch, initialisation); if one ranks it much better, the computations differ in kind.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from wsnas.analysis.metrics import kendall_tau, spearman_rho
from wsnas.benchmarks.groundtruth import GroundTruth
from wsnas.benchmarks.naslib_truth import PROXY_PREFIX
from wsnas.core.errors import WsnasError

COLUMNS = ("proxy", "n", "kendall", "spearman", "wsnas_kendall_truth", "published_kendall_truth")


def proxy_agreement(values: pd.DataFrame, truth: GroundTruth, metric: str) -> pd.DataFrame:
    """One row per proxy in both `values` (columns key + proxies, wsnas's) and the truth (`naslib/<proxy>`):
    the archs where both values are finite, the two computations' Kendall and Spearman, and each one's Kendall
    with the truth column `metric`."""
    shared = [p for p in values.columns if p != "key" and PROXY_PREFIX + p in truth.frame.columns]
    if not shared:
        raise WsnasError(f"the {truth.space} ground truth ({truth.source}) holds no published proxy among "
                         f"{', '.join(c for c in values.columns if c != 'key')}; its published ones are "
                         f"{_published(truth) or 'none'}")
    keys = values["key"].tolist()
    table = truth.frame.set_index("key")
    missing = [k for k in keys if k not in table.index]
    if missing:
        raise WsnasError(f"{len(missing)} arch(s) have no row in the {truth.space} ground truth, e.g. {missing[0]}; "
                         f"compute the proxies of the truth's archs")
    true = table.loc[keys, metric].to_numpy(dtype=float)
    rows: list[dict[str, Any]] = []
    for proxy in shared:
        ours = values[proxy].to_numpy(dtype=float)
        theirs = table.loc[keys, PROXY_PREFIX + proxy].to_numpy(dtype=float)
        ok = np.isfinite(ours) & np.isfinite(theirs) & np.isfinite(true)
        rows.append({"proxy": proxy, "n": int(ok.sum()), "kendall": kendall_tau(ours[ok], theirs[ok]),
                     "spearman": spearman_rho(ours[ok], theirs[ok]),
                     "wsnas_kendall_truth": kendall_tau(ours[ok], true[ok]),
                     "published_kendall_truth": kendall_tau(theirs[ok], true[ok])})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _published(truth: GroundTruth) -> str:
    return ", ".join(c[len(PROXY_PREFIX):] for c in truth.frame.columns if c.startswith(PROXY_PREFIX))


def agreement_markdown(table: pd.DataFrame, space: str, metric: str, settings: str) -> str:
    """The agreement table as markdown, with what each column means and how the values were computed."""
    lines = [f"# Zero-cost proxies: wsnas against the published values ({space})", "",
             f"wsnas's values: {settings}.", "",
             f"| proxy | archs | Kendall (wsnas, published) | Spearman | wsnas's Kendall with {metric} | "
             f"published Kendall with {metric} |", "|---|---|---|---|---|---|"]
    lines += [f"| {r.proxy} | {r.n} | {r.kendall:+.3f} | {r.spearman:+.3f} | {r.wsnas_kendall_truth:+.3f} | "
              f"{r.published_kendall_truth:+.3f} |" for r in table.itertuples(index=False)]
    lines += ["", "Archs where either value is not finite (a net whose output ignores its input) are left out. "
              "Kendall is tau-b, Spearman averages tied ranks."]
    return "\n".join(lines) + "\n"
