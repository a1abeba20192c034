"""Few-shot NAS (train.fewshot_slot): the record. The split supernet itself is wsnas.supernets.fewshot."""
from wsnas.benchmarks.ranking_methods.record import RankingMethod

METHOD = RankingMethod(
    name="fewshot",
    summary="after train.fewshot_warmup epochs of the one-shot supernet, slot train.fewshot_slot is split: one "
            "sub-supernet per choice of the slot, each warm-started from the one-shot weights and trained only on "
            "the paths with its choice there; an arch is scored by the sub-supernet that covers it",
    source="Zhao, Wang, Tian, Fonseca & Guo, Few-shot Neural Architecture Search, ICML 2021 (arXiv:2006.06863)",
    published="the one-shot supernet is split on one compound edge into one sub-supernet per operation of that "
              "edge (5 on NAS-Bench-201, up to 7 elsewhere), each initialised from the trained one-shot supernet "
              "(transfer learning) and trained on its own sub-space, and each arch evaluated by its own "
              "sub-supernet. Which NB201 edge the paper splits and its epochs before and after the split could not "
              "be confirmed here; wsnas's "
              "defaults (the first slot in the protocol, half of the epochs before the split) are wsnas's choices",
    config="train.fewshot_slot (a slot index, e.g. an NB201 edge 0-5; null = off), train.fewshot_warmup (one-shot "
           "epochs; null = half of train.epochs); wsnas.supernets.fewshot",
    cost="no extra forward/backward pass: after the split, step i of an epoch trains sub-supernet i mod m, so each "
         "of the m sub-supernets gets 1/m of the remaining steps and the total equals the one-shot run's; m times "
         "the weights in memory and in each checkpoint",
)
