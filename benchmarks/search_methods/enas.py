"""ENAS: an LSTM controller trained by REINFORCE (Pham et al., 2018; xautodl ENAS)."""
from wsnas.benchmarks.search_methods import xautodl
from wsnas.benchmarks.search_methods.record import Protocol, Published, SearchMethod, reduced
from wsnas.core.config import Config


def controller_updates(cfg: Config, steps_per_epoch: int) -> int:
    """search.controller_steps per epoch, from the first (no warm-up)."""
    return max(cfg.train.epochs, 0) * cfg.search.controller_steps


METHOD = SearchMethod(
    name="enas",
    method_class="wsnas.supernets.search.enas:ENAS",
    level="bilevel",
    data_use="weights: weight split (controller paths); controller reward and candidate scoring: arch split",
    # ENAS.config (cosine with T_max 10 epochs over 250) + ENAS.sh + the Controller's defaults
    protocol=Protocol(
        {**xautodl.WEIGHTS, "train.epochs": 250, "train.batch_size": 128, "train.lr": 0.05, "train.lr_min": 5e-4,
         "train.lr_period": 10, "train.weight_decay": 2.5e-4,
         "search.controller_hidden": 32, "search.controller_layers": 2, "search.controller_tanh": 2.5,
         "search.controller_temperature": 5.0, "search.controller_lr": 1e-3,
         "search.controller_betas": [0.0, 0.999], "search.controller_eps": 1e-3,
         "search.controller_entropy_weight": 1e-4, "search.controller_baseline_decay": 0.99,
         "search.controller_steps": 50, "search.controller_aggregate": 20, "search.controller_grad_clip": 5.0,
         "search.candidates": 100},
        arch_updates=250 * 50,
        reductions={"smoke": {"train.batch_size": 64, "train.lr_period": 1},
                    "cpu": reduced(30, 20, train__batch_size=64, search__controller_steps=20,
                                   search__controller_aggregate=5),
                    "cpu@macro": reduced(16, 20)}),
    arch_lr="search.controller_lr",
    arch_updates=controller_updates,
    score_name="controller log-likelihood",
    published=Published(53.89, 0.58, xautodl.NB201_TABLE5),
)
