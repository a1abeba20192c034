"""An audit directory end to end: its report (scatter, top-k curves, heat map, bias and operator figures of a known
space), `wsnas studies` on it, a plugin space through every command (its ground_truth hook when --truth is
omitted, its features without FLOPs or per-slot ops, re-imported in fresh processes), and commands that cannot
work on an audit refused or never suggested."""
import itertools
import json
import os
import shlex
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy import stats

from wsnas.analysis.report.render import render_report
from wsnas.benchmarks.registry import get_space
from wsnas.cli import main

PLUGIN = '''
"""A test space: three slots of ops a-d, a built-in ground truth (made from a formula and seeded noise), parameter
counts but no FLOPs, op counts but no per-slot ops."""
import itertools

import numpy as np
import pandas as pd

from wsnas.benchmarks.groundtruth import GroundTruth
from wsnas.benchmarks.registry import register_space
from wsnas.benchmarks.space import ArchError, SearchSpace

OPS = ("a", "b", "c", "d")


class Quad(SearchSpace):
    name = "quad"
    description = "test space: 3 slots x 4 ops"

    def parse(self, text):
        parts = tuple(str(text).strip().lower().split("-"))
        if len(parts) != 3 or any(p not in OPS for p in parts):
            raise ArchError(f"quad arch {text!r}: three of a, b, c, d joined by '-'")
        return parts

    def format(self, arch):
        return "-".join(arch)

    def enumerate(self):
        return iter(itertools.product(OPS, repeat=3))

    def size(self):
        return 64

    def features(self, arch):
        return {"params_M": sum(OPS.index(o) for o in arch) / 10, **{f"n_ops:{o}": arch.count(o) for o in OPS}}

    def ground_truth(self, mirror=None):
        archs = list(self.enumerate())
        noise = np.random.default_rng(5).normal(scale=1.0, size=len(archs))
        acc = [80 + 2 * a.count("d") + a.count("c") - a.count("a") + n for a, n in zip(archs, noise)]
        return GroundTruth(pd.DataFrame({"key": [self.format(a) for a in archs], "index": range(len(archs)),
                                         "cifar10/test": acc}), "quad", "quad: a formula with seeded noise")


register_space("quad", Quad)
'''


@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    path = tmp_path_factory.mktemp("plugin") / "quad_plugin.py"
    path.write_text(PLUGIN)
    return path


def _fresh(*argv, cwd, db) -> subprocess.CompletedProcess:
    """A wsnas command in a new process (nothing imported or registered before)."""
    return subprocess.run([sys.executable, "-m", "wsnas.cli", *map(str, argv)], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, "WSNAS_DB": str(db)})


def _pngs(report) -> list[str]:
    return sorted(p.name for p in report.index.parent.glob("*.png"))


