"""The bias and operator studies of an audit directory (no torch).

An audit holds one score per arch (and BN policy), so of `wsnas studies` only the studies that need the space's
features apply: `bias` (size against truth and score) and `operators` (op counts and per-slot ops). They run on
one (score, truth) pair, both oriented so that higher is better (wsnas.analysis.direction), with the features of
the audit's --features table (joined.csv's feature:<name> columns: wsnas.analysis.audit.features), else those of
its registered space (built in, or a plugin's: the audit saved its --plugin list). Their documents are those of a
run's studies, written to AUDIT/studies/<name>.json.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from wsnas.analysis.audit.features import features_of
from wsnas.analysis.audit.tables import BN_POLICY, JOINED, SCORE, TRUTH
from wsnas.analysis.direction import Column
from wsnas.analysis.studies import registry
from wsnas.analysis.studies.inputs import StudyError, StudyInput, write_study
from wsnas.analysis.studies.record import StudyOptions
from wsnas.benchmarks.groundtruth import GroundTruth
from wsnas.benchmarks.registry import space_names
from wsnas.core.run_files import FINETUNE, SCORE_SET, TEXT_COLUMNS
from wsnas.core.runs import RunDir
from wsnas.core.score_sets import legacy_score_set


def audit_columns(tree: dict, side: str) -> list[Column]:
    """The score or truth Columns an audit's config.json records."""
    record = (tree.get("audit") or {}).get("scores" if side == "score" else "truth") or {}
    return [Column.from_dict(c) for c in record.get("columns") or []]


def _pick(columns: list[Column], name: str | None, side: str, directory: Path) -> Column:
    if not columns:
        raise StudyError(f"{directory} is an audit made by an older wsnas (its config.json lists no columns); "
                         f"rerun `wsnas audit` into a new --out to study it")
    if name is None:
        return columns[0]
    for column in columns:
        if column.name == name:
            return column
    raise StudyError(f"the audit {directory} has no {side} column {name!r}; its {side}s: "
                     f"{', '.join(c.name for c in columns)} (--{side})")


def read_joined(directory: Path) -> pd.DataFrame:
    path = directory / JOINED
    if not path.is_file():
        raise StudyError(f"{directory} is an audit without {JOINED} (made by an older wsnas); rerun `wsnas audit` "
                         f"into a new --out")
    # keys and BN policies as written ('n/a' is a policy, not a missing value); empty cells (missing seeds) NaN
    return pd.read_csv(path, dtype={**TEXT_COLUMNS, BN_POLICY: str}, keep_default_na=False, na_values=[""])


def audit_study_input(directory: str | Path, score: str | None = None,
                      truth: str | None = None) -> tuple[StudyInput, Column]:
    """One (score, truth) pair of an audit as a StudyInput (supernet_acc and truth oriented: higher = better; the
    first BN policy when the scores had several), and its score Column."""
    run = RunDir(directory)
    tree = run.saved_tree()
    cfg = run.config()  # imports the audit's plugins
    joined = read_joined(run.path)
    features = features_of(joined)
    if features is None and cfg.space not in space_names():
        raise StudyError(f"the audit {run.path} was made with space {cfg.space!r}, which is not registered, and "
                         f"without --features, so its archs have no features; audit with --features F.csv (the "
                         f"archs' params_M, flops_M, n_ops:<op>, edge:<slot> columns) or --space NAME (a space of "
                         f"`wsnas benchmarks list`, or your own: --plugin FILE --space NAME)")
    s = _pick(audit_columns(tree, "score"), score, "score", run.path)
    t = _pick(audit_columns(tree, "truth"), truth, "truth", run.path)
    frame = pd.DataFrame({"key": joined["key"], "epoch": 0, BN_POLICY: joined[BN_POLICY], FINETUNE: 0,
                          "supernet_acc": s.orient(joined[SCORE + s.name]), "truth": t.orient(joined[TRUTH + t.name])})
    policy = sorted(frame[BN_POLICY].unique())[0]
    frame = frame.assign(**{SCORE_SET: [legacy_score_set(p, 0) for p in frame[BN_POLICY]]})
    unique = frame.drop_duplicates("key")
    table = GroundTruth(pd.DataFrame({"key": unique["key"], "index": range(len(unique)),
                                      t.describe(): unique["truth"]}),
                        cfg.space, f"the audit's truth table ({t.describe()})")
    return StudyInput(run, cfg, table, t.describe(), frame, legacy_score_set(policy, 0), features), s


def audit_study_docs(directory: str | Path, names: Sequence[str], score: str | None = None,
                     truth: str | None = None) -> dict[str, dict]:
    """{name: document} of the studies `names` (bias, operators) on an audit's pair, each naming its score."""
    inp, column = audit_study_input(directory, score, truth)
    return {name: {**registry.study(name).compute([inp], StudyOptions()), "score": column.describe()} for name in names}


def run_audit_studies(directory: str | Path, names: Sequence[str] | None, *, score: str | None = None,
                      truth: str | None = None) -> dict[str, Path]:
    """Write AUDIT/studies/<name>.json for `names` (default: bias and operators); {name: path}."""
    audit_studies = registry.for_audit()
    chosen = list(names) if names else list(audit_studies)
    unknown = [n for n in chosen if n not in registry.computed()]
    if unknown:
        raise StudyError(f"unknown study {', '.join(unknown)} in --only; studies of an audit: "
                         f"{', '.join(audit_studies)}")
    other = [n for n in chosen if n not in audit_studies]
    if other:
        why = {n: registry.study(n).not_for_audit for n in other}
        raise StudyError(f"{directory} is an audit: {'; '.join(f'{n} does not apply ({why[n]})' for n in other)}; "
                         f"studies of an audit: {', '.join(audit_studies)}")
    docs = audit_study_docs(directory, chosen, score, truth)
    return {name: write_study(directory, doc) for name, doc in docs.items()}
