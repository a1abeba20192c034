"""DARTS-V2: DARTS-V1 with the unrolled second-order arch gradient (Liu et al., 2019; xautodl DARTS-V2)."""
from wsnas.benchmarks.search_methods import darts_v1, xautodl
from wsnas.benchmarks.search_methods.record import BILEVEL, Protocol, Published, SearchMethod, reduced

METHOD = SearchMethod(
    name="darts-v2",
    method_class="wsnas.supernets.search.darts:DARTSV2",
    level="bilevel",
    data_use="weights: weight split; arch step: arch split (its unrolled step also reads the weight batch)",
    # DARTS-V2.sh: as DARTS-V1, finite differences r = 0.01
    protocol=Protocol({**darts_v1.SETTINGS, "search.unrolled_r": 0.01}, arch_updates=50 * 390,
                      reductions={"cpu": reduced(3, BILEVEL), "cpu@macro": reduced(2, BILEVEL)}),
    published=Published(54.30, 0.00, xautodl.NB201_TABLE5),
)
