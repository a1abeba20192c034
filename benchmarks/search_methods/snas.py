"""SNAS: a soft Gumbel-softmax mixture, weights and arch in one joint step (Xie et al., 2019;
SNAS-Series/SNAS-Series SNAS/train_search.py and utils.py)."""
from wsnas.benchmarks.search_methods import xautodl
from wsnas.benchmarks.search_methods.record import SINGLE, Protocol, SearchMethod, reduced

METHOD = SearchMethod(
    name="snas",
    method_class="wsnas.supernets.search.snas:SNAS",
    level="single",
    data_use="weights and arch: one joint step on all training images (single level)",
    # SNAS/train_search.py defaults (plain momentum, 150 epochs, arch grad clip 10) and its linear temperature
    # schedule 1.0 -> 0.03 (Temp_Scheduler); its multi-GPU path uses Adam(3e-4, (0.5, 0.999), wd 1e-3) for the
    # arch parameters.
    protocol=Protocol(
        {"train.optimizer": "sgd", "train.momentum": 0.9, "train.nesterov": False, "train.lr_schedule": "cosine",
         "train.epochs": 150, "train.batch_size": 64, "train.lr": 0.025, "train.lr_min": 0.001,
         "train.weight_decay": 3e-4, "train.grad_clip": 5.0, **xautodl.ARCH_ADAM, "search.arch_grad_clip": 10.0,
         "search.tau_max": 1.0, "search.tau_min": 0.03},
        arch_updates=150 * 781,
        reductions={"cpu": reduced(6, SINGLE), "cpu@macro": reduced(4, SINGLE)}),
)
