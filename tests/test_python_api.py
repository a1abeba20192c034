"""The Python API (wsnas.audit, wsnas.load, wsnas.compare): docs/python-api.md's examples run as written, in a
fresh process that never imports torch, and the objects hold what the commands compute."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import synthetic_group

DOC = Path(__file__).resolve().parents[1] / "docs" / "python-api.md"


def _examples() -> str:
    return "\n".join(re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S))


def test_the_docs_examples_run_without_torch(tmp_path, mirror):
    group = synthetic_group(tmp_path / "group", mirror)
    script = _examples() + "\nimport sys\nassert 'torch' not in sys.modules, 'the API imported torch'\n"
    env = {**os.environ, "WSNAS_RUN": str(group), "WSNAS_DATA_MIRROR": str(mirror)}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "replicate columns seed0, seed1, seed2" in done.stdout and "A beats B on Kendall tau" in done.stdout
    assert (tmp_path / "reports" / "api-demo" / "index.html").is_file()


def test_audit_takes_frames_or_paths_and_gives_a_tidy_table(tmp_path):
    import wsnas

    keys = [f"a{i}" for i in range(40)]
    truth = pd.DataFrame({"key": keys, "accuracy": range(40)})
    scores = pd.DataFrame({"key": keys, "score": [v + (7 if i % 5 == 0 else 0) for i, v in enumerate(range(40))]})
    from_frames = wsnas.audit(scores, truth, score_cols="score", out=tmp_path / "frames", n_boot=50)
    scores.to_csv(tmp_path / "s.csv", index=False)
    truth.to_csv(tmp_path / "t.csv", index=False)
    from_paths = wsnas.audit(tmp_path / "s.csv", tmp_path / "t.csv", score_cols="score", out=tmp_path / "paths",
                             n_boot=50)
    assert list(from_frames.metrics.columns) == ["score", "truth", "bn_policy", "metric", "value", "low", "high"]
    pd.testing.assert_frame_equal(from_frames.metrics, from_paths.metrics)
    kendall = from_frames.metrics.set_index("metric").loc["kendall"]
    assert kendall["value"] == pytest.approx(from_frames.raw["results"][0]["kendall"]["value"])
    # the same frame twice is the same audit (its temporary CSV is named by its content)
    again = wsnas.audit(scores, truth, score_cols="score", out=tmp_path / "frames", n_boot=50)
    assert again.raw == from_frames.raw


def test_load_and_compare_match_the_commands(tmp_path, mirror, capsys):
    import wsnas
    from wsnas.cli import main

    group = synthetic_group(tmp_path / "g", mirror)
    frame = wsnas.load(group)
    assert len(frame) == 3 * 150 * 4 and frame["replicate"].nunique() == 3 and frame["truth"].notna().all()
    spec = f"{group}@bn_policy=recalibrate,epoch=2"
    comparison = wsnas.compare(spec, f"{group}@bn_policy=inherit,epoch=2")
    assert comparison.verdict.startswith("A beats B")
    capsys.readouterr()
    assert main(["compare", spec, f"{group}@bn_policy=inherit,epoch=2"]) == 0
    assert capsys.readouterr().out.strip() == str(comparison)
    row = comparison.table.set_index("statistic").loc["kendall"]
    assert row["low"] > 0 and row["detectable"] > 0
