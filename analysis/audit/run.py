"""The audit behind `wsnas audit`: the ranking metrics of any space's scores against its ground truth, both tables made outside
wsnas (no torch).

Several score columns (a supernet's scores, proxies) and several truth columns (tasks, datasets, fidelities) are
audited in one go: every (score, truth) pair gets the figures of `wsnas analyze` (Kendall, Spearman, Pearson,
weighted and sparse Kendall with bootstrap CIs, regret, top-k and bottom-k), and the grid of pairs its Kendall
matrix and heat map. Each column says which way is better (`--lower-is-better`) and may carry a unit; every
figure follows (wsnas.analysis.direction). Per-seed truth columns (`--truth-seeds`, or `<truth>#seed<k>` columns)
give the seed-noise ceiling. With features that give them (a `--features` table, wsnas.analysis.audit.features,
else a registered `--space`'s), parameter count and FLOPs join as free baselines (score columns baseline:params,
baseline:flops), and the first score column is compared with every other score column and baseline by a paired
bootstrap on the same archs; those verdicts print first (wsnas.analysis.audit.baselines).

The tables are read and joined by wsnas.analysis.audit.tables (separator sniffing, line numbers, key
diagnostics). With a registered `--space` (built in, or a plugin's via `--plugin`) keys are canonicalised through
it, `--truth` may be omitted (the space's own ground truth), and its features serve `wsnas report` / `wsnas
studies` (bias and operator figures); a `--features` table serves them for any space. Each audit writes its own
directory, never another's: `--out DIR`, `--name NAME` (runs/audit-NAME) or a name derived from all inputs; a
directory that holds an audit of other inputs is refused. It holds config.json (the inputs: files with sha256,
columns, directions, units), metrics.json (one result per pair and BN policy), joined.csv (the matched archs with
every column) and is indexed into the results database.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import pandas as pd
from tqdm.auto import tqdm

from wsnas.analysis.audit.baselines import add_cost_baselines, audit_verdicts, compare_first
from wsnas.analysis.audit.features import FeatureSpec, add_features, check_features
from wsnas.analysis.audit.replicates import check_group, replicated_results, replicated_verdicts
from wsnas.analysis.audit.tables import (BN_POLICY, JOINED, SCORE, SEED, TRUTH, AuditError, Joined, JoinSpec,
                                         Table, builtin_table, comma_list, examples, join_tables, read_table,
                                         separator)
from wsnas.analysis.direction import (Column, SummaryLabels, builtin_unit, decimals_for, default_tol,
                                      restore_result, significant_decimals, unit_from_name)
from wsnas.analysis.metrics import CORRELATIONS
from wsnas.analysis.outdirs import claim, digest, output_directory, stem
from wsnas.analysis.pair_grid import format_matrix, grid_from_results
from wsnas.analysis.score_summary import format_summary, summarise
from wsnas.benchmarks.groundtruth import SEED_MARK, GroundTruth
from wsnas.benchmarks.registry import get_space, space_names
from wsnas.benchmarks.sources import file_sha256
from wsnas.core.atomic import write_json
from wsnas.core.plugins import normalise
from wsnas.core.run_files import CONFIG, FINETUNE, METRICS, SUPERNET_ACC
from wsnas.core.runs import RunDir, provenance

UNREGISTERED_SPACE = "custom"
KIND = "audit"
DEFAULT_SCORE, DEFAULT_TRUTH = SUPERNET_ACC, "accuracy"


@dataclass(frozen=True)
class AuditInputs:
    """What the user named: the tables, their columns, directions, units, tolerances and seeds (as given on the
    command line: COLUMN=VALUE entries; a column may be written score:NAME or truth:NAME to pick a side)."""

    scores: Path
    truth: Path | None = None  # None: the registered space's own ground truth
    key_col: str = "key"
    truth_key_col: str | None = None  # None: key_col (or the built-in table's 'key')
    score_cols: tuple[str, ...] = (DEFAULT_SCORE,)
    truth_cols: tuple[str, ...] = ()  # empty: 'accuracy', or the built-in table's first metric
    lower_is_better: tuple[str, ...] = ()
    units: tuple[str, ...] = ()  # COLUMN=UNIT
    sparse_tol: tuple[str, ...] = ()  # TOL (every truth) or TRUTH=TOL
    truth_seeds: tuple[str, ...] = ()  # COL,COL (the one truth) or TRUTH=COL,COL
    sep: str | None = None
    truth_sep: str | None = None  # None: sep
    space: str | None = None
    plugins: tuple[str, ...] = ()
    mirror: str | None = None
    replicate_cols: tuple[str, ...] = ()  # score columns that are replicates of one method (audit_replicates)
    drop_unmatched: bool = False  # audit the matched archs, list the scored ones without a truth row
    features: Path | None = None  # the archs' features (wsnas.analysis.audit.features); None: the space's, if any
    features_key_col: str | None = None  # None: key_col


@dataclass(frozen=True)
class Plan:
    """The inputs resolved: tables read, columns with their directions and units, the space."""

    spec: JoinSpec
    scores: tuple[Column, ...]
    truths: tuple[Column, ...]
    space: str  # the label stored with the audit
    registered: bool
    truth_source: str
    baselines: tuple[Column, ...] = ()  # free baselines audited as extra score columns (audit_baselines)
    features: FeatureSpec | None = None  # the --features table

    @property
    def all_scores(self) -> tuple[Column, ...]:
        """The score columns of the scores table, then the free baselines."""
        return self.scores + self.baselines


@dataclass(frozen=True)
class AuditResult:
    out_dir: Path
    metrics: dict[str, Any]
    joined: Joined
    plan: Plan
    notes: tuple[str, ...] = field(default_factory=tuple)


# ----------------------------------------------------------------------------------------- column options

def _assignments(entries: Sequence[str], option: str, bare: str | None) -> dict[str, str]:
    """COLUMN=VALUE entries as {column: value}; a bare VALUE is filed under `bare` (None: not allowed)."""
    out = {}
    for entry in entries:
        column, sep, value = entry.rpartition("=")
        if not sep:
            if bare is None:
                raise AuditError(f"{option} {entry!r} must look like COLUMN=VALUE, e.g. {option} val_loss=nats")
            column, value = bare, entry
        out[column.strip()] = value.strip()
    return out


def _side(name: str, scores: Sequence[str], truths: Sequence[str], option: str) -> list[tuple[str, str]]:
    """The (side, column) pairs an option entry names: 'score:X', 'truth:X', or X on whichever side has it."""
    for side, prefix, names in (("score", SCORE, scores), ("truth", TRUTH, truths)):
        if name.startswith(prefix):
            if name[len(prefix):] not in names:
                break
            return [(side, name[len(prefix):])]
    found = [(side, name) for side, names in (("score", scores), ("truth", truths)) if name in names]
    if not found:
        raise AuditError(f"{option} names {name!r}, which is neither a --score-col ({', '.join(scores)}) nor a "
                         f"--truth-col ({', '.join(truths)}); name one of those (score:NAME or truth:NAME picks a "
                         f"side)")
    return found


def _tolerance(text: str, column: str) -> float:
    try:
        tol = float(text)
    except ValueError:
        tol = math.nan
    if not (math.isfinite(tol) and tol >= 0):
        raise AuditError(f"--sparse-tol {column}={text!r} is not a number >= 0; give the tolerance in the truth's "
                         f"units, e.g. --sparse-tol {column}=0.01 (0: none)")
    return tol


def resolve_columns(inputs: AuditInputs, truth_cols: Sequence[str],
                    builtin: bool) -> tuple[tuple[Column, ...], tuple[Column, ...]]:
    """The score and truth Columns: direction, unit (given, else from the name; built-in tables: % for accuracy
    columns) and for truths the sparse tolerance (given, else default_tol of the unit)."""
    scores = list(dict.fromkeys(inputs.score_cols))
    truths = list(dict.fromkeys(truth_cols))
    lower: set[tuple[str, str]] = set()
    for name in comma_list(inputs.lower_is_better):
        lower.update(_side(name, scores, truths, "--lower-is-better"))
    units: dict[tuple[str, str], str] = {}
    for name, unit in _assignments(inputs.units, "--unit", None).items():
        units.update({found: unit for found in _side(name, scores, truths, "--unit")})
    tols = _assignments(inputs.sparse_tol, "--sparse-tol", "")
    for name in tols:
        if name and name not in truths:
            raise AuditError(f"--sparse-tol names {name!r}, which is not a --truth-col ({', '.join(truths)})")
    unit_of = builtin_unit if builtin else unit_from_name

    def truth_column(name: str) -> Column:
        unit = units.get(("truth", name), unit_of(name))
        given = tols.get(name, tols.get(""))
        return Column(name, ("truth", name) in lower, unit,
                      _tolerance(given, name or "TRUTH") if given is not None else default_tol(unit))

    score_columns = tuple(Column(n, ("score", n) in lower, units.get(("score", n), unit_from_name(n)))
                          for n in scores)
    return score_columns, tuple(truth_column(n) for n in truths)


def resolve_seeds(inputs: AuditInputs, truths: Sequence[str], present: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Per truth column, its per-seed columns: --truth-seeds, else the table's '<truth>#seed<k>' columns."""
    given = _assignments(inputs.truth_seeds, "--truth-seeds", truths[0] if len(truths) == 1 else None)
    for name in given:
        if name not in truths:
            raise AuditError(f"--truth-seeds names {name!r}, which is not a --truth-col ({', '.join(truths)}); write "
                             f"--truth-seeds TRUTH=SEED_COL,SEED_COL when there are several truths")
    seeds = {}
    for truth in truths:
        if truth in given:
            seeds[truth] = tuple(comma_list([given[truth]]))
        else:
            prefix = truth + SEED_MARK
            found = [c for c in present if c.startswith(prefix) and c[len(prefix):].isdigit()]
            seeds[truth] = tuple(sorted(found, key=lambda c: int(c[len(prefix):])))
    return seeds


