"""RSPS, random search with parameter sharing (Li & Talwalkar, 2019; xautodl RANDOM-NAS)."""
from wsnas.benchmarks.search_methods import xautodl
from wsnas.benchmarks.search_methods.record import Protocol, Published, SearchMethod

METHOD = SearchMethod(
    name="rsps",
    method_class="wsnas.supernets.search.rsps:RSPS",
    level="bilevel",
    data_use="weights: weight split (uniform paths); candidate scoring (one batch per candidate): arch split",
    # RANDOM.config + RANDOM-NAS.sh (--select_num 100)
    protocol=Protocol({**xautodl.DARTS, "train.epochs": 250, "search.candidates": 100},
                      reductions={"cpu": {"train.epochs": 30}, "cpu@macro": {"train.epochs": 16}}),
    arch_lr=None,
    score_name="accuracy on a fixed set of arch batches (search.rank_batches), the same for every arch",
    published=Published(84.07, 3.61, xautodl.NB201_TABLE5),
    path_sampler=True,
)
