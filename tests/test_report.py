"""`wsnas report`: one self-contained page and a Markdown summary, drawn only from the data that exist.

The run here is made without torch: real NB201 archs with seeded random supernet scores (they know nothing
of the ground truth), analysed and studied by the real commands; the pruning and fine-tuning studies are
small synthetic documents in the format their commands write.
"""
import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from wsnas.analysis.report.render import render_report
from wsnas.analysis.studies.runner import run_studies
from wsnas.benchmarks.registry import get_space
from wsnas.cli import main
from wsnas.core.config import build_config
from wsnas.core.runs import RunDir

RUN_FIGURES = {"scatter", "epochs", "topk", "bias", "operators"}


def _make_run(path, mirror, epochs=(1, 2), n_archs=40):
    """A run directory whose scores.csv holds seeded random supernet accuracies of real archs."""
    run = RunDir(path)
    run.init(build_config("smoke", overrides={"data.mirror": str(mirror), "eval.epochs": list(epochs)}))
    space = get_space("nb201")
    rng = np.random.default_rng(0)
    rows = [{"key": space.format(a), "index": None, "function_key": str(space.function_key(a)), "epoch": e,
             "bn_policy": "recalibrate", "calib_batches": 1, "n_eval": 256, "supernet_acc": rng.uniform(10, 60),
             "supernet_loss": rng.uniform(1, 2)} for e in epochs for a in space.sample(n_archs, seed=3)]
    run.write_table(run.scores_path, pd.DataFrame(rows))
    return path


def _write(path, doc):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))


@pytest.fixture(scope="module")
def dirs(tmp_path_factory, mirror):
    """(run dir with every study but pruning, pruning study dir)."""
    root = tmp_path_factory.mktemp("report")
    run = _make_run(root / "synthetic-run", mirror)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WSNAS_DB", str(root / "wsnas.sqlite"))
        assert main(["analyze", str(run), "--quiet"]) == 0
    run_studies(run, progress=False)
    _write(run / "studies" / "finetune.json", {
        "study": "finetune", "truth": "cifar10/test", "config": {"batches": [0, 5, 10]},
        "rows": [{"finetune_batches": n, "kendall": tau, "kendall_ci_low": tau - 0.1, "kendall_ci_high": tau + 0.1,
                  "spearman": tau * 1.4, "mean_supernet_acc": acc, "seconds_per_subnet": sec}
                 for n, tau, acc, sec in ((0, 0.30, 40.0, 0.2), (5, 0.38, 45.0, 0.9), (10, 0.41, 47.5, 1.6))]})
    pruning = root / "pruning-study"
    _write(pruning / "studies" / "pruning.json", {
        "study": "pruning", "truth": "cifar10/test", "config": {"fractions": [0, 0.5, 0.9]},
        "rows": [{"mode": mode, "fraction": p, "n_pool": int(15625 * (1 - p)), "mean_truth": truth,
                  "supernet_top10_best": best, "random_top10_expected": rand, "kendall": tau,
                  "kendall_ci_low": tau - 0.05, "kendall_ci_high": tau + 0.05, "run_dir": f"runs/{mode}-{p}"}
                 for mode, p, truth, best, rand, tau in (
                     ("optimistic", 0.0, 83.0, 93.1, 92.0, 0.55), ("optimistic", 0.5, 89.5, 93.6, 93.0, 0.41),
                     ("optimistic", 0.9, 92.4, 94.0, 93.6, 0.22), ("random", 0.0, 83.0, 93.1, 92.0, 0.55),
                     ("random", 0.5, 83.1, 92.9, 92.0, 0.52), ("random", 0.9, 82.8, 92.5, 91.9, 0.50))]})
    return run, pruning


@pytest.fixture(scope="module")
def report(dirs, tmp_path_factory):
    """The report of both directories."""
    return render_report(list(dirs), name="both", out_root=tmp_path_factory.mktemp("reports"), progress=False)


def _links(summary: str) -> list[str]:
    return re.findall(r"!\[[^\]]*\]\(([^)]+)\)", summary)


def test_report_embeds_one_image_per_available_figure(report):
    assert report.index.parent.name == "both" and report.index.name == "index.html"
    page = report.index.read_text()
    pngs = sorted(p.name for p in report.index.parent.glob("*.png"))
    run_figures = RUN_FIGURES | {"finetune", "baselines-1", "baselines-2"}  # free baselines: one per result
    expected = [f"1-synthetic-run-{f}.png" for f in run_figures] + ["2-pruning-study-pruning.png"]
    assert pngs == sorted(expected)
    images = re.findall(r"<img [^>]*src='([^']+)'", page)
    assert len(images) == len(pngs) and all(src.startswith("data:image/png;base64,") for src in images)
    assert "<link" not in page and "<script" not in page and "<style>" in page  # self-contained
    for png in report.index.parent.glob("*.png"):
        with Image.open(png) as image:
            assert image.format == "PNG" and 120 <= round(image.info["dpi"][0]) <= 150 and image.width >= 800


