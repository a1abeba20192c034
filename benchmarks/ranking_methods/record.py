"""The record of a ranking-improving method (no torch): what it is, where it comes from, its published setting,
what it costs and whether it uses truth labels. One module of this package holds one method's record."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RankingMethod:
    """Everything wsnas knows of one method that improves a uniform supernet's ranking.

    name          its name (`wsnas protocol-study --protocols NAME` where it is a training protocol)
    summary       what it does, in one sentence
    source        the publication it comes from
    published     its published setting, as the paper states it
    config        the config keys that turn it on and tune it, and where it is implemented
    cost          what it costs beyond the plain supernet, and how wsnas counts it
    truth_labels  whether it reads ground-truth labels of some archs (then those archs are never scored, and the
                  analysis says how many labels it used)
    """

    name: str
    summary: str
    source: str
    published: str
    config: str
    cost: str
    truth_labels: bool = False
