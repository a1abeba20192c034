"""The ground truth of single archs, looked up by key (no torch): what a search logs of the archs it derives, and
what the reports rank its scores against. A look-up never feeds the search."""
from __future__ import annotations

import math

from wsnas.benchmarks.groundtruth import config_truth
from wsnas.benchmarks.space import SpaceError
from wsnas.core.config import Config

TRUTH_PREFIX = "truth:"  # an arch's truth on metric M is the column (or key) "truth:M" of the search's outputs


def truth_metric(cfg: Config) -> str:
    """The truth column a search reports first (analysis.truth)."""
    return cfg.analysis.truth or f"{cfg.data.dataset}/test"


class TruthLookup:
    """The ground truth of cfg's space, by arch key. Archs missing from the table (a partial table of your own,
    analysis.truth_file) and spaces without one read NaN."""

    def __init__(self, cfg: Config) -> None:
        try:
            self.table = config_truth(cfg)
        except SpaceError:
            self.table = None
        self.metric = truth_metric(cfg)
        self.metrics = self.table.metrics() if self.table is not None else [self.metric]
        self.source = self.table.source if self.table is not None else None
        self.known = set(self.table.frame["key"]) if self.table is not None else set()

    def values(self, key: str) -> dict[str, float]:
        """`truth:<metric>` -> the arch's value on every truth column (NaN where unknown)."""
        known = key in self.known
        return {f"{TRUTH_PREFIX}{m}": float(self.table.values(m, [key])[0]) if known else math.nan
                for m in self.metrics}

    def index(self, key: str) -> int | None:
        """The arch's benchmark index (None where unknown)."""
        return self.table.index_of(key) if key in self.known else None
