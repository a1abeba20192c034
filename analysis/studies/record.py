"""The record of one study: what `wsnas report` and `wsnas studies` need to know of it (no torch).

A study module (wsnas.analysis.studies.<name>) defines RECORD = Study(...) beside its computation and figure;
wsnas.analysis.studies.registry lists the records. The report draws, for each record that applies to a directory,
the figure of DIR/studies/<name>.json, or lists the study as missing with its producer command.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from matplotlib.figure import Figure

from wsnas.analysis.studies.inputs import StudyInput
from wsnas.analysis.studies.null_bands import NULL_SIMS

# The kinds of directory a study applies to.
RUN = "run"  # a run directory or a replicate group (what `wsnas study` makes)
STUDY_DIR = "study"  # a directory of its own holding studies/*.json (e.g. the pruning study's --out)
AUDIT = "audit"  # an audit (wsnas.analysis.audit.run): one score per arch; the study runs on one (score, truth) pair


@dataclass(frozen=True)
class StudyOptions:
    """The options of `wsnas studies` that a study's computation may use."""

    draws: int = 200  # topk: seeded draws
    draw_size: int = 100  # topk: archs per draw
    null_sims: int = NULL_SIMS  # bias, operators: draws of the unbiased null
    progress: bool = False
    directory: str | Path | None = None  # the run or group studied (topk reads its free baselines)


def _drawable(doc: dict[str, Any]) -> str | None:
    return None


def last_finding(doc: dict[str, Any]) -> list[str]:
    """A study's verdict where its findings end with it: the last finding."""
    return list(doc.get("findings", []))[-1:]


def findings_starting(*starts: str) -> Callable[[dict[str, Any]], list[str]]:
    """A study's verdict: its findings that start with one of `starts`."""
    return lambda doc: [f for f in doc.get("findings", []) if f.startswith(starts)]


@dataclass(frozen=True)
class Study:
    """One study: its name (DIR/studies/<name>.json), figure, report caption and the command that makes it."""

    name: str
    title: str
    caption: str
    producer: str  # the command that writes its document; {dir}: the directory given to the report
    draw: Callable[[dict[str, Any], str, Path], Figure]  # (document, figure title, directory) -> figure
    applies_to: tuple[str, ...]  # RUN, STUDY_DIR, AUDIT: where the report expects it
    compute: Callable[[Sequence[StudyInput], StudyOptions], dict[str, Any]] | None = None  # by `wsnas studies`;
    # None: its own command writes the document (it trains or scores subnets)
    not_for_audit: str = ""  # a `wsnas studies` study that does not apply to an audit: why
    undrawable: Callable[[dict[str, Any]], str | None] = _drawable  # why a document with rows cannot be drawn
    verdict: Callable[[dict[str, Any]], list[str]] = last_finding  # the findings that lead the report