def test_summary_links_existing_pngs_and_lists_what_is_missing(report):
    summary = report.summary.read_text()
    links = _links(summary)
    assert sorted(links) == sorted(p.name for p in report.index.parent.glob("*.png"))
    assert all((report.index.parent / link).is_file() for link in links)
    # the run lacks the pruning and noise studies and zero-cost proxies; the pruning directory is no run, so it
    # lacks nothing else
    missing = {(s.directory.name, m.what) for s in report.sections for m in s.missing}
    assert missing == {("synthetic-run", "Search-space pruning by the supernet"),
                       ("synthetic-run", "Noise budget of Kendall tau"),
                       ("synthetic-run", "Zero-cost proxies among the free baselines")}
    run = report.sections[0].directory
    assert f"wsnas proxies {run} && wsnas analyze {run}" in summary
    assert "wsnas prune-study --out PRUNING_DIR" in summary
    assert "tau(params, truth)" in summary and "epoch 2, BN recalibrate, 40 archs" in summary  # findings


def test_missing_studies_are_listed_with_their_commands(tmp_path, mirror, monkeypatch):
    run = _make_run(tmp_path / "bare-run", mirror, epochs=(2,), n_archs=12)
    monkeypatch.setenv("WSNAS_DB", str(tmp_path / "wsnas.sqlite"))
    monkeypatch.chdir(tmp_path)
    assert main(["report", str(run), "--quiet"]) == 0  # default root: ./reports
    out = tmp_path / "reports" / "bare-run"
    assert sorted(p.name for p in out.glob("*.png")) == ["scatter.png"]
    summary = (out / "summary.md").read_text()
    for study in ("epochs", "topk", "bias", "operators"):
        assert f"no studies/{study}.json" in summary and f"wsnas studies {run} --only {study}" in summary
    assert f"wsnas analyze {run}" in summary and f"wsnas finetune-study {run}" in summary
    assert len(re.findall(r"<img ", (out / "index.html").read_text())) == 1

    assert main(["analyze", str(run), "--quiet"]) == 0
    assert main(["studies", str(run), "--only", "epochs,bias", "--quiet"]) == 0
    assert main(["report", str(run), "--quiet"]) == 0
    assert sorted(p.name for p in out.glob("*.png")) == ["baselines.png", "bias.png", "scatter.png"]  # stale go
    summary = (out / "summary.md").read_text()
    assert "only epoch 2 was scored" in summary and "eval.epochs=[5,10,15,20]" in summary
    assert "no studies/bias.json" not in summary and "no studies/topk.json" in summary


def test_synthetic_pruning_and_finetune_documents_render(dirs, report, tmp_path):
    page = report.index.read_text()
    assert "Search-space pruning by the supernet" in page and "Effect of fine-tuning" in page
    _, pruning = dirs
    alone = render_report([pruning], out_root=tmp_path, progress=False)  # default name: the directory's
    assert alone.index.parent.name == "pruning-study"
    assert [p.name for p in alone.index.parent.glob("*.png")] == ["pruning.png"]
    assert alone.sections[0].missing == []  # a study directory is no run: nothing else is expected of it


def test_bad_directories_and_names_get_one_clear_error(dirs, tmp_path, capsys):
    run, _ = dirs
    assert main(["report", str(tmp_path / "nowhere"), "--out-root", str(tmp_path)]) == 2
    assert "is not a directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty"), "--out-root", str(tmp_path)]) == 2
    assert "neither a wsnas run" in capsys.readouterr().err
    assert main(["report", str(run), "--name", "../escape", "--out-root", str(tmp_path)]) == 2
    assert "must be a plain folder name" in capsys.readouterr().err
    broken = tmp_path / "broken"
    _write(broken / "studies" / "pruning.json", {"study": "pruning"})
    assert main(["report", str(broken), "--out-root", str(tmp_path)]) == 2
    assert "lacks a 'rows' list" in capsys.readouterr().err


