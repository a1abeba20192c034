"""Every study, in the order `wsnas report` shows them (no torch).

Adding a study: write wsnas/analysis/studies/<name>.py with its computation, figure and RECORD (a Study), and add
its RECORD to BUILT_IN here (or, from a plugin, call register_study). A study that `wsnas studies` computes sets
RECORD.compute; one that trains or scores subnets also has a driver in wsnas/workflows/ and a command in
wsnas/commands/.
"""
from __future__ import annotations

from wsnas.analysis.studies import epochs, finetune, noise, operator_bias, pruning, size_bias, topk
from wsnas.analysis.studies.record import AUDIT, Study

BUILT_IN: tuple[Study, ...] = (epochs.RECORD, topk.RECORD, size_bias.RECORD, operator_bias.RECORD, pruning.RECORD,
                               finetune.RECORD, noise.RECORD)
_STUDIES: dict[str, Study] = {s.name: s for s in BUILT_IN}


def register_study(record: Study) -> None:
    """Make a study known to `wsnas studies` (when it has a compute) and `wsnas report` under record.name."""
    _STUDIES[record.name] = record


def unregister_study(name: str) -> None:
    """Forget a registered study (tests, and plugins that replace one)."""
    _STUDIES.pop(name, None)


def studies() -> tuple[Study, ...]:
    """Every registered study, the built-in ones first."""
    return tuple(_STUDIES.values())


def study(name: str) -> Study:
    """The record of study `name`."""
    return _STUDIES[name]


def computed() -> tuple[str, ...]:
    """The studies `wsnas studies` computes from a run's scores."""
    return tuple(s.name for s in _STUDIES.values() if s.compute is not None)


def for_audit() -> tuple[str, ...]:
    """The studies that apply to an audit directory."""
    return tuple(s.name for s in _STUDIES.values() if AUDIT in s.applies_to)
