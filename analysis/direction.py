"""Metric direction and units of a score or truth column (no torch).

The ranking metrics (wsnas.analysis.metrics) assume higher = better. A column where lower is better (a loss, an
error, a latency) is *oriented* by negation before any figure is computed, and every figure given in the
column's own units (means, best, oracle, random pick) is turned back afterwards. So an audit of a loss is the
exact mirror of an audit of the negated loss: correlations (Kendall, Spearman, Pearson, weighted Kendall, whose
weights sit on the truly best, sparse Kendall) are equal, values in truth units are negated, ranks, precisions and
regret (a distance, never < 0) are equal. A correlation of +1 always means "orders the archs as the truth does".

Units come from the column name ("loss [nats]", "top1 (%)") or are given (`--unit COLUMN=UNIT`); a column without
one is printed without a unit, never as a percentage. The sparse-Kendall tolerance is in the truth's units: given
(`--sparse-tol`), else 0.1 for a column in % (0.1 percentage points, as benchmark accuracies are reported), else
none, and sparse Kendall is then left out with the reason.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from wsnas.analysis.metrics import SPARSE_TOL

HIGHER, LOWER = "higher", "lower"
PERCENT = "%"
_UNIT_IN_NAME = re.compile(r"[\[(]\s*([^\[\]()]+?)\s*[\])]\s*$")  # "loss [nats]", "top1 (%)"
# Built-in ground-truth metric columns are accuracies in % (wsnas.benchmarks.groundtruth): <dataset>/<split>,
# optionally @<fidelity> and #seed<k>.
_BUILTIN_ACCURACY = re.compile(r"^[^/]+/(train|valid|test|standalone)(@[^#]+)?(#seed\d+)?$")
# Values in truth units that a summary result holds (compare.summarise); the rest are orientation-free.
_RESULT_VALUES = ("mean_truth",)
_TOPK_VALUES = ("supernet_best", "random_expected_best", "oracle_best")


@dataclass(frozen=True)
class Column:
    """One score or truth column: its name in its table, which way is better, its unit, and for a truth the
    sparse-Kendall tolerance (in its units; None = none known)."""

    name: str
    lower_is_better: bool = False
    unit: str | None = None
    sparse_tol: float | None = None

    @property
    def direction(self) -> str:
        return LOWER if self.lower_is_better else HIGHER

    def orient(self, values: Any) -> np.ndarray:
        """`values` as floats with higher = better (negated when lower is better)."""
        values = np.asarray(values, dtype=float)
        return -values if self.lower_is_better else values

    def restore(self, value: float) -> float:
        """An oriented value back in the column's own units (orient is its own inverse)."""
        return -value if self.lower_is_better else value

    def describe(self) -> str:
        """'val_loss (lower is better, nats)'."""
        unit = f", {self.unit}" if self.unit else ""
        return f"{self.name} ({self.direction} is better{unit})"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "direction": self.direction, "unit": self.unit, "sparse_tol": self.sparse_tol}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "Column":
        """The Column to_dict wrote (an audit's config.json and metrics.json keep them)."""
        return cls(doc["name"], doc.get("direction") == LOWER, doc.get("unit"), doc.get("sparse_tol"))


def unit_from_name(name: str) -> str | None:
    """The unit written at the end of a column name in brackets or parentheses, else None."""
    found = _UNIT_IN_NAME.search(name)
    return found.group(1) if found else None


def builtin_unit(name: str) -> str | None:
    """The unit of a built-in ground-truth column: % for accuracy columns (<dataset>/<split>[@..][#seed<k>])."""
    return PERCENT if _BUILTIN_ACCURACY.match(name) else unit_from_name(name)


def default_tol(unit: str | None) -> float | None:
    """The sparse-Kendall tolerance of a truth in `unit` when none is given: 0.1 pp for %, else none."""
    return SPARSE_TOL if unit == PERCENT else None


def difference_unit(unit: str | None) -> str:
    """The unit of a difference of two values: 'pp' (percentage points) for %, else the unit itself."""
    return "pp" if unit == PERCENT else (unit or "")


def value_text(value: float, unit: str | None, decimals: int) -> str:
    """'42.15%', '0.613 nats', '7'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    number = f"{value:.{decimals}f}"
    if not unit:
        return number
    return f"{number}{unit}" if unit == PERCENT else f"{number} {unit}"


def decimals_for(values: Iterable[float], least: int = 2, most: int = 6) -> int:
    """Decimals that show differences of about a thousandth of the values' spread (at least `least`)."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    spread = float(v.max() - v.min()) if v.size else 0.0
    if spread <= 0:
        return least
    return int(min(most, max(least, 2 - math.floor(math.log10(spread)))))


def significant_decimals(value: float, digits: int = 4, least: int = 2, most: int = 6) -> int:
    """Decimals that show `value` to about `digits` significant digits (at least `least`)."""
    if value is None or not math.isfinite(value) or value == 0:
        return least
    return int(min(most, max(least, digits - 1 - math.floor(math.log10(abs(value))))))


def restore_result(result: dict[str, Any], score: Column, truth: Column) -> dict[str, Any]:
    """A compare.summarise entry computed on oriented columns, with its values back in the columns' units.

    Means and top-k best/random/oracle are negated back where lower is better; correlations, ranks, precisions
    and regret (best minus the pick's truth in oriented units: a non-negative distance) need nothing.
    """
    out = dict(result)
    out["mean_supernet_acc"] = score.restore(result["mean_supernet_acc"])
    for key in _RESULT_VALUES:
        out[key] = truth.restore(result[key])
    out["topk"] = [{**row, **{key: truth.restore(row[key]) for key in _TOPK_VALUES}} for row in result["topk"]]
    return out


@dataclass(frozen=True)
class SummaryLabels:
    """How compare.format_summary names the score and prints values; the defaults are a wsnas run's (supernet
    accuracy and true accuracy, both in %)."""

    score: str = "supernet acc"
    column: str = "supernet"  # heads the column of the score's figures
    score_unit: str | None = PERCENT
    truth_unit: str | None = PERCENT
    score_decimals: int = 2
    truth_decimals: int = 2

    @classmethod
    def for_pair(cls, score: Column, truth: Column, score_values: Sequence[float],
                 truth_values: Sequence[float]) -> "SummaryLabels":
        return cls(score.name, "score", score.unit, truth.unit, decimals_for(score_values), decimals_for(truth_values))

    def score_text(self, value: float) -> str:
        return value_text(value, self.score_unit, self.score_decimals)

    def truth_value(self, value: float) -> str:
        return f"{value:.{self.truth_decimals}f}"

    @property
    def difference(self) -> str:
        """The unit of truth differences (regret, sparse tolerance)."""
        return difference_unit(self.truth_unit)

    def difference_text(self, value: float) -> str:
        """A truth difference with its unit: '0.1pp', '0.01 nats', '0.05'."""
        unit = self.difference
        return f"{value:g}{unit}" if unit == "pp" else f"{value:g} {unit}".rstrip()