def test_analysis_modules_do_not_import_torch():
    code = ("import sys; import wsnas.analysis.report.render, wsnas.analysis.studies.runner, wsnas.commands.report, "
            "wsnas.commands.studies, wsnas.analysis.features, wsnas.analysis.report.baselines, wsnas.analysis.audit.run; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_runs_of_several_spaces_get_one_figure_of_zhangs_findings(dirs, tmp_path):
    run, _ = dirs
    other = tmp_path / "macro-run"
    for name in ("epochs", "topk"):
        doc = json.loads((run / "studies" / f"{name}.json").read_text())
        _write(other / "studies" / f"{name}.json", {**doc, "space": "macro"})
    report = render_report([run, other], name="spaces", out_root=tmp_path / "reports", progress=False)
    summary = report.summary.read_text()
    assert "### Across search spaces" in summary and (report.index.parent / "spaces.png").is_file()
    assert "macro: macro-run: Kendall" in summary and "nb201: synthetic-run: top-1" in summary
    single = render_report([run], name="one", out_root=tmp_path / "reports", progress=False)
    assert "Across search spaces" not in single.summary.read_text()


def test_free_baselines_of_a_replicate_group_with_zero_cost_proxies(tmp_path, mirror, monkeypatch):
    """A group of 3 supernets that see the truth plus little noise, and a proxies.csv of seeded random values: the
    figure shows the replicated Kendall with its two-level CI against params, FLOPs and both proxies; the
    supernet beats the random proxies, and nothing is missing."""
    from wsnas.benchmarks.groundtruth import load_ground_truth
    from wsnas.core.groups import ReplicateGroup, member_config

    space, truth = get_space("nb201"), load_ground_truth("nb201", mirror)
    keys = [space.format(a) for a in space.sample(80, seed=1)]
    values = truth.values("cifar10/test", keys)
    cfg = build_config("smoke", overrides={"data.mirror": str(mirror), "replicates": 3, "analysis.n_boot": 200})
    group = ReplicateGroup(tmp_path / "group")
    group.init(cfg)
    for r in range(3):
        run = group.member(r)
        run.init(member_config(cfg, r))
        rng = np.random.default_rng(r)
        run.write_table(run.scores_path, pd.DataFrame(
            {"key": keys, "epoch": 1, "bn_policy": "recalibrate", "supernet_acc": values + rng.normal(size=80)}))
    rng = np.random.default_rng(9)
    pd.DataFrame({"key": keys, "synflow": rng.normal(size=80), "naswot": rng.normal(size=80)}).to_csv(
        group.path / "proxies.csv", index=False)
    monkeypatch.setenv("WSNAS_DB", str(tmp_path / "wsnas.sqlite"))
    assert main(["analyze", str(group.path), "--quiet"]) == 0
    (result,) = json.loads((group.path / "metrics.json").read_text())["results"]
    assert [b["name"] for b in result["baselines"]] == ["params", "flops", "synflow", "naswot"]

    report = render_report([group.path], name="group", out_root=tmp_path / "reports", progress=False)
    assert not [m for m in report.sections[0].missing if "baselines" in m.what]
    (item,) = [i for i in report.sections[0].items if i.png.name == "baselines.png"]
    assert item.findings[0].startswith(f"epoch 1, BN recalibrate, 80 archs, truth cifar10/test: the supernet ranks "
                                       f"at Kendall {result['kendall']['value']:+.3f}")
    assert "mean over 3 replicates; t on the seed part + the arch parts, seeds random" in item.findings[0]
    assert any(f.startswith("the supernet beats synflow on Kendall tau by +") for f in item.findings)
    assert len(item.findings) == 1 + 4  # the supernet, then one verdict per baseline
    with Image.open(item.png) as image:
        assert image.width >= 800 and image.height >= 400


def test_missing_free_baselines_get_a_command_that_works_on_the_directory(tmp_path):
    from wsnas.analysis.report.baselines import PROXIES_TITLE, TITLE, run_baselines
    from wsnas.analysis.report.pages import Missing

    def missing(metrics):
        items = run_baselines(tmp_path, metrics, "run")
        return {(m.what, m.command) for m in items if isinstance(m, Missing)}

    analyze, proxies = f"wsnas analyze {tmp_path}", f"wsnas proxies {tmp_path} && wsnas analyze {tmp_path}"
    assert missing(None) == {(TITLE, analyze)}
    result = {"epoch": 1, "bn_policy": "recalibrate", "n_archs": 20,
              "kendall": {"value": 0.2, "ci_low": 0.0, "ci_high": 0.4}}
    assert missing({"results": [result]}) == {(TITLE, analyze), (PROXIES_TITLE, proxies)}  # an older metrics.json
    assert missing({"results": [{**result, "baselines": []}]}) == {(TITLE, proxies), (PROXIES_TITLE, proxies)}
    params = {"name": "params", "kendall": {"value": 0.5, "ci_low": 0.3, "ci_high": 0.7},
              "supernet_minus_baseline": {"kendall": {"difference": -0.3, "ci_low": -0.5, "ci_high": -0.1,
                                                      "p_value": 0.01}}}
    assert missing({"results": [{**result, "baselines": [params]}]}) == {(PROXIES_TITLE, proxies)}
    (tmp_path / "proxies.csv").write_text("key,synflow\n")  # computed after the analysis
    assert missing({"results": [{**result, "baselines": [params]}]}) == {(PROXIES_TITLE, analyze)}
    synflow = {**params, "name": "synflow"}
    items = run_baselines(tmp_path, {"results": [{**result, "baselines": [params, synflow]}]}, "run")
    assert [item.stem for item in items] == ["baselines"]
    assert items[0].findings[1].startswith("the supernet loses to params on Kendall tau by -0.300")


# --------------------------------------------------------------------------------- readable reports (issue 22)

def _overlaps(boxes) -> list[tuple[int, int]]:
    """The pairs of rendered bounding boxes that intersect."""
    return [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes)) if boxes[i].overlaps(boxes[j])]


