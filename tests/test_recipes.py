"""docs/architecture.md's recipes, followed: every file they name exists, and a new study is one module.

The other two recipes are followed where their subject is tested: a new space by tests/test_plugin.py (the
examples/tinyconv plugin, end to end), a new search method by tests/test_search.py
(test_a_method_is_a_record_and_a_class).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import synthetic_group

from wsnas.analysis.studies import registry
from wsnas.cli import main

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"

# A study in one module: its computation, its figure and its record, registered from a plugin file.
ARCH_COUNT = '''
from matplotlib.figure import Figure

from wsnas.analysis.studies.record import RUN, Study
from wsnas.analysis.studies.registry import register_study


def compute(reps, options):
    rows = [{"replicate": i, "n_archs": int(inp.scores["key"].nunique())} for i, inp in enumerate(reps)]
    return {"study": "archcount", "rows": rows, "findings": [f"{len(rows)} replicates"]}


def draw(doc, title, directory):
    fig = Figure(figsize=(4, 3))
    ax = fig.add_subplot()
    ax.bar([r["replicate"] for r in doc["rows"]], [r["n_archs"] for r in doc["rows"]])
    ax.set(xlabel="replicate", ylabel="archs scored", title=title)
    return fig


register_study(Study(name="archcount", title="Archs scored per replicate", caption="How many archs each replicate "
                     "scored.", producer="wsnas studies {dir} --only archcount --plugin archcount.py", draw=draw,
                     applies_to=(RUN,), compute=compute))
'''


def test_every_file_the_recipes_name_exists() -> None:
    named = set(re.findall(r"`((?:wsnas|analysis|supernets|benchmarks|tests|examples|docs)/[\w/<>.-]+\.(?:py|md))`",
                           DOC.read_text()))
    concrete = sorted(p for p in named if "<" not in p)
    assert len(concrete) >= 15, concrete
    missing = [p for p in concrete if not (ROOT / p).is_file()]
    assert not missing, f"docs/architecture.md names files that do not exist: {missing}"


def test_the_recipes_name_the_tests_that_follow_them() -> None:
    text = DOC.read_text()
    for test in ("tests/test_plugin.py", "tests/test_search.py", "tests/test_recipes.py"):
        assert test in text
    assert "def test_a_method_is_a_record_and_a_class" in (ROOT / "tests" / "test_search.py").read_text()


@pytest.fixture
def arch_count_plugin(tmp_path: Path):
    plugin = tmp_path / "archcount.py"
    plugin.write_text(ARCH_COUNT)
    yield plugin
    registry.unregister_study("archcount")


def test_a_new_study_is_one_module(tmp_path, mirror, arch_count_plugin) -> None:
    group = synthetic_group(tmp_path / "group", mirror, archs=40)
    assert main(["studies", str(group), "--only", "archcount", "--plugin", str(arch_count_plugin), "--quiet"]) == 0
    doc = json.loads((group / "studies" / "archcount.json").read_text())
    assert [r["n_archs"] for r in doc["rows"]] == [40, 40, 40]

    assert main(["report", str(group), "--name", "recipe", "--out-root", str(tmp_path / "reports"), "--quiet",
                 "--plugin", str(arch_count_plugin)]) == 0
    page = (tmp_path / "reports" / "recipe" / "index.html").read_text()
    assert "Archs scored per replicate" in page and "3 replicates" in page
    assert any("archcount" in p.name for p in (tmp_path / "reports" / "recipe").rglob("*.png"))
