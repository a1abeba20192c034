"""Paired comparison of two score sets (`wsnas compare A B`): is score set A's ranking better than B's, on the
same archs? (no torch)

A and B are score sets named as DIR[@key=value,...]: DIR is a run or a replicate group, and the optional selector
picks one of its results by epoch, bn_policy, finetune_batches or score_set, or by any setting of its score sets
(a dotted key of RUN/score_sets.json's settings, e.g. runtime.precision=bfloat16 or calibration.batches=8); by
default the newest epoch and the score set `wsnas studies` would use (the run's own evaluation), chosen on the
first member of a group and the same for every member; score_set=ensemble:E1+E2+... selects the checkpoint
ensemble of those epochs (wsnas.analysis.ensembles), computed here from the per-checkpoint scores. B may also be
`baseline:NAME`, a free baseline on A's archs (params, flops, or a zero-cost proxy of A's proxies.csv). Examples:

    wsnas compare runs/nb201-cpu@bn_policy=recalibrate runs/nb201-cpu@bn_policy=inherit
    wsnas compare runs/nb201-unique runs/nb201-cpu             # two samplers, two replicate groups
    wsnas compare runs/nb201-cpu@finetune_batches=5 runs/nb201-cpu@finetune_batches=0
    wsnas compare runs/nb201-cpu baseline:params
    wsnas compare runs/nb201-cpu@runtime.precision=bfloat16 runs/nb201-cpu@runtime.precision=off
    wsnas compare runs/nb201-cpu@score_set=ensemble:10+15+20 runs/nb201-cpu

The statistics are the difference A - B of Kendall, Spearman and the top-k figures (analysis/replicated.py:
paired over archs; over replicates tested on the per-replicate differences when both sides are the same supernets
or one is a free baseline, Welch-style for two independent groups; a 95% CI (t on the net seed part, normal on the
arch parts), a two-sided p-value, the smallest difference detectable at 80% power and the replicates that would
detect the observed one), on the archs both scored.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from wsnas.analysis.ensembles import ensemble_epochs
from wsnas.analysis.free_baselines import baselines
from wsnas.analysis.inference import p_text
from wsnas.analysis.metrics import MIN_ARCHS
from wsnas.analysis.replicated import ScoreSet, paired_difference, verdict
from wsnas.analysis.studies.inputs import choose_score_set
from wsnas.analysis.verdicts import Tables, load_tables, supernet_set
from wsnas.core.errors import WsnasError
from wsnas.core.run_files import FINETUNE, SCORE_SET
from wsnas.core.runs import RunDir
from wsnas.core.score_sets import flatten_settings, read_score_sets

SELECTORS = {"epoch": int, "bn_policy": str, FINETUNE: int, SCORE_SET: str}
BASELINE_PREFIX = "baseline:"


class CompareError(WsnasError):
    """Two score sets that cannot be compared as asked."""


@dataclass(frozen=True)
class Side:
    """One side of a comparison: its score set and where it comes from."""

    spec: str
    scores: ScoreSet
    description: str
    data: Tables | None


def parse_spec(spec: str) -> tuple[Path, dict[str, Any]]:
    """DIR[@key=value,...] -> (DIR, {key: value}); a dotted key selects by a score set's settings."""
    path, _, selector = spec.partition("@")
    chosen: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in selector.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not (key in SELECTORS or "." in key):
            raise CompareError(f"score set {spec!r}: {item!r} is not KEY=VALUE with KEY one of "
                               f"{', '.join(SELECTORS)} or a setting of RUN/score_sets.json (e.g. runtime.precision, "
                               f"calibration.batches); e.g. {path}@bn_policy=inherit,epoch=20")
        try:
            chosen[key] = SELECTORS[key](value) if key in SELECTORS else value
        except ValueError:
            raise CompareError(f"score set {spec!r}: {key} needs a whole number, got {value!r}") from None
    return Path(path), chosen


def _sets_with(run: RunDir, settings: dict[str, str]) -> set[str]:
    """The run's score sets whose settings (flattened, as text) hold every `settings` value."""
    found = set()
    for set_id, entry in read_score_sets(run.path).items():
        flat = flatten_settings(entry.get("settings") or {})
        if all(str(flat.get(k)) == v for k, v in settings.items()):
            found.add(set_id)
    return found


def load_side(spec: str, metric: str | None, mirror: str | None) -> Side:
    """The score set `spec` names (see the module docstring)."""
    path, chosen = parse_spec(spec)
    epochs = ensemble_epochs(str(chosen.get(SCORE_SET, "")))
    data = load_tables(path, metric, mirror, ensembles=[epochs] if epochs else [])
    tables: list[pd.DataFrame] = []
    columns = {k: v for k, v in chosen.items() if k in SELECTORS}
    settings = {k: v for k, v in chosen.items() if k not in SELECTORS}
    for run, table in zip(data.runs, data.tables):
        for key, value in columns.items():
            table = table[table[key] == value]
        if settings:
            table = table[table[SCORE_SET].isin(_sets_with(run, settings))]
        if not tables and "epoch" not in chosen and not table.empty:
            columns["epoch"] = int(table["epoch"].max())  # the first member's newest epoch, for every member
            table = table[table["epoch"] == columns["epoch"]]
        if not tables and SCORE_SET not in chosen and not table.empty:
            columns[SCORE_SET] = choose_score_set(run, data.cfg, table)  # one score set for every member
            table = table[table[SCORE_SET] == columns[SCORE_SET]]
        if table.empty:
            raise CompareError(f"score set {spec!r}: {run.path} has no scores with "
                               f"{', '.join(f'{k}={v}' for k, v in {**chosen, **columns}.items())}; it holds "
                               f"{_holdings(data.tables[0])}")
        tables.append(table)
    first = tables[0].iloc[0]
    description = (f"{path} ({len(tables)} replicate{'s' * (len(tables) > 1)}, epoch {first['epoch']}, "
                   f"bn_policy={first['bn_policy']}, finetune_batches={first[FINETUNE]}, score set "
                   f"{first[SCORE_SET]})")
    return Side(spec, supernet_set(tables, data.members, label=spec), description, data)