def _drawn(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    return fig.canvas.get_renderer()


@pytest.mark.parametrize("pool", [7, 100, 250, 2500, 15625, 1_000_000])
def test_top_k_tick_labels_never_overlap(pool):
    """The log k axis of the top-k figures at any pool size: the rendered tick labels do not intersect, and
    there are at least two of them."""
    from wsnas.analysis.plots.pairs import TopkPanel, topk_curve_figure

    k = np.unique(np.round(np.geomspace(1, pool, num=min(pool, 16))).astype(int))
    panels = [TopkPanel(f"pair {i}", k, 90 + np.log(k), 88 + np.log(k), 95.0, "acc (%)", False) for i in range(3)]
    fig = topk_curve_figure(panels, "ticks", cols=3)
    renderer = _drawn(fig)
    for ax in fig.axes:
        labels = [t for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]
        assert len(labels) >= 2
        assert not _overlaps([t.get_window_extent(renderer) for t in labels])
        assert not [t for t in ax.xaxis.get_ticklabels(minor=True) if t.get_text()]  # no minor labels between


def test_scatter_panel_titles_do_not_overlap():
    """Six panels with long titles (two rows): no title intersects another panel's title or axes."""
    from wsnas.analysis.plots.scatter import ScatterPanel, scatter_figure

    rng = np.random.default_rng(0)
    label = "epoch 20, BN recalibrate, calibration (batches 4, batch size 64, seed 0), mean of the replicates"
    panels = [ScatterPanel(f"{label} {i}", rng.uniform(80, 95, 50), rng.uniform(20, 45, 50),
                           {"kendall": {"value": 0.2, "ci_low": 0.1, "ci_high": 0.3}}) for i in range(6)]
    fig = scatter_figure(panels, "cifar10/test", "titles")
    renderer = _drawn(fig)
    titles = [ax.title.get_window_extent(renderer) for ax in fig.axes]
    assert not _overlaps(titles)
    for i, ax in enumerate(fig.axes):
        others = [a.get_tightbbox(renderer) for j, a in enumerate(fig.axes) if j != i]
        assert not [b for b in others if b.overlaps(titles[i])]


def test_the_baselines_caption_names_only_the_baselines_present_and_the_scorer():
    from wsnas.analysis.report.baselines import AUDIT_MORAL, RUN_MORAL, caption

    entry = {"kendall": {"value": 0.3}, "supernet_minus_baseline": {"kendall": {"difference": 0.1}}}
    proxies_only = {"replicates": 1, "baselines": [{"name": "synflow", **entry}]}
    text = caption(proxies_only, "the supernet", "one training run", RUN_MORAL)
    assert "zero-cost proxy synflow" in text
    assert "FLOPs" not in text and "param" not in text and "naswot" not in text
    audit = {"replicates": 1, "baselines": [{"name": "n_params", "kind": "score column", **entry}]}
    text = caption(audit, "val_acc", "the audit's first score column, val_acc", AUDIT_MORAL)
    assert "of val_acc (" in text and "the audit's other score column n_params" in text
    assert "supernet" not in text and "FLOPs" not in text and "zero-cost" not in text
    both = {"replicates": 3, "baselines": [{"name": n, **entry} for n in ("params", "flops")]}
    text = caption(both, "the supernet", "the mean over replicates", RUN_MORAL)
    assert "parameter count (params) and FLOPs (flops) of the space's cost model" in text and RUN_MORAL in text
    assert "zero-cost" not in text and "per-replicate differences" in text


def test_the_summary_leads_with_verdicts_and_says_each_caption_once(report):
    summary = report.summary.read_text()
    heads = re.findall(r"^## (.+)$", summary, re.M)
    assert heads[:2] == ["Verdicts", "The evidence"]
    verdicts = summary[summary.index("## Verdicts"):summary.index("## The evidence")]
    assert "the supernet ranks at Kendall" in verdicts  # the replicated (here: one run's) Kendall with its interval
    assert re.search(r"the supernet (beats|loses to|is not distinguishable from) params", verdicts)
    assert "**Ranking against training length**" in verdicts and "**Bias towards large models**" in verdicts
    for section in report.sections:
        for item in section.items:
            assert summary.count(item.caption) == 1, item.title  # one caption per kind of figure
    baselines = [i for i in report.sections[0].items if i.kind == "baselines"]
    assert len(baselines) == 2 and baselines[0].caption == baselines[1].caption
    first, second = (summary.index(f"]({i.png.name})") for i in baselines)
    assert summary.index(baselines[0].caption) < first < second  # said before the first figure of its kind


def test_titles_name_every_setting_that_differs_between_score_sets(tmp_path, mirror, monkeypatch):
    """Two score sets at one epoch and BN policy that differ only in their calibration batches: every title and
    scatter panel names the calibration batches, so none read alike; the data fingerprint that follows from them
    is not named."""
    from wsnas.core.score_sets import register_score_set

    run = _make_run(tmp_path / "two-sets", mirror, epochs=(2,))
    scores = RunDir(run).read_scores()
    sets = {}
    for batches in (1, 4):
        settings = {"bn_policy": "recalibrate", "calibration": {"batches": batches, "batch_size": 64, "seed": 0},
                    "held_out": {"images": 256, "batch_size": 256}, "data_fingerprint": f"fp{batches}",
                    "finetune": None}
        sets[batches] = f"set{batches}"
        register_score_set(run, sets[batches], settings)
    rng = np.random.default_rng(1)
    both = pd.concat([scores.assign(score_set=sets[1]),
                      scores.assign(score_set=sets[4], supernet_acc=rng.uniform(10, 60, len(scores)))])
    RunDir(run).write_table(RunDir(run).scores_path, both)
    monkeypatch.setenv("WSNAS_DB", str(tmp_path / "wsnas.sqlite"))
    assert main(["analyze", str(run), "--quiet"]) == 0
    report = render_report([run], name="two-sets", out_root=tmp_path / "reports", progress=False)
    titles = [i.title for i in report.sections[0].items if i.kind == "baselines"]
    assert len(titles) == len(set(titles)) == 2
    assert {t.split(": ", 1)[1] for t in titles} == {
        "epoch 2, BN recalibrate, calibration batches 1, 40 archs, truth cifar10/test",
        "epoch 2, BN recalibrate, calibration batches 4, 40 archs, truth cifar10/test"}
    (scatter,) = [i for i in report.sections[0].items if i.kind == "scatter"]
    assert {f.split(", 40 archs")[0] for f in scatter.findings} == {
        "epoch 2, BN recalibrate, calibration batches 1", "epoch 2, BN recalibrate, calibration batches 4"}
    assert "fingerprint" not in report.summary.read_text()


def test_a_fingerprint_is_named_only_where_it_alone_tells_score_sets_apart():
    from wsnas.analysis.report.score_sets import result_labels

    def result(set_id):
        return {"epoch": 5, "bn_policy": "inherit", "finetune_batches": 0, "score_set": set_id}

    sets = {s: {"settings": {"bn_policy": "inherit", "held_out": {"images": 1000}, "data_fingerprint": s}}
            for s in ("aaa", "bbb")}
    labels = result_labels([result("aaa"), result("bbb")], sets)
    assert sorted(labels.values()) == ["epoch 5, BN inherit, data fingerprint aaa",
                                       "epoch 5, BN inherit, data fingerprint bbb"]
    sets["bbb"]["settings"]["held_out"]["images"] = 5000
    labels = result_labels([result("aaa"), result("bbb")], sets)
    assert sorted(labels.values()) == ["epoch 5, BN inherit, held out images 1000",
                                       "epoch 5, BN inherit, held out images 5000"]
