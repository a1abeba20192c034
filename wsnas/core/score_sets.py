"""Score sets: what identifies a supernet score beyond its arch and checkpoint (no torch).

A score depends on every setting of the evaluation that made it: the BN policy and its calibration batches, the
held-out images, the fine-tuning, the precision and memory format. Those settings are hashed into a short
`score_set` id that every row of a run's scores.csv carries; RUN/score_sets.json maps each id to its settings
(and the config and provenance of the evaluation that first wrote it). A rerun with other settings writes a new
score set beside the old one: two settings never mix in one statistic, and the description of existing scores is
never rewritten.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wsnas.core.atomic import write_json
from wsnas.core.errors import WsnasError

if TYPE_CHECKING:
    import pandas as pd

SCORE_SETS_FILE = "score_sets.json"
LEGACY = "legacy"  # the score set of a table made outside `wsnas evaluate` (an audit's), or written before score sets
ID_LENGTH = 10


class ScoreSetError(WsnasError):
    """A score-set file that cannot be read, or a score set that does not exist."""


def score_set_id(settings: dict[str, Any]) -> str:
    """The short id of a settings dict: the start of the sha256 of its canonical JSON."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:ID_LENGTH]


def legacy_score_set(bn_policy: Any, finetune_batches: Any) -> str:
    """The score set of a row written before score sets existed: its BN policy and fine-tuning were then all that
    set scores apart."""
    return f"{LEGACY}-{bn_policy}-ft{int(finetune_batches)}"


def with_score_set(table: "pd.DataFrame") -> "pd.DataFrame":
    """`table` with a score_set column: rows without one get legacy_score_set of their BN policy and fine-tuning."""
    if "score_set" in table.columns or not len(table.columns):
        return table
    n = len(table)
    policies = table["bn_policy"] if "bn_policy" in table.columns else ["n/a"] * n
    finetune = table["finetune_batches"].fillna(0) if "finetune_batches" in table.columns else [0] * n
    at = table.columns.get_loc("epoch") + 1 if "epoch" in table.columns else len(table.columns)
    table = table.copy()
    table.insert(at, "score_set", [legacy_score_set(p, f) for p, f in zip(policies, finetune)])
    return table


def read_score_sets(run_path: str | Path) -> dict[str, dict[str, Any]]:
    """{id: {"settings", ...}} of a run ({} when it has none yet)."""
    path = Path(run_path) / SCORE_SETS_FILE
    if not path.is_file():
        return {}
    try:
        sets = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ScoreSetError(f"{path} is corrupt ({exc}); restore it, or move scores.csv, shards/ and {path.name} "
                            f"away and rerun `wsnas evaluate {run_path}`") from None
    if not isinstance(sets, dict):
        raise ScoreSetError(f"{path} must map score-set ids to their settings; it was not written by wsnas")
    return sets


def register_score_set(run_path: str | Path, set_id: str, settings: dict[str, Any], **extra: Any) -> None:
    """Add a score set to RUN/score_sets.json unless it is there; an existing entry is never rewritten.

    The caller holds the run's scores lock (concurrent evaluations of one run add their sets one at a time).
    """
    sets = read_score_sets(run_path)
    if set_id in sets:
        if sets[set_id].get("settings") != json.loads(json.dumps(settings, default=str)):
            raise ScoreSetError(f"score set {set_id} of {run_path} is recorded with other settings than those that "
                                f"hash to it; {Path(run_path) / SCORE_SETS_FILE} was edited by hand: restore it")
        return
    sets[set_id] = {"settings": settings, **extra}
    write_json(Path(run_path) / SCORE_SETS_FILE, sets)


def settings_difference(a: dict[str, Any], b: dict[str, Any]) -> str:
    """'key: a -> b; ...' for the settings that differ (nested keys dotted)."""
    flat_a, flat_b = flatten_settings(a), flatten_settings(b)
    keys = sorted(set(flat_a) | set(flat_b))
    return "; ".join(f"{k}: {flat_a.get(k)!r} -> {flat_b.get(k)!r}" for k in keys if flat_a.get(k) != flat_b.get(k))


def flatten_settings(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested settings as {dotted key: value}."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(flatten_settings(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out
