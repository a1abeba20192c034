"""Ground truth from NASLib's zero-cost benchmark samples (NAS-Bench-Suite-Zero): zc_nasbench101.json and
zc_nasbench301.json, 500 rows each, pinned here (NASLIB_SOURCES).

A file is {benchmark: {"cifar10": {KEY: {val_accuracy, params, flops, <9 proxies>}}}}, KEY being the space's
own spelling of an arch (NASLib's 56-tuple, or its compact DARTS genotype). Rows are parsed with the space
and merged per arch: NASLib drew raw specs, and distinct rows can be one arch (NAS-Bench-101's sample holds
292 distinct cells; its val_accuracy of a cell is one of the benchmark's three training runs, drawn anew for
each row, so the merged value is the mean of the rows' draws).

Columns: `key`, `index` (the arch's first row in the file), the space's truth metric (mean `val_accuracy`
of its rows, %), `params` and `flops` (the file's millions as raw counts; equal in every row of an arch) and
`naslib/<proxy>` (the mean of the rows' proxy scores, as NASLib computed them). Parsing takes well under a
second, so nothing is cached.
"""
from __future__ import annotations

import json
import os
from typing import Any

import pandas as pd

from wsnas.benchmarks.groundtruth import GroundTruth, GroundTruthError
from wsnas.benchmarks.sources import Source, resolve
from wsnas.benchmarks.space import ArchError, SearchSpace

PROXIES: tuple[str, ...] = ("synflow", "jacov", "snip", "grasp", "fisher", "grad_norm", "epe_nas", "l2_norm",
                            "plain")
PROXY_PREFIX = "naslib/"

_NASLIB = "https://raw.githubusercontent.com/automl/NASLib/9052f540457588af87633988cc1036bd2250419e/naslib/data/"
NASLIB_SOURCES: dict[str, Source] = {s.name: s for s in (
    # NASLib's zero-cost benchmark samples (NAS-Bench-Suite-Zero), branch `benchmarks`: 500 rows each.
    Source("zc_nasbench101", _NASLIB + "zc_nasbench101.json",
           "c34840bc9af68b6ebaa7f052e42c1749a9a737d7243078be2a5548052bc5a0c2",
           "groundtruth/nas-bench-101/zc_nasbench101.json", 259564),
    Source("zc_nasbench301", _NASLIB + "zc_nasbench301.json",
           "e47e258b95f63f85a6917dfc5814f5b42f793d7ef8f9a00e66689783e43affac",
           "groundtruth/nas-bench-301/zc_nasbench301.json", 240552),
)}


def load_naslib_sample(space: SearchSpace, source_name: str, benchmark: str, metric: str, title: str,
                       mirror: str | os.PathLike | None = None) -> tuple[GroundTruth, list[Any]]:
    """The table of `space` from the pinned NASLib file `source_name` (mirror or download), `val_accuracy`
    becoming column `metric`, and the distinct archs in order of first appearance (the evaluation pool)."""
    source = NASLIB_SOURCES[source_name]
    path = resolve(source, mirror)
    try:
        rows = json.loads(path.read_text())[benchmark]["cifar10"]
        merged: dict[str, dict[str, Any]] = {}
        for position, (text, entry) in enumerate(rows.items()):
            arch = space.parse(text)
            row = merged.setdefault(space.format(arch), {"arch": arch, "index": position, "rows": []})
            row["rows"].append(entry)
        columns: dict[str, Any] = {"key": list(merged), "index": [r["index"] for r in merged.values()]}
        groups = [r["rows"] for r in merged.values()]
        columns[metric] = [_mean(g, "val_accuracy") for g in groups]
        columns.update({name: [round(float(g[0][name]) * 1e6) for g in groups] for name in ("params", "flops")})
        columns.update({PROXY_PREFIX + p: [_mean(g, p) for g in groups] for p in PROXIES})
    except (ArchError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise GroundTruthError(f"{path} is not NASLib's {title} sample ({type(exc).__name__}: {exc}); re-fetch it "
                               f"from {source.url}") from exc
    truth = GroundTruth(pd.DataFrame(columns), space.name,
                        f"{title}: {metric} (mean of the file's val_accuracy rows), params, flops, NASLib's "
                        f"{len(PROXIES)} zero-cost proxies; {len(merged)} distinct archs in {len(rows)} rows "
                        f"({source.origin})")
    return truth, [r["arch"] for r in merged.values()]


def _mean(group: list[dict[str, Any]], field: str) -> float:
    return sum(float(entry[field]) for entry in group) / len(group)