def parse_topk(text: str) -> tuple[int | float, ...]:
    """'1,10,1%,10%' -> (1, 10, 0.01, 0.1): whole counts, and fractions as 'x%' or a number in (0, 1)."""
    specs: list[int | float] = []
    for part in comma_list([text]):
        try:
            value = float(part[:-1]) / 100 if part.endswith("%") else float(part)
        except ValueError:
            value = math.nan
        whole = not part.endswith("%") and value >= 1 and value == int(value)
        if whole:
            specs.append(int(value))
        elif 0 < value <= 1:
            specs.append(value)
        else:
            raise AuditError(f"--topk {text!r}: {part!r} is neither a whole count >= 1 nor a fraction (a number in "
                             f"(0, 1) or a percentage); e.g. --topk 1,10,1%,10%")
    if not specs:
        raise AuditError(f"--topk {text!r} names no k; e.g. --topk 1,10,1%,10%")
    return tuple(dict.fromkeys(specs))


# ---------------------------------------------------------------------------------------------- planning

def plan_audit(inputs: AuditInputs) -> Plan:
    """Read both tables and resolve the columns (no figure computed yet)."""
    registered = inputs.space in space_names()
    space = inputs.space if registered else None
    scores = read_table(inputs.scores, "scores", "--scores", separator(inputs.sep))
    builtin = inputs.truth is None
    if builtin:
        if space is None:
            raise AuditError("--truth is missing: give the ground-truth CSV with --truth, or a registered --space "
                             f"whose own ground truth serves ({', '.join(space_names())}, or a plugin's space with "
                             f"--plugin FILE)")
        truth_gt = get_space(space).ground_truth(inputs.mirror)
        truth = builtin_table(truth_gt)
        truth_key_col = "key"
        truth_cols = inputs.truth_cols or (truth_gt.metrics()[0],)
        source = truth_gt.source
    else:
        truth = read_table(inputs.truth, "truth", "--truth", separator(inputs.truth_sep or inputs.sep))
        truth_key_col = inputs.truth_key_col or inputs.key_col
        truth_cols = inputs.truth_cols or (DEFAULT_TRUTH,)
        source = str(inputs.truth.resolve())
    score_columns, truth_columns = resolve_columns(inputs, truth_cols, builtin)
    if inputs.replicate_cols:
        check_group(inputs.replicate_cols, [c.name for c in score_columns])
    names = [c.name for c in truth_columns]
    seeds = resolve_seeds(inputs, names, list(truth.frame.columns))
    spec = JoinSpec(scores, truth, inputs.key_col, truth_key_col, tuple(c.name for c in score_columns),
                    tuple(names), seeds, space, inputs.drop_unmatched)
    features = None
    if inputs.features is not None:
        features = FeatureSpec(read_table(inputs.features, "features", "--features", separator(inputs.sep)),
                               inputs.features_key_col or inputs.key_col)
        check_features(features)
    return Plan(spec, score_columns, truth_columns, inputs.space or UNREGISTERED_SPACE, registered, source,
                features=features)