def test_a_plugin_space_through_audit_studies_and_report(plugin, tmp_path):
    db = tmp_path / "db.sqlite"
    listed = _fresh("benchmarks", "list", "--plugin", plugin, cwd=tmp_path, db=db)
    assert listed.returncode == 0 and "quad" in listed.stdout and "[ground truth: built in]" in listed.stdout

    rng = np.random.default_rng(2)
    keys = ["-".join(p) for p in itertools.product("ABCD", repeat=3)]  # upper case: canonicalised by the space
    scores = pd.DataFrame({"arch": keys * 2, "bn_policy": ["recalibrate"] * 64 + ["inherit"] * 64,
                           "supernet_acc": rng.normal(40, 5, 128)})
    scores.to_csv(tmp_path / "scores.csv", index=False)
    made = _fresh("audit", "--scores", "scores.csv", "--key-col", "arch", "--space", "quad", "--plugin", plugin,
                  "--out", "audit", "--n-boot", "100", cwd=tmp_path, db=db)
    assert made.returncode == 0, made.stderr
    assert "quad: a formula with seeded noise" in made.stdout  # the space's own ground truth
    metrics = json.loads((tmp_path / "audit" / "metrics.json").read_text())
    assert [(r["score"], r["bn_policy"]) for r in metrics["results"]] == [
        ("supernet_acc", "inherit"), ("supernet_acc", "recalibrate"),  # then its params as a free baseline
        ("baseline:params", "inherit"), ("baseline:params", "recalibrate")]
    assert [b["name"] for b in metrics["results"][0]["baselines"]] == ["params"]  # the plugin gives no FLOPs
    assert metrics["results"][0]["truth"] == "cifar10/test" and metrics["results"][0]["truth_unit"] == "%"
    truth = get_space_truth(plugin)
    joined = pd.read_csv(tmp_path / "audit" / "joined.csv")
    first = joined[joined.bn_policy == "inherit"]
    expected = stats.kendalltau(first["score:supernet_acc"], truth.loc[first.key, "cifar10/test"]).statistic
    assert metrics["results"][0]["kendall"]["value"] == pytest.approx(expected, abs=1e-12)

    studied = _fresh("studies", tmp_path / "audit", "--quiet", cwd=tmp_path, db=db)  # bias and operators
    assert studied.returncode == 0, studied.stderr
    bias = json.loads((tmp_path / "audit" / "studies" / "bias.json").read_text())
    assert [(r["a"], r["b"]) for r in bias["rows"]] == [("supernet", "truth"), ("params", "truth"),
                                                         ("params", "supernet")]
    assert any("skipped flops" in f and "provides no flops_M" in f for f in bias["findings"])  # a note, no KeyError
    operators = json.loads((tmp_path / "audit" / "studies" / "operators.json").read_text())
    assert operators["available"] and any("skipped edge model" in f for f in operators["findings"])
    refused = _fresh("studies", tmp_path / "audit", "--only", "topk", cwd=tmp_path, db=db)
    assert refused.returncode == 2 and "is an audit: topk does not apply (its top-k figures" in refused.stderr
    unknown = _fresh("studies", tmp_path / "audit", "--only", "foo", cwd=tmp_path, db=db)
    assert unknown.returncode == 2 and "unknown study foo in --only" in unknown.stderr

    reported = _fresh("report", tmp_path / "audit", "--name", "quad", "--quiet", cwd=tmp_path, db=db)
    assert reported.returncode == 0, reported.stderr
    out = tmp_path / "reports" / "quad"
    assert sorted(p.name for p in out.glob("*.png")) == ["baselines-1.png", "baselines-2.png", "bias.png",
                                                         "heatmap-inherit.png", "heatmap-recalibrate.png",
                                                         "operators.png", "scatter.png", "topk.png"]
    assert "not in the report" not in reported.stdout
    for png in out.glob("*.png"):
        with Image.open(png) as image:
            assert image.width >= 800


def get_space_truth(plugin) -> pd.DataFrame:
    from wsnas.core.plugins import load_plugins

    load_plugins([str(plugin)])
    return get_space("quad").ground_truth().frame.set_index("key")


@pytest.fixture
def nb201_audit(tmp_path):
    """An audit of NB201 keys with a loss truth and an accuracy truth, two score columns, text bn_policy."""
    space = get_space("nb201")
    keys = [space.format(a) for a in space.sample(50, seed=4)]
    rng = np.random.default_rng(3)
    quality = rng.normal(size=50)
    pd.DataFrame({"key": keys, "val_loss": 1 - 0.1 * quality + rng.normal(scale=0.05, size=50),
                  "acc": 90 + 2 * quality}).to_csv(tmp_path / "truth.csv", index=False)
    pd.DataFrame({"key": keys, "bn_policy": "recalibrate", "supernet_acc": 40 + 3 * quality + rng.normal(size=50),
                  "n_params": rng.integers(1, 100, 50)}).to_csv(tmp_path / "scores.csv", index=False)
    return tmp_path


def _audit(directory, *extra, out="audit") -> list[str]:
    return ["audit", "--scores", str(directory / "scores.csv"), "--truth", str(directory / "truth.csv"),
            "--score-col", "supernet_acc,n_params", "--truth-col", "val_loss,acc", "--lower-is-better", "val_loss",
            "--n-boot", "100", "--out", str(directory / out), "--db", str(directory / "db.sqlite"), *extra]


