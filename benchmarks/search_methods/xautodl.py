"""The settings xautodl's NB201 search scripts share across methods, and the table their published results come
from. Checked against the code (read, not copied): D-X-Y/AutoDL-Projects f46486e,
configs/nas-benchmark/algos/{RANDOM,ENAS,DARTS,GDAS}.config, scripts-search/NAS-Bench-201-algos/*.sh,
exps/NAS-Bench-201-algos/*.py, xautodl/models/cell_searchs/search_model_enas_utils.py (controller)."""
from __future__ import annotations

from typing import Any

WEIGHTS: dict[str, Any] = {"train.optimizer": "sgd", "train.momentum": 0.9, "train.nesterov": True,
                           "train.lr_schedule": "cosine", "train.grad_clip": 5.0}
ARCH_ADAM: dict[str, Any] = {"search.arch_lr": 3e-4, "search.arch_betas": [0.5, 0.999],
                             "search.arch_weight_decay": 1e-3, "search.arch_eps": 1e-8}
DARTS: dict[str, Any] = {**WEIGHTS, "train.batch_size": 64, "train.lr": 0.025, "train.lr_min": 0.001,
                         "train.weight_decay": 5e-4, **ARCH_ADAM}  # DARTS.config, shared by RSPS and GDAS
NB201_TABLE5 = "NB201 (ICLR 2020) Table 5"
