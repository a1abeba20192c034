"""GAEA: exponentiated-gradient arch updates on the simplex, on a darts or gdas base (Li et al., 2021;
liamcli/gaea_release: README (NB201: run.epochs=25, exclude_zero=true), configs/cnn/config.yaml (scheduler_epochs
50), mode/search_nasbench201.yaml, search_method/{edarts,egdas}/*nasbench201.yaml,
cnn/architect/architect_{edarts,egdas}.py)."""
from wsnas.benchmarks.search_methods.record import SINGLE, Protocol, Published, SearchMethod, reduced

# GAEA's NB201 runs: 25 epochs of a cosine schedule laid out over 50 (scheduler_epochs), plain momentum, wd 3e-4
WEIGHTS = {"train.optimizer": "sgd", "train.momentum": 0.9, "train.nesterov": False, "train.lr_schedule": "cosine",
           "train.batch_size": 64, "train.lr": 0.025, "train.lr_min": 0.001, "train.weight_decay": 3e-4,
           "train.grad_clip": 5.0}
PER_SPACE = {"nb201": {"search.exclude": ["none"]}}  # the release's NB201 runs: search.exclude_zero=true

METHOD = SearchMethod(
    name="gaea",
    method_class="wsnas.supernets.search.gaea:GAEA",
    level="single",
    data_use="ERM (single level): weights and arch on all training images, separate batches; bilevel: as DARTS",
    bases={
        # edarts on nasbench201: EG step 0.1, no entropic regulariser, clamp 1e-5, epochs 25 of 50. The cpu
        # reductions keep the cosine's published shape (the run stops half way through a schedule twice its length).
        "darts": Protocol(
            {**WEIGHTS, "train.epochs": 25, "train.lr_period": 50, "search.arch_lr": 0.1,
             "search.arch_weight_decay": 0.0, "search.eg_clamp": 1e-5},
            arch_updates=25 * 781, per_space=PER_SPACE,
            reductions={"smoke": {"train.lr_period": 4},
                        "cpu": reduced(4, SINGLE, train__lr_period=8),
                        "cpu@macro": reduced(3, SINGLE, train__lr_period=6)}),
        # egdas on nasbench201: EG step 0.01, entropic regulariser 0.01, tau 10 -> 0.1 after 50 warm-up epochs;
        # the release names no epoch count for it, so GDAS's 250 are used
        "gdas": Protocol(
            {**WEIGHTS, "train.epochs": 250, "search.arch_lr": 0.01, "search.arch_weight_decay": 0.01,
             "search.eg_clamp": 1e-5, "search.tau_max": 10.0, "search.tau_min": 0.1,
             "search.arch_warmup_epochs": 50},
            arch_updates=200 * 781, per_space=PER_SPACE,
            reductions={"smoke": {"search.arch_warmup_epochs": 1},
                        "cpu": reduced(20, SINGLE, warmup=4, search__arch_warmup_epochs=4),
                        "cpu@macro": reduced(12, SINGLE, warmup=2, search__arch_warmup_epochs=2)}),
    },
    published=Published(94.10, None, "GAEA (ICLR 2021), GAEA DARTS (ERM) on NB201, searched per dataset"),
)