def test_a_report_of_an_audit_draws_its_figures(nb201_audit, capsys):
    d = nb201_audit
    assert main(_audit(d, "--space", "nb201")) == 0
    report = render_report([d / "audit"], name="audit", out_root=d / "reports", progress=False)
    assert _pngs(report) == ["baselines-1.png", "baselines-2.png", "bias.png", "heatmap-recalibrate.png",
                             "operators.png", "scatter.png", "topk.png"]  # baselines: one per truth
    assert report.sections[0].missing == []
    summary = report.summary.read_text()
    assert "supernet_acc vs val_loss, BN recalibrate (50 archs); tau = " in summary
    assert "axes of lower-is-better columns are reversed" in summary.lower()
    assert "highest: " in summary and "lowest: " in summary  # of the heat map
    assert "Pair: score supernet_acc (higher is better) vs truth val_loss (lower is better)" in summary
    assert main(["studies", str(d / "audit"), "--score", "n_params", "--truth", "acc"]) == 0  # another pair
    report = render_report([d / "audit"], name="audit", out_root=d / "reports", progress=False)
    assert "Pair: score n_params (higher is better) vs truth acc (higher is better)" in report.summary.read_text()

    assert main(_audit(d, out="unknown")) == 0  # no registered space: no features
    report = render_report([d / "unknown"], name="unknown", out_root=d / "reports", progress=False)
    assert _pngs(report) == ["baselines-1.png", "baselines-2.png", "heatmap-recalibrate.png", "scatter.png",
                             "topk.png"]  # supernet_acc against n_params, the other score column
    captions = {i.caption for i in report.sections[0].items if i.kind == "baselines"}
    assert len(captions) == 1  # one caption for the figures of this kind: only the baselines present, its scorer
    (caption,) = captions
    assert "of supernet_acc (the audit's first score column" in caption
    assert "the audit's other score column n_params" in caption
    assert "the supernet" not in caption and "parameter count" not in caption and "zero-cost" not in caption
    missing = {m.what: m for m in report.sections[0].missing}
    assert set(missing) == {"Bias towards large models", "Operator bias",
                            "Parameter count and FLOPs among the free baselines"}
    assert all(m.command is None and "--space NAME" in m.reason for m in missing.values())  # nothing that fails
    capsys.readouterr()
    assert main(["studies", str(d / "unknown")]) == 2
    assert "which is not registered, and without --features, so its archs have no features" in capsys.readouterr().err


def test_run_commands_refuse_an_audit_directory(nb201_audit, capsys):
    d = nb201_audit
    assert main(_audit(d)) == 0
    for command in ("evaluate", "analyze"):
        capsys.readouterr()
        assert main([command, str(d / "audit")]) == 2
        err = capsys.readouterr().err
        assert "holds a wsnas audit, not a trained run" in err and f"wsnas report {d / 'audit'}" in err


def test_an_older_audit_gets_a_rerun_command_that_works(nb201_audit, capsys, monkeypatch):
    d = nb201_audit
    old = d / "old"
    old.mkdir()
    config = {"kind": "audit", "config": {"space": "custom", "analysis": {"truth": "acc", "n_boot": 100}},
              "audit": {"scores": {"path": str(d / "scores.csv"), "sha256": "x", "key_col": "key",
                                   "score_col": "supernet_acc"},
                        "truth": {"path": str(d / "truth.csv"), "sha256": "y", "key_col": "key", "truth_col": "acc"}}}
    (old / "config.json").write_text(json.dumps(config))
    (old / "metrics.json").write_text(json.dumps({"kind": "audit", "truth": "acc", "results": []}))
    report = render_report([old], name="old", out_root=d / "reports", progress=False)
    (missing,) = report.sections[0].missing
    assert "older wsnas" in missing.reason and missing.command.startswith("wsnas audit ")
    monkeypatch.chdir(d)
    assert main(shlex.split(missing.command)[1:]) == 0
    assert (d / "old-rerun" / "joined.csv").is_file()
    again = render_report([d / "old-rerun"], name="rerun", out_root=d / "reports", progress=False)
    assert _pngs(again) == ["scatter.png", "topk.png"]


def test_a_rerun_command_keeps_every_option(nb201_audit):
    from wsnas.analysis.report.audit_plan import rerun_command

    d = nb201_audit
    assert main(_audit(d, "--unit", "val_loss=nats", "--sparse-tol", "acc=0.2", "--topk", "1,5,20%")) == 0
    tree = json.loads((d / "audit" / "config.json").read_text())
    command = rerun_command(tree, d / "audit")
    assert main([*shlex.split(command)[1:], "--db", str(d / "db.sqlite")]) == 0
    before = json.loads((d / "audit" / "metrics.json").read_text())["results"]
    after = json.loads((d / "audit-rerun" / "metrics.json").read_text())["results"]
    assert after == before


def test_every_command_takes_plugin():
    import argparse

    from wsnas.cli import build_parser

    def leaves(parser, path=()):
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            yield path, parser
        for action in subs:
            for name, child in action.choices.items():
                yield from leaves(child, (*path, name))

    found = dict(leaves(build_parser()))
    assert {("audit",), ("report",), ("studies",), ("query",), ("index",), ("benchmarks", "list"),
            ("benchmarks", "correlate"), ("train",), ("evaluate",), ("analyze",)} <= set(found)
    assert [" ".join(p) for p, parser in found.items() if "--plugin" not in parser._option_string_actions] == []