def _holdings(table: pd.DataFrame) -> str:
    combos = table[["epoch", "bn_policy", FINETUNE, SCORE_SET]].drop_duplicates()
    return "; ".join(f"epoch={e}, bn_policy={b}, finetune_batches={f}, score_set={s}"
                     for e, b, f, s in combos.itertuples(index=False, name=None))


def baseline_side(spec: str, other: Side) -> Side:
    """baseline:NAME on the archs of `other`."""
    name = spec[len(BASELINE_PREFIX):]
    assert other.data is not None
    found = {b.label: b for b in baselines(other.data.cfg.space, other.data.directory, other.scores.keys,
                                           other.data.truth)}
    if name not in found:
        raise CompareError(f"no free baseline {name!r} for {other.spec}; available: {', '.join(found) or 'none'} "
                           f"(zero-cost proxies come from `wsnas proxies {other.data.directory}`)")
    return Side(spec, found[name], f"free baseline {name} on the same archs", None)


def compare(spec_a: str, spec_b: str, *, metric: str | None = None, mirror: str | None = None,
            n_boot: int | None = None, seed: int | None = None) -> dict[str, Any]:
    """The comparison document: both sides, the archs they share, and the paired differences."""
    if spec_a.startswith(BASELINE_PREFIX):
        raise CompareError(f"put the supernet first: `wsnas compare RUN {spec_a}`")
    a = load_side(spec_a, metric, mirror)
    b = baseline_side(spec_b, a) if spec_b.startswith(BASELINE_PREFIX) else load_side(spec_b, metric, mirror)
    assert a.data is not None
    if b.data is not None:
        _check_same_truth(a.data, b.data)
    keys = sorted(set(a.scores.keys) & set(b.scores.keys))
    if len(keys) < MIN_ARCHS:
        raise CompareError(f"{spec_a} and {spec_b} share {len(keys)} archs ({len(a.scores.keys)} and "
                           f"{len(b.scores.keys)} scored); a paired comparison needs the same archs: score the same "
                           f"sample (eval.n_archs, eval.seed) in both")
    a_set, b_set = a.scores.select(keys), b.scores.select(keys)
    analysis = a.data.cfg.analysis
    n_boot = n_boot or analysis.n_boot
    seed = analysis.seed if seed is None else seed
    truth = a.data.truth.values(a.data.metric, keys)
    differences = paired_difference(a_set, b_set, truth, topk=analysis.topk, n_boot=n_boot, seed=seed)
    return {"a": {"spec": spec_a, "description": a.description, "archs": len(a.scores.keys)},
            "b": {"spec": spec_b, "description": b.description, "archs": len(b.scores.keys)},
            "space": a.data.cfg.space, "truth": a.data.metric, "n_archs": len(keys), "n_boot": n_boot,
            "bootstrap_seed": seed, "paired_replicates": a_set.members == b_set.members,
            "differences": differences}


def _check_same_truth(a: Tables, b: Tables) -> None:
    if a.cfg.space != b.cfg.space or a.metric != b.metric or a.truth.source != b.truth.source:
        raise CompareError(f"{a.directory} ({a.cfg.space}, truth {a.metric}) and {b.directory} ({b.cfg.space}, "
                           f"truth {b.metric}) are not measured against the same ground truth; compare score sets "
                           f"of one space with --truth set for both")


DESIGNS = {"same supernets": "paired (the same supernets)",
           "fixed B": "B is a fixed scorer (no training seed), tested on A's per-replicate differences",
           "fixed A": "A is a fixed scorer (no training seed), tested on B's per-replicate differences",
           "independent": "two independent groups (seed parts combined Welch-style)"}


def format_comparison(doc: dict[str, Any]) -> str:
    kendall = doc["differences"]["kendall"]
    lines = [f"A = {doc['a']['description']}", f"B = {doc['b']['description']}",
             f"{doc['n_archs']} archs in common (A scored {doc['a']['archs']}, B {doc['b']['archs']}); truth "
             f"{doc['truth']}; replicates: {DESIGNS.get(kendall.get('design'), 'drawn independently')}"
             f"; {doc['n_boot']} bootstrap resamples of the archs; interval: {kendall.get('interval', 'bootstrap')}",
             verdict(kendall, "A", "B"),
             f"  {'statistic':<30} {'A':>8} {'B':>8} {'A - B':>8}  {'95% CI':<18} {'p':>8} {'detectable':>10}"]
    for name, d in doc["differences"].items():
        if math.isnan(d["difference"]):
            lines.append(f"  {name:<30} undefined")
            continue
        lines.append(f"  {name:<30} {d['a']:>8.3f} {d['b']:>8.3f} {d['difference']:>+8.3f}  "
                     f"[{d['ci_low']:+.3f}, {d['ci_high']:+.3f}] {p_text(d['p_value']).removeprefix('p=').removeprefix('p'):>8} "
                     f"{d.get('detectable', math.nan):>10.3f}")
    lines.append("  detectable: the smallest true difference this design detects at 80% power (level 0.05)")
    return "\n".join(lines)
