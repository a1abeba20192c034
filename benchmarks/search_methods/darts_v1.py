"""DARTS-V1: a softmax mixture on every slot, first-order arch step (Liu et al., 2019; xautodl DARTS-V1)."""
from wsnas.benchmarks.search_methods import xautodl
from wsnas.benchmarks.search_methods.record import BILEVEL, Protocol, Published, SearchMethod, reduced

# DARTS.config + DARTS-V1.sh (--arch_learning_rate 0.0003 --arch_weight_decay 0.001)
SETTINGS = {**xautodl.DARTS, "train.epochs": 50}

METHOD = SearchMethod(
    name="darts-v1",
    method_class="wsnas.supernets.search.darts:DARTS",
    level="bilevel",
    data_use="weights: weight split; arch step: arch split",
    protocol=Protocol(SETTINGS, arch_updates=50 * 390,
                      reductions={"cpu": reduced(8, BILEVEL), "cpu@macro": reduced(6, BILEVEL)}),
    published=Published(54.30, 0.00, xautodl.NB201_TABLE5),
)
