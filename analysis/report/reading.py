"""What `wsnas report` reads from a directory: its studies' documents and its metrics.json, and the commands that
produce a run's data (no torch)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wsnas.core.errors import WsnasError
from wsnas.core.groups import is_group
from wsnas.core.run_files import STUDIES_DIR
from wsnas.core.runs import RunDir

# The commands that produce a run's data; {dir} is the directory the report was given.
EVALUATE = "wsnas evaluate {dir}"
ANALYZE = "wsnas analyze {dir}"


class ReportError(WsnasError):
    """A report that cannot be made from the given directories or options."""



def read_study(directory: Path, name: str) -> dict[str, Any] | None:
    """DIRECTORY/studies/<name>.json, or None when absent."""
    path = directory / STUDIES_DIR / f"{name}.json"
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path} is not valid JSON ({exc}); rerun the study that wrote it") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("rows"), list):
        raise ReportError(f"{path} lacks a 'rows' list; it was not written by a wsnas study, rerun the study")
    return doc



def read_metrics(directory: Path) -> dict[str, Any] | None:
    """DIRECTORY/metrics.json, or None when absent."""
    run = RunDir(directory)
    if not run.metrics_path.is_file():
        return None
    try:
        return json.loads(run.metrics_path.read_text())
    except json.JSONDecodeError as exc:
        raise ReportError(f"{run.metrics_path} is not valid JSON ({exc}); rerun `wsnas analyze {run.path}`") from None


def is_run(directory: Path) -> bool:
    """A run directory or a replicate group (what `wsnas study` makes)."""
    return RunDir(directory).config_path.is_file() or is_group(directory)