def _table_identity(table: Table, key_col: str) -> dict[str, Any]:
    """What identifies a table's contents: the file's sha256 (a built-in table: its source), key column and
    separator."""
    if table.path is None:
        return {"source": table.source, "key_col": key_col}
    return {"sha256": file_sha256(table.path), "key_col": key_col, "sep": table.sep}


def audit_identity(plan: Plan, topk: Sequence[int | float], n_boot: int, seed: int,
                   replicate_cols: Sequence[str] = ()) -> dict[str, Any]:
    """Everything an audit's numbers depend on; two audits with equal identities write equal directories."""
    spec = plan.spec
    return {**({"replicate_cols": list(replicate_cols)} if replicate_cols else {}),
            **({"drop_unmatched": True} if plan.spec.drop_unmatched else {}),
            **({"features": plan.features.identity()} if plan.features else {}),
            "scores": _table_identity(spec.scores, spec.key_col),
            "truth": _table_identity(spec.truth, spec.truth_key_col),
            "space": plan.space, "canonicalised": spec.space is not None,
            "score_columns": [c.to_dict() for c in plan.scores],
            "truth_columns": [c.to_dict() for c in plan.truths],
            "truth_seeds": {k: list(v) for k, v in spec.seed_cols.items()},
            "topk": list(topk), "n_boot": n_boot, "seed": seed}


