"""`wsnas bench --gpu --quick` at smoke size on the CPU: the eager variants and the study part are measured, the
CUDA-only and compile variants are skipped with their reason, and `--compare` reads its JSON."""
import json

import pytest

pytest.importorskip("torch")

from wsnas.cli import main  # noqa: E402
from wsnas.supernets.bench import gpu_check  # noqa: E402


def test_gpu_check_smoke_on_cpu(tmp_path, capsys):
    out = tmp_path / "gpu"
    assert main(["bench", "--gpu", "--quick", "--device", "cpu", "--threads", "1", "--quiet", "--out", str(out)]) == 0
    doc = json.loads((out / "gpu_check.json").read_text())
    variants = doc["train"]["variants"]
    assert len(variants) == len(gpu_check.VARIANTS)
    for name, entry in variants.items():
        if entry["compile"] or entry["cuda_graphs"]:
            assert "skipped" in entry and ("CUDA" in entry["skipped"] or "GPU only" in entry["skipped"])
        else:
            assert len(entry["images_per_s"]["values"]) == gpu_check.ROUNDS and entry["images_per_s"]["median"] > 0
    study = doc["study"]
    assert "error" not in study, study.get("error")
    assert study["epoch"]["seconds"] > 0 and study["subnets"]["count"] == gpu_check.SIZES["quick"].subnets
    assert study["paper_study_minutes"] > 0
    assert {"gpu_study/paper study minutes (extrapolated)", "gpu_study/subnets per second"} <= set(doc["figures"])
    report = capsys.readouterr().out
    assert "the paper study extrapolated" in report and "CUDA graphs need a CUDA device" in report
    assert main(["bench", "--compare", str(out / "gpu_check.json"), "--against", str(out / "gpu_check.json")]) == 0
    assert "1.00x" in capsys.readouterr().out
