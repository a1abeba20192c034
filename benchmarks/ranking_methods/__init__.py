"""Ranking-improving methods for the uniform supernet (issue 18), one torch-free record each: the sibling registry
of the search methods' (wsnas.benchmarks.search_methods).

A method runs on the one uniform supernet module, never on a copy of a network: a training-time method is a
config option of supernet training (its torch half in wsnas.supernets), a scoring-time method is a score set the
analysis computes from the per-checkpoint scores. Its record (record.py) says what it is, its source and published
setting, what it costs and whether it uses truth labels.

    record.py               RankingMethod
    landmarks.py            landmark regularisation (train.landmarks): the record, the landmarks' draw and file
    checkpoint_ensemble.py  checkpoint ensembles (eval.ensemble_epochs): the record
    fewshot.py              few-shot NAS (train.fewshot_slot): the record
    distill.py              ranking distillation from a zero-cost proxy (train.distill_teacher): the record

Adding a method: a record module here (its name in BUILT_IN) and its implementation; a plugin calls
register_ranking_method.
"""
from __future__ import annotations

from wsnas.benchmarks.ranking_methods.record import RankingMethod
from wsnas.core.errors import WsnasError
from wsnas.core.records import Records

BUILT_IN = ("landmarks", "checkpoint_ensemble", "fewshot", "distill")

_RECORDS: Records[RankingMethod] = Records(__name__, BUILT_IN)


def register_ranking_method(record: RankingMethod) -> None:
    """Make a ranking method known to wsnas under record.name."""
    _RECORDS.register(record)


def ranking_methods() -> list[RankingMethod]:
    """Every registered method's record, the built-in ones first."""
    return list(_RECORDS.all().values())


def ranking_method(name: str) -> RankingMethod:
    """The record of method `name`; a WsnasError naming the registered ones otherwise."""
    if name not in _RECORDS.all():
        raise WsnasError(f"unknown ranking method {name!r}; choose one of {', '.join(_RECORDS.all())}")
    return _RECORDS.all()[name]