def default_name(plan: Plan, identity: dict[str, Any]) -> str:
    """'<scores stem>-vs-<truth stem or space>-<8 hex of the identity>'."""
    truth = plan.spec.truth.path.stem if plan.spec.truth.path is not None else plan.space
    return f"{stem(plan.spec.scores.path.stem)}-vs-{stem(truth)}-{digest(identity)}"


# ----------------------------------------------------------------------------------------------- running

def _pair_frame(joined: Joined, score: Column, truth: Column) -> pd.DataFrame:
    """The rows summarise takes, both columns oriented (higher = better)."""
    t = joined.table
    return pd.DataFrame({"key": t["key"], "epoch": t["epoch"], BN_POLICY: t[BN_POLICY], FINETUNE: t[FINETUNE],
                         "supernet_acc": score.orient(t[SCORE + score.name]),
                         "truth": truth.orient(t[TRUTH + truth.name])})


def seed_truth(joined: Joined, truth: Column, n_seeds: int, space: str) -> GroundTruth | None:
    """The matched archs' oriented truth and per-seed runs as a GroundTruth (for compare's seed-noise ceiling);
    None with fewer than two seed columns."""
    if n_seeds < 2:
        return None
    t = joined.table.drop_duplicates("key")
    frame = {"key": t["key"].to_numpy(), "index": range(len(t)), truth.name: truth.orient(t[TRUTH + truth.name])}
    for k in range(n_seeds):
        frame[f"{truth.name}{SEED_MARK}{k}"] = truth.orient(t[f"{SEED}{truth.name}#{k}"])
    return GroundTruth(pd.DataFrame(frame), space, "the audit's truth table")


def pair_results(joined: Joined, plan: Plan, topk: Sequence[int | float], n_boot: int, seed: int,
                 bar: tqdm | None = None) -> list[dict]:
    """One summary per (score, truth, BN policy), computed on oriented columns and restored to their units (`bar`
    advances by one per correlation)."""
    results = []
    for score, truth in [(score, truth) for score in plan.all_scores for truth in plan.truths]:
        if bar is not None:
            bar.set_postfix_str(f"{score.name} vs {truth.name}")
        seeds = seed_truth(joined, truth, len(plan.spec.seed_cols.get(truth.name, ())), plan.space)
        entries = summarise(_pair_frame(joined, score, truth), topk=topk, n_boot=n_boot, seed=seed, truth=seeds,
                            metric=truth.name if seeds else None, tol=truth.sparse_tol,
                            step=bar.update if bar is not None else None)
        results += [{"score": score.name, "truth": truth.name, "score_direction": score.direction,
                     "truth_direction": truth.direction, "score_unit": score.unit, "truth_unit": truth.unit,
                     **restore_result(entry, score, truth)} for entry in entries]
    return results


