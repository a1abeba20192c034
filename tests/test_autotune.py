"""CPU autotuning of precision and memory format (wsnas.supernets.autotune): the fastest candidate is kept, the
choice is cached per machine and shape and recorded per run, and reused from there, so the same command on the
same machine computes the same numbers; explicit settings are never measured. The decision logic is driven by
given timings (a `measure` function); one test times real steps at a tiny size."""
import json

import pytest

torch = pytest.importorskip("torch")

from wsnas.cli import main  # noqa: E402
from wsnas.core.config import build_config  # noqa: E402
from wsnas.core.paths import cache_dir  # noqa: E402
from wsnas.core.runs import RunDir  # noqa: E402
from wsnas.supernets import autotune  # noqa: E402
from wsnas.supernets.autotune import autotuned_runtime, measure_candidates  # noqa: E402

LAYOUTS = ("contiguous", "channels_last", "wide")
FAST = {("off", "contiguous"): 100.0, ("off", "channels_last"): 150.0, ("off", "wide"): 120.0,
        ("bf16", "contiguous"): 180.0, ("bf16", "channels_last"): 300.0, ("bf16", "wide"): 250.0}


class Timings:
    """A `measure` that returns given images/s (the same in both passes of each of 3 rounds) and counts its
    calls."""

    def __init__(self, speeds):
        self.speeds, self.calls = dict(speeds), 0

    def __call__(self, cfg, workload, candidates):
        self.calls += 1
        return {c: [(self.speeds[c], self.speeds[c])] * 3 for c in candidates}


