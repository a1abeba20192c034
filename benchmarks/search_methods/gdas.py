"""GDAS: one path per step from a hard Gumbel-softmax sample, straight-through (Dong & Yang, 2019; xautodl GDAS)."""
from wsnas.benchmarks.search_methods import xautodl
from wsnas.benchmarks.search_methods.record import BILEVEL, Protocol, Published, SearchMethod, reduced

METHOD = SearchMethod(
    name="gdas",
    method_class="wsnas.supernets.search.gdas:GDAS",
    level="bilevel",
    data_use="weights: weight split; arch step: arch split",
    # GDAS.config + GDAS.sh (--tau_max 10 --tau_min 0.1)
    protocol=Protocol({**xautodl.DARTS, "train.epochs": 250, "search.tau_max": 10.0, "search.tau_min": 0.1},
                      arch_updates=250 * 390,
                      reductions={"cpu": reduced(40, BILEVEL), "cpu@macro": reduced(20, BILEVEL)}),
    published=Published(93.61, 0.09, xautodl.NB201_TABLE5),
)