def _bootstraps(plan: Plan, joined: Joined, group: Sequence[Column]) -> int:
    """How many correlation bootstraps the audit runs (its progress bar's total): every pair's, the first score
    column's comparisons and the replicate group's, each over every BN policy."""
    per_truth = len(CORRELATIONS) * joined.table[BN_POLICY].nunique()
    others = len(plan.all_scores) - 1
    rest = len(plan.all_scores) - len(group)
    return per_truth * len(plan.truths) * (len(plan.all_scores) + others + (len(group) + rest if group else 0))


def _check_topk(topk: Sequence[int | float], joined: Joined) -> None:
    smallest = int(joined.table.groupby(BN_POLICY).size().min())
    big = [k for k in topk if isinstance(k, int) and k > smallest]
    if big:
        raise AuditError(f"--topk asks for k = {examples(big)}, more than the {smallest} matched archs; give "
                         f"smaller counts or fractions (e.g. 10%)")


def run_audit(inputs: AuditInputs, *, out: str | Path | None = None, name: str | None = None, n_boot: int = 1000,
              seed: int = 0, topk: Sequence[int | float] = (1, 10, 0.01, 0.1), progress: bool = False) -> AuditResult:
    """Join, summarise every pair, and write the audit directory (see the module docstring)."""
    if n_boot < 1:
        raise AuditError(f"--n-boot {n_boot} must be at least 1 (bootstrap resamples), e.g. 1000")
    plan = plan_audit(inputs)
    joined = join_tables(plan.spec)
    if plan.features:
        joined = add_features(joined, plan.features, plan.spec.space)
    _check_topk(topk, joined)
    identity = audit_identity(plan, topk, n_boot, seed, inputs.replicate_cols)
    out_dir = output_directory(out, name, KIND, default_name(plan, identity))
    claim(out_dir, KIND, identity)
    joined, free, baseline_notes = add_cost_baselines(joined, plan.spec.space)
    plan = dataclasses.replace(plan, baselines=free)
    group = [c for c in plan.scores if c.name in inputs.replicate_cols]
    # on stderr, on a terminal only; it never changes a written file
    with tqdm(total=_bootstraps(plan, joined, group), desc="audit", unit="bootstrap", disable=None if progress else True,
              leave=False) as bar:
        results = pair_results(joined, plan, topk, n_boot, seed, bar)
        bar.set_postfix_str(f"{plan.scores[0].name} against the other columns")
        compare_first(joined, plan.scores, plan.baselines, plan.truths, results, topk, n_boot, seed, bar.update)
        replicated = []
        if group:
            bar.set_postfix_str("the replicate group")
            others = [c for c in plan.scores if c.name not in inputs.replicate_cols]
            replicated = replicated_results(joined, group, others, plan.baselines, plan.truths, topk, n_boot, seed,
                                            bar.update)
    notes = list(baseline_notes)
    notes += [f"{t}: one per-seed column ({cols[0]}); the seed-noise ceiling needs two"
              for t, cols in plan.spec.seed_cols.items() if len(cols) == 1]
    notes += [f"{t.name}: no sparse-Kendall tolerance for its units ({t.unit or 'none given'}); give one with "
              f"--sparse-tol {t.name}=TOL in those units" for t in plan.truths if t.sparse_tol is None]
    metrics = _write(out_dir, inputs, plan, joined, identity, results, topk, n_boot, seed, replicated)
    return AuditResult(out_dir, metrics, joined, plan, tuple(notes))


def _file_record(table: Table, key_col: str, columns: Sequence[Column]) -> dict[str, Any]:
    record: dict[str, Any] = {"key_col": key_col, "columns": [c.to_dict() for c in columns]}
    if table.path is not None:
        record.update(path=str(table.path.resolve()), sha256=file_sha256(table.path), sep=table.sep)
    else:
        record.update(path=None, sha256=None, source=table.source)
    return record