class NoisyTimings(Timings):
    """Rounds as on a busy machine: another job took the cores half way through the second round's second pass,
    so the candidates timed after it ran 3x slower in that pass."""

    def __call__(self, cfg, workload, candidates):
        self.calls += 1
        late = set(candidates[len(candidates) // 2:])
        return {c: [(s, s), (s, s / (3 if c in late else 1)), (s, s)] for c, s in
                ((c, self.speeds[c]) for c in candidates)}


class ArchTimings(Timings):
    """Steady rounds of archs that differ in cost: every candidate of the second round 3x slower (a costlier
    arch), with no noise at all."""

    def __call__(self, cfg, workload, candidates):
        self.calls += 1
        return {c: [(s, s), (s / 3, s / 3), (s, s)] for c, s in ((c, self.speeds[c]) for c in candidates)}


class LayoutByArchTimings(Timings):
    """Steady rounds where the layouts' gains depend on the arch, as on an AMD EPYC: in the second round's arch
    the channels_last candidates run at 0.6x of their speed elsewhere, the others not; both passes agree."""

    def __call__(self, cfg, workload, candidates):
        self.calls += 1
        slow = {c: 0.6 if c[1] == "channels_last" else 1.0 for c in candidates}
        return {c: [(s, s), (s * slow[c], s * slow[c]), (s, s)] for c, s in
                ((c, self.speeds[c]) for c in candidates)}


class FlippingTimings(Timings):
    """Rounds whose two passes over the same arch disagree on the fastest candidate: the ranking is not stable."""

    def __call__(self, cfg, workload, candidates):
        self.calls += 1
        first, second = candidates[-1], candidates[-2]
        return {c: [(140.0 if c == first else 100.0, 140.0 if c == second else 100.0)] * 3 for c in candidates}


@pytest.fixture()
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WSNAS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(autotune, "native_bf16", lambda: True)
    return tmp_path


def _cfg(cifar, **overrides):
    return build_config("cpu", overrides={"data.root": str(cifar), "data.n_train": 64, "data.n_valid": 32,
                                          "runtime.device": "cpu", "model.C": 4, **overrides})


def test_the_fastest_is_kept_cached_and_recorded(cifar, fresh_cache):
    cfg, lines = _cfg(cifar), []
    timings = Timings(FAST)
    run = RunDir(fresh_cache / "run")
    run.init(cfg)
    rt = autotuned_runtime(cfg, "train", run, lines.append, timings)
    assert (rt.amp, rt.layout, rt.source) == ("bf16", "channels_last", "autotune, measured")
    assert timings.calls == 1 and any("train: bf16 channels_last" in line for line in lines)
    record = json.loads((run.path / "runtime.json").read_text())["train"]
    assert (record["amp"], record["layout"], record["device"]) == ("bf16", "channels_last", "cpu")
    # the same shape elsewhere: from the machine's cache, not measured again
    again = autotuned_runtime(cfg, "train", None, lines.append, Timings({c: 1.0 for c in FAST}))
    assert (again.amp, again.layout, again.source) == ("bf16", "channels_last", "autotune, cached")
    # another workload, another shape: measured on their own
    assert autotuned_runtime(cfg, "evaluate", run, lines.append, timings).amp == "bf16" and timings.calls == 2
    assert autotuned_runtime(_cfg(cifar, **{"train.batch_size": 32}), "train", None, lines.append, timings)
    assert timings.calls == 3


def test_the_run_record_wins_over_a_changed_cache(cifar, fresh_cache):
    cfg = _cfg(cifar)
    run = RunDir(fresh_cache / "run")
    run.init(cfg)
    autotuned_runtime(cfg, "evaluate", run, print, Timings(FAST))
    (cache_dir() / "autotune.json").unlink()  # a new measurement would now choose fp32 contiguous
    slow = Timings({c: 100.0 if c == ("off", "contiguous") else 50.0 for c in FAST})
    rt = autotuned_runtime(cfg, "evaluate", run, print, slow)
    assert (rt.amp, rt.layout) == ("bf16", "channels_last") and rt.source == "autotune, recorded" and slow.calls == 0
    assert autotuned_runtime(cfg, "evaluate", None, print, slow).amp == "off" and slow.calls == 1


def test_full_precision_is_kept_unless_another_is_clearly_faster(cifar, fresh_cache):
    close = Timings({("off", "contiguous"): 100.0, ("off", "channels_last"): 104.0, ("off", "wide"): 103.0,
                     ("bf16", "contiguous"): 90.0, ("bf16", "channels_last"): 80.0, ("bf16", "wide"): 85.0})
    rt = autotuned_runtime(_cfg(cifar), "train", None, print, close)
    assert (rt.amp, rt.layout) == ("off", "contiguous")


def test_explicit_settings_are_not_measured(cifar, fresh_cache):
    timings = Timings(FAST)
    rt = autotuned_runtime(_cfg(cifar, **{"runtime.amp": "off", "runtime.channels_last": "off"}), "train", None,
                           print, timings)
    assert (rt.amp, rt.layout, rt.source, timings.calls) == ("off", "contiguous", "config", 0)
    assert autotuned_runtime(_cfg(cifar, **{"runtime.autotune": False}), "train", None, print, timings).amp == "off"
    assert timings.calls == 0
    # one setting given: only the other is measured
    rt = autotuned_runtime(_cfg(cifar, **{"runtime.channels_last": "off"}), "train", None, print, timings)
    assert (rt.amp, rt.layout) == ("bf16", "contiguous") and timings.calls == 1
    rt = autotuned_runtime(_cfg(cifar, **{"runtime.channels_last": "wide"}), "train", None, print, timings)
    assert (rt.amp, rt.layout) == ("bf16", "wide") and timings.calls == 2


def test_bf16_is_a_candidate_only_where_the_cpu_computes_it(cifar, fresh_cache, monkeypatch):
    monkeypatch.setattr(autotune, "native_bf16", lambda: False)
    seen = []
    autotuned_runtime(_cfg(cifar), "train", None, print, lambda cfg, w, candidates: seen.extend(candidates) or
                      {c: [(FAST[c], FAST[c])] * 3 for c in candidates})
    assert seen == [("off", layout) for layout in LAYOUTS]


@pytest.mark.parametrize("damage", ["corrupt", "other machine"])
def test_an_unusable_cache_is_measured_again_with_a_log_line(cifar, fresh_cache, damage):
    cfg = _cfg(cifar)
    autotuned_runtime(cfg, "train", None, print, Timings(FAST))
    path = cache_dir() / "autotune.json"
    if damage == "corrupt":
        path.write_text("{not json")
    else:
        cache = json.loads(path.read_text())
        cache["machine"]["cpu"] = "another processor"
        path.write_text(json.dumps(cache))
    lines, timings = [], Timings(FAST)
    autotuned_runtime(cfg, "train", None, lines.append, timings)
    assert timings.calls == 1
    assert any(("does not parse" if damage == "corrupt" else "another machine") in line for line in lines)
    assert json.loads(path.read_text())["machine"] == autotune.machine_fingerprint()


def test_a_record_for_another_device_or_setting_is_not_reused(cifar, fresh_cache):
    cfg = _cfg(cifar)
    run = RunDir(fresh_cache / "run")
    run.init(cfg)
    autotuned_runtime(cfg, "train", run, print, Timings(FAST))
    lines = []
    forced = _cfg(cifar, **{"runtime.channels_last": "off"})  # the record's channels_last layout is ruled out
    rt = autotuned_runtime(forced, "train", run, lines.append, Timings(FAST))
    assert rt.layout == "contiguous" and any("does not apply here" in line for line in lines)


def test_the_wide_layout_is_chosen_where_it_is_fastest(cifar, fresh_cache):
    speeds = {**FAST, ("bf16", "wide"): 400.0}
    rt = autotuned_runtime(_cfg(cifar), "train", None, print, Timings(speeds))
    assert (rt.amp, rt.layout, rt.batches_channels_last) == ("bf16", "wide", False)  # wide keeps input batches contiguous


def test_a_record_written_before_the_wide_layout_is_still_reused(cifar, fresh_cache):
    cfg = _cfg(cifar)
    run = RunDir(fresh_cache / "run")
    run.init(cfg)
    autotuned_runtime(cfg, "train", run, print, Timings(FAST))
    record = json.loads((run.path / "runtime.json").read_text())
    record["train"]["channels_last"] = record["train"].pop("layout") == "channels_last"  # the earlier format
    (run.path / "runtime.json").write_text(json.dumps(record))
    timings = Timings(FAST)
    rt = autotuned_runtime(cfg, "train", run, print, timings)
    assert (rt.amp, rt.layout, rt.source, timings.calls) == ("bf16", "channels_last", "autotune, recorded", 0)


@pytest.mark.parametrize("timings", [ArchTimings, LayoutByArchTimings])
def test_archs_of_other_costs_or_layout_gains_are_not_noise(cifar, fresh_cache, timings):
    measure = timings(FAST)
    rt = autotuned_runtime(_cfg(cifar), "train", None, print, measure)
    assert (rt.amp, rt.layout, rt.source, measure.calls) == ("bf16", "channels_last", "autotune, measured", 1)


def test_real_timings_at_a_tiny_shape(cifar, fresh_cache):
    cfg = _cfg(cifar, **{"train.batch_size": 16, "eval.batch_size": 16, "runtime.threads": 1})
    for workload in ("train", "evaluate"):
        candidates = autotune._candidates(cfg, autotune.resolve_runtime(cfg.runtime))
        rounds = measure_candidates(cfg, workload, candidates)
        assert set(rounds) == set(candidates)
        assert all(len(v) >= 3 and min(min(pair) for pair in v) > 0 and all(len(p) == 2 for p in v)
                   for v in rounds.values())


@pytest.mark.parametrize("timings", [NoisyTimings, FlippingTimings])
def test_rounds_that_disagree_twice_fall_back_to_the_rule_and_cache_nothing(cifar, fresh_cache, timings):
    cfg, lines = _cfg(cifar), []
    run = RunDir(fresh_cache / "run")
    run.init(cfg)
    noisy = timings(FAST)
    rt = autotuned_runtime(cfg, "train", run, lines.append, noisy)
    assert noisy.calls == 2 and sum(": timing rounds disagree (" in line for line in lines) == 2
    # C=4: most convolutions are narrower than 16 channels, so the rule keeps fp32 contiguous
    assert (rt.amp, rt.layout, rt.source) == ("off", "contiguous", "autotune, fallback (timing rounds disagreed)")
    assert not (cache_dir() / "autotune.json").exists()
    assert json.loads((run.path / "runtime.json").read_text())["train"]["fallback"]  # a resume reuses it
    assert autotuned_runtime(cfg, "train", run, print, noisy).source == "autotune, recorded" and noisy.calls == 2
    wide = _cfg(cifar, **{"model.C": 16})
    assert (autotune.fallback_choice(wide, autotune._candidates(wide, autotune.resolve_runtime(wide.runtime)))
            == ("bf16", "wide"))
    # steady rounds the second time: that measurement is kept and cached
    once = iter([timings(FAST), Timings(FAST)])
    rt = autotuned_runtime(cfg, "train", None, print, lambda *a: next(once)(*a))
    assert (rt.amp, rt.layout, rt.source) == ("bf16", "channels_last", "autotune, measured")
    assert len(json.loads((cache_dir() / "autotune.json").read_text())["entries"]) == 1


def test_the_cli_shows_and_resets_the_cache(cifar, fresh_cache, capsys):
    assert main(["autotune", "--show"]) == 0 and "no cache" in capsys.readouterr().out
    autotuned_runtime(_cfg(cifar), "train", None, print, Timings(FAST))
    capsys.readouterr()
    assert main(["autotune", "--show"]) == 0
    out = capsys.readouterr().out
    assert "1 entries" in out and "train: bf16 channels_last  [nb201" in out and "runtime.amp" in out
    assert "bf16/channels_last" in out and "300 images/s, rounds spread 1.00x" in out
    assert main(["autotune", "--reset"]) == 0 and "removed" in capsys.readouterr().out
    assert not (cache_dir() / "autotune.json").exists()
    assert main(["autotune", "--reset"]) == 0 and "no cache" in capsys.readouterr().out
    (cache_dir() / "autotune.json").write_text("{not json")
    assert main(["autotune", "--show"]) == 2 and "wsnas autotune --reset" in capsys.readouterr().err


def test_train_records_its_choice_and_a_resume_and_evaluate_reuse_it(cifar, fresh_cache, mirror, capsys):
    run = fresh_cache / "run"
    args = ["train", "--run-dir", str(run), "--data", str(cifar), "--device", "cpu", "--quiet", "--set",
            "data.n_train=64", "--set", "data.n_valid=16", "--set", "model.C=4", "--set", "train.batch_size=32",
            "--set", "runtime.threads=1"]
    assert main([*args, "--epochs", "2"]) == 0
    first = json.loads((run / "runtime.json").read_text())["train"]
    assert "[runtime] train:" in capsys.readouterr().out
    (cache_dir() / "autotune.json").unlink(missing_ok=True)  # not written if the rounds disagreed (a fallback)
    (run / "checkpoints" / "epoch_0002.pt").unlink()  # as if killed during epoch 2
    assert main([*args, "--epochs", "2"]) == 0
    out = capsys.readouterr().out
    assert "resuming" in out and "recorded in" in out and "timing train steps" not in out
    assert json.loads((run / "runtime.json").read_text())["train"] == first
    evaluate = ["evaluate", str(run), "--archs", "2", "--quiet", "--set", "eval.batch_size=16",
                "--set", "eval.calib_batches=1"]
    assert main(evaluate) == 0
    assert "[runtime] evaluate:" in capsys.readouterr().out
    evaluated = json.loads((run / "runtime.json").read_text())["evaluate"]
    (cache_dir() / "autotune.json").unlink(missing_ok=True)
    (run / "scores.csv").unlink()
    assert main(evaluate) == 0
    assert "recorded in" in capsys.readouterr().out
    assert json.loads((run / "runtime.json").read_text())["evaluate"] == evaluated
