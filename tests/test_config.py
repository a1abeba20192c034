"""Config: presets, YAML/TOML files, overrides, and the resume check of a run directory."""
import json

import pytest

from wsnas.core.config import PRESETS, ConfigError, build_config, config_from_dict, diff_configs
from wsnas.core.runs import RunDir, RunError


def test_presets_scale_as_documented():
    smoke, cpu, paper = (build_config(p) for p in ("smoke", "cpu", "paper"))
    assert set(PRESETS) == {"smoke", "cpu", "paper"}
    assert (paper.model.C, paper.model.N, paper.data.n_train) == (16, 5, None)  # benchmark skeleton, full split
    assert smoke.train.epochs < cpu.train.epochs < paper.train.epochs
    assert smoke.eval.n_archs < cpu.eval.n_archs < paper.eval.n_archs
    assert cpu.eval.n_archs >= 200


def test_file_then_overrides(tmp_path):
    yaml_file = tmp_path / "c.yaml"
    yaml_file.write_text("train:\n  epochs: 7\n  lr: 0.2\neval:\n  epochs: [3, 7]\n")
    toml_file = tmp_path / "c.toml"
    toml_file.write_text("[model]\nC = 12\n[data]\nn_train = 'null'\n")
    cfg = build_config("smoke", yaml_file, {"train.lr": "0.01", "data.n_train": "null"})
    assert (cfg.train.epochs, cfg.train.lr, cfg.eval.epochs, cfg.data.n_train) == (7, 0.01, [3, 7], None)
    assert build_config("cpu", toml_file).model.C == 12


@pytest.mark.parametrize("overrides, phrase", [
    ({"train.epoch": 3}, "unknown config key 'train.epoch'"),
    ({"optim.lr": 3}, "unknown config section 'optim'"),
    ({"train.epochs": "many"}, "needs a value like 20"),
    ({"runtime.progress": "maybe"}, "needs true/false"),
])
def test_bad_overrides_are_named(overrides, phrase):
    with pytest.raises(ConfigError) as info:
        build_config("cpu", None, overrides)
    assert phrase in str(info.value)


def test_unknown_preset_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="unknown preset 'huge'; presets: smoke, cpu, paper"):
        build_config("huge")
    with pytest.raises(ConfigError, match="does not exist"):
        build_config("cpu", tmp_path / "nope.yaml")


def test_saved_config_roundtrips():
    cfg = build_config("paper", None, {"eval.epochs": "[10, 20]"})
    again = config_from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg and diff_configs(cfg.to_dict(), again.to_dict()) == {}


def test_run_dir_saves_provenance_and_refuses_a_different_config(tmp_path):
    run = RunDir(tmp_path / "run")
    run.init(build_config("smoke"))
    saved = json.loads(run.config_path.read_text())
    assert saved["config"]["preset"] == "smoke"
    assert {"wsnas", "packages", "git_commit", "python", "created"} <= set(saved["provenance"])
    run.init(build_config("smoke", None, {"eval.n_archs": 20, "runtime.device": "cpu"}))  # free to change
    with pytest.raises(RunError) as info:
        run.init(build_config("smoke", None, {"train.lr": 0.5, "model.C": 8}))
    message = str(info.value)
    assert "model.C: saved 4, now 8" in message and "train.lr: saved 0.05, now 0.5" in message


def test_off_and_on_stay_text(tmp_path):
    file = tmp_path / "r.yaml"
    file.write_text("runtime: {amp: off, channels_last: on}\n")
    assert (build_config("cpu", file).runtime.amp, build_config("cpu", file).runtime.channels_last) == ("off", "on")
    cfg = build_config("cpu", None, {"runtime.amp": "off", "runtime.channels_last": "off"})
    assert (cfg.runtime.amp, cfg.runtime.channels_last) == ("off", "off")