def _write(out_dir: Path, inputs: AuditInputs, plan: Plan, joined: Joined, identity: dict[str, Any],
           results: list[dict], topk: Sequence[int | float], n_boot: int, seed: int,
           replicated: list[dict]) -> dict[str, Any]:
    """Write joined.csv, config.json and metrics.json; the metrics (NaN where undefined; the file holds null)."""
    spec = plan.spec
    first = plan.truths[0].name
    config = {"space": plan.space, "plugins": [normalise(p) for p in inputs.plugins],
              "analysis": {"truth": first, "n_boot": n_boot, "seed": seed, "topk": list(topk)}}
    truth_record = _file_record(spec.truth, spec.truth_key_col, plan.truths)
    truth_record["seeds"] = {k: list(v) for k, v in spec.seed_cols.items()}
    audit = {"identity": identity, "scores": _file_record(spec.scores, spec.key_col, plan.scores),
             "truth": truth_record, "canonicalised_by_space": joined.canonicalised,
             "matched_archs": int(joined.table["key"].nunique()),
             "truth_rows_without_score": joined.truth_without_score,
             **({"dropped_unmatched": list(joined.dropped)} if joined.dropped else {}),
             **({"features": plan.features.record()} if plan.features else {})}
    metrics = {"kind": KIND, "space": plan.space, "truth": first, "score": plan.scores[0].name,
               "truth_source": plan.truth_source, "n_boot": n_boot, "bootstrap_seed": seed,
               "columns": {"scores": [{**c.to_dict(), **({"free_baseline": True} if c in plan.baselines else {})}
                                      for c in plan.all_scores],
                           "truths": [c.to_dict() for c in plan.truths]},
               "results": results, "config": config,
               **({"features": plan.features.columns} if plan.features else {}),
               **({"replicate_cols": list(inputs.replicate_cols), "replicated": replicated} if replicated else {})}
    out_dir.mkdir(parents=True, exist_ok=True)
    RunDir(out_dir).write_table(out_dir / JOINED, joined.table)
    write_json(out_dir / CONFIG, {"kind": KIND, "config": config, "audit": audit, "provenance": provenance()})
    write_json(out_dir / METRICS, metrics)
    return metrics


# ------------------------------------------------------------------------------------------------ output

def verdict_lines(metrics: dict[str, Any]) -> list[str]:
    """What an audit prints first: the replicate group's verdicts (--replicate-cols), then the first score
    column's against the free baselines and the other columns (does it beat counting parameters?)."""
    return [*replicated_verdicts(metrics.get("replicated", [])), *audit_verdicts(metrics)]


def format_audit(metrics: dict[str, Any]) -> str:
    """Every pair's table, then (with several pairs) the Kendall matrix of scores x truths per BN policy."""
    columns = {("score", c["name"]): c for c in metrics["columns"]["scores"]}
    columns.update({("truth", c["name"]): c for c in metrics["columns"]["truths"]})
    blocks = []
    for r in metrics["results"]:
        score = Column.from_dict(columns[("score", r["score"])])
        truth = Column.from_dict(columns[("truth", r["truth"])])
        labels = SummaryLabels(score.name, "score", score.unit, truth.unit, _decimals(r, "score"),
                               _decimals(r, "truth"))
        blocks.append(f"== score {score.describe()} vs truth {truth.describe()}\n"
                      + format_summary([r], truth.name, labels))
    scores = [c["name"] for c in metrics["columns"]["scores"]]
    truths = [c["name"] for c in metrics["columns"]["truths"]]
    if len(scores) * len(truths) > 1:
        for policy in dict.fromkeys(r[BN_POLICY] for r in metrics["results"]):
            grid = grid_from_results([r for r in metrics["results"] if r[BN_POLICY] == policy], scores, truths)
            where = f", bn_policy={policy}" if policy != "n/a" else ""
            blocks.append(f"== Kendall tau [95% CI] of every score (rows) against every truth (columns){where}\n"
                          + format_matrix(grid, corner="score \\ truth"))
    return "\n".join(blocks)


def _decimals(result: dict[str, Any], side: str) -> int:
    """Decimals for a pair's values: the score's mean to four significant digits, truth values from their spread
    in what metrics.json holds (mean, top-k values)."""
    if side == "score":
        return significant_decimals(result["mean_supernet_acc"])
    values = [result["mean_truth"]] + [t[c] for t in result["topk"] for c in ("supernet_best", "oracle_best",
                                                                              "random_expected_best")]
    return decimals_for(values)
