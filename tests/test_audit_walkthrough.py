"""The worked audit of docs/audit-walkthrough.md, made here: two tables of a space wsnas does not ship (a loss and an
accuracy as truth, a supernet loss and a cheap proxy as scores), the audit, the report and a query. Every output
block of the page must equal what these commands print now; `WSNAS_UPDATE_DOCS=1` rewrites the blocks and the
page's figure (reports/audit-walkthrough/scatter.png) instead.

The tables are synthetic, generated below with a fixed seed: each arch's quality comes from its layers plus noise,
each column is a noisy view of it. They stand in for a real multi-task benchmark so that the page's numbers can be
checked on every run.
"""
import itertools
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from wsnas.analysis import store
from wsnas.cli import main

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "audit-walkthrough.md"
FIGURE = ROOT / "reports" / "audit-walkthrough" / "scatter.png"
UPDATE = os.environ.get("WSNAS_UPDATE_DOCS") == "1"
CHOICES = ("skip", "e3k3", "e3k5", "e6k3", "e6k5")  # a made-up 4-layer space: 5^4 = 625 archs
GAIN = {"skip": 0.0, "e3k3": 0.35, "e3k5": 0.45, "e6k3": 0.55, "e6k5": 0.7}

AUDIT = ("wsnas audit --scores proxies.csv --truth multitask_truth.csv --key-col arch "
         "--score-col supernet_loss,n_convs --truth-col seg_loss,cls_top1 "
         "--lower-is-better supernet_loss,seg_loss --unit seg_loss=nats --unit cls_top1=% "
         "--sparse-tol seg_loss=0.01 --name walkthrough")
REPORT = "wsnas report runs/audit-walkthrough --name audit-walkthrough --quiet"
QUERY = ("wsnas query --sql \"SELECT score, truth, metric, ROUND(value, 3) AS value, ROUND(ci_low, 3) AS ci_low, "
         "ROUND(ci_high, 3) AS ci_high FROM run_metrics WHERE kind = 'audit' AND metric IN ('kendall', 'regret') "
         "ORDER BY metric, score, truth\"")


def make_tables(directory: Path) -> None:
    """multitask_truth.csv (comma-separated) and proxies.csv (semicolon-separated, as a spreadsheet may export)."""
    rng = np.random.default_rng(2024)
    archs = list(itertools.product(CHOICES, repeat=4))
    picked = sorted(rng.choice(len(archs), size=300, replace=False))
    keys = ["-".join(archs[i]) for i in picked]
    size = np.array([sum(GAIN[c] for c in archs[i]) for i in picked])
    quality = (size - size.mean()) / size.std() + rng.normal(scale=0.6, size=size.size)
    truth = pd.DataFrame({"arch": keys,
                          "seg_loss": (0.62 - 0.05 * quality + rng.normal(scale=0.02, size=size.size)).round(4),
                          "cls_top1": (71.0 + 2.2 * quality + rng.normal(scale=1.2, size=size.size)).round(2)})
    scored = sorted(rng.choice(len(keys), size=200, replace=False))
    supernet = 1.9 - 0.06 * quality[scored] + 0.05 * size[scored] + rng.normal(scale=0.05, size=len(scored))
    scores = pd.DataFrame({"arch": [keys[i] for i in scored], "supernet_loss": supernet.round(4),
                           "n_convs": [sum(c != "skip" for c in keys[i].split("-")) for i in scored]})
    truth.to_csv(directory / "multitask_truth.csv", index=False)
    scores.to_csv(directory / "proxies.csv", index=False, sep=";")


def _head(path: Path, lines: int = 4) -> str:
    return "\n".join(path.read_text().splitlines()[:lines])


def _command(capsys, command: str) -> str:
    """What `command` prints (stderr, then stdout, as a terminal shows them here), after the command line."""
    import shlex

    capsys.readouterr()
    assert main(shlex.split(command)[1:]) == 0
    captured = capsys.readouterr()
    return f"$ {command}\n{captured.err}{captured.out}".rstrip("\n")


def _blocks(page: str) -> dict[str, str]:
    """{name: text} of the page's output blocks (a fenced text block after <!-- walkthrough:name -->)."""
    found = re.finditer(r"<!-- walkthrough:(\w+) -->\n```text\n(.*?)```", page, re.S)
    return {m.group(1): m.group(2).rstrip("\n") for m in found}


def _replace(page: str, name: str, text: str) -> str:
    return re.sub(rf"(<!-- walkthrough:{name} -->\n```text\n).*?```", lambda m: f"{m.group(1)}{text}\n```", page,
                  flags=re.S)


def test_the_walkthrough_page_shows_real_output(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(store.DB_ENV, raising=False)  # the default database: runs/wsnas.sqlite
    make_tables(tmp_path)
    made = {"truth": _head(tmp_path / "multitask_truth.csv"), "scores": _head(tmp_path / "proxies.csv"),
            "audit": _command(capsys, AUDIT), "report": _command(capsys, REPORT), "query": _command(capsys, QUERY)}
    figure = tmp_path / "reports" / "audit-walkthrough" / "scatter.png"
    assert figure.is_file()
    page = PAGE.read_text()
    if UPDATE:
        for name, text in made.items():
            page = _replace(page, name, text)
        PAGE.write_text(page)
        FIGURE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(figure, FIGURE)
    blocks = _blocks(PAGE.read_text())
    assert set(blocks) == set(made)
    for name, text in made.items():
        assert blocks[name] == text, f"docs/audit-walkthrough.md block {name!r} is stale: rerun this test with " \
                                     f"WSNAS_UPDATE_DOCS=1"
    assert FIGURE.is_file() and "(../reports/audit-walkthrough/scatter.png)" in page
