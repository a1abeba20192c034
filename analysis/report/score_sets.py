"""What tells a report's results apart (no torch): the label of each result of a run or a replicate group.

A result is one (epoch, score set); its identity is its epoch and every setting of its score set (from the members'
score_sets.json, wsnas.core.score_sets). Its label names the epoch and the BN policy (and the fine-tuning where there
is any), then every other setting whose value differs between the results of the report, so that no two results
read alike: two score sets at epoch 20 under BN recalibrate that differ only in their calibration batches read
"epoch 20, BN recalibrate, calibration batches 4" and "... calibration batches 16". A fingerprint of the scored data
is a check, not a setting: it is named only where it tells apart results whose settings are all equal.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from wsnas.core.errors import WsnasError
from wsnas.core.groups import runs_of
from wsnas.core.run_files import FINETUNE, SCORE_SET
from wsnas.core.score_sets import flatten_settings, read_score_sets

ALWAYS = ("epoch", "bn_policy", "finetune.batches")  # named in every label (fine-tuning where there is any)
FINGERPRINT = "fingerprint"  # a setting whose name ends so is a check of the data, not a setting


def report_score_sets(directory: Path) -> dict[str, dict[str, Any]]:
    """{score set id: its record} of every member of a run or a replicate group ({} where none are recorded)."""
    try:
        runs = runs_of(directory)
    except WsnasError:
        return {}
    sets: dict[str, dict[str, Any]] = {}
    for run in runs:
        try:
            sets.update(read_score_sets(run.path))
        except WsnasError:
            continue  # a corrupt score_sets.json: its results are labelled from metrics.json alone
    return sets


def identity(result: dict[str, Any], sets: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The epoch and every setting (dotted names) of a result (a checkpoint ensemble's: those of the score set it is
    built from, and its checkpoints); a result whose score set is not recorded (older runs) is known by its BN
    policy and fine-tuning alone."""
    ensemble = result.get("ensemble") or {}
    settings = (sets.get(str(ensemble.get("of_score_set", result.get(SCORE_SET)))) or {}).get("settings")
    if settings is None:
        batches = int(result.get(FINETUNE) or 0)
        settings = {"bn_policy": result["bn_policy"], "finetune": {"batches": batches} if batches else None}
    ident = {"epoch": result["epoch"], **flatten_settings(settings)}
    return ident | ({"checkpoint_ensemble": "+".join(map(str, ensemble["epochs"]))} if ensemble else {})


def differing(identities: Sequence[dict[str, Any]]) -> list[str]:
    """The settings named beyond ALWAYS: those whose values differ between `identities`, fingerprints only where
    they tell apart identities equal in everything else named."""
    keys = list(dict.fromkeys(k for i in identities for k in i))
    varied = [k for k in keys if k not in ALWAYS and len({repr(i.get(k)) for i in identities}) > 1]
    named = [k for k in varied if not k.endswith(FINGERPRINT)]
    checks = [k for k in varied if k.endswith(FINGERPRINT)
              and _count(identities, [*ALWAYS, *named, k]) > _count(identities, [*ALWAYS, *named])]
    return named + checks


def _count(identities: Sequence[dict[str, Any]], keys: Sequence[str]) -> int:
    """How many distinct value combinations `keys` take over `identities`."""
    return len({tuple(repr(i.get(k)) for k in keys) for i in identities})


def result_key(result: dict[str, Any]) -> tuple[int, str, int, str]:
    """(epoch, BN policy, fine-tuning batches, score set): what sets a result apart, as wsnas.core.run_files's
    GROUP_KEYS."""
    return int(result["epoch"]), str(result["bn_policy"]), int(result.get(FINETUNE) or 0), str(result.get(SCORE_SET))


def result_labels(results: Sequence[dict[str, Any]], sets: dict[str, dict[str, Any]]) -> dict[tuple, str]:
    """{result_key: label} of `results`, each naming every setting that differs between them (module docstring)."""
    identities = [identity(r, sets) for r in results]
    extra = differing(identities)
    return {result_key(r): _label(i, extra) for r, i in zip(results, identities)}


def _label(ident: dict[str, Any], extra: Sequence[str]) -> str:
    parts = [f"epoch {ident['epoch']}", f"BN {ident['bn_policy']}"]
    if ident.get("finetune.batches"):
        parts.append(f"fine-tuned {ident['finetune.batches']} batches")
    groups: dict[str, list[tuple[str, Any]]] = {}
    for key in extra:
        if ident.get(key) is not None:
            head, _, leaf = key.partition(".")
            groups.setdefault(head, []).append((leaf, ident[key]))
    for head, leaves in groups.items():
        name = _words(head)
        if len(leaves) == 1:
            leaf, value = leaves[0]
            parts.append(" ".join(p for p in (name, _words(leaves[0][0]), str(leaves[0][1])) if p))
        else:
            parts.append(f"{name} (" + ", ".join(f"{_words(leaf)} {value}" for leaf, value in leaves) + ")")
    return ", ".join(parts)


def _words(name: str) -> str:
    """A setting's dotted name as words: held_out.images -> held out images."""
    return name.replace("_", " ").replace(".", " ")
