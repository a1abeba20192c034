"""`wsnas proxy-check`: wsnas's zero-cost proxies of a benchmark sample's archs against the values its publisher
computed (wsnas.analysis.proxy_agreement), written to OUT/ with the config and the proxies table."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd

from wsnas.analysis.proxy_agreement import agreement_markdown, proxy_agreement
from wsnas.benchmarks.groundtruth import config_truth
from wsnas.benchmarks.registry import configured_space
from wsnas.core.atomic import atomic_path, write_json, write_text
from wsnas.core.config import Config
from wsnas.core.run_files import PROXIES
from wsnas.supernets.proxies import ProxySettings, compute_proxies
from wsnas.supernets.samplers import evaluation_sample

AGREEMENT = "agreement.csv"
SUMMARY = "summary.md"


def proxy_check(cfg: Config, out: Path, settings: ProxySettings,
                log: Callable[[str], None] = print) -> pd.DataFrame:
    """The proxies of the archs cfg's evaluation sample draws from the space (eval.n_archs, eval.seed; for a
    sampled benchmark, its archs with truth), computed into OUT/proxies.csv (resumable, from this machine's
    proxy cache where it holds them), and their agreement with the truth table's published values."""
    truth = config_truth(cfg)
    archs = evaluation_sample(configured_space(cfg), cfg.eval)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "config.json", {"config": cfg.to_dict(), "proxies": settings.to_dict(),
                                     "truth": cfg.analysis.truth, "truth_source": truth.source})
    values = compute_proxies(cfg, archs, out / PROXIES, settings, log)
    table = proxy_agreement(values, truth, cfg.analysis.truth)
    with atomic_path(out / AGREEMENT) as tmp:
        table.to_csv(tmp, index=False)
    described = (f"{', '.join(settings.proxies)} on the {settings.skeleton} skeleton, one batch of "
                 f"{settings.batch_size} CIFAR-10 training images, seed {settings.seed}; {len(values)} archs")
    write_text(out / SUMMARY, agreement_markdown(table, cfg.space, cfg.analysis.truth, described))
    return table
