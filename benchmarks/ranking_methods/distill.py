"""Ranking distillation from a zero-cost proxy (train.distill_teacher): the record. The loss is
wsnas.supernets.distill, the teacher wsnas.supernets.distill_teacher."""
from wsnas.benchmarks.ranking_methods.record import RankingMethod

METHOD = RankingMethod(
    name="distill",
    summary="every train.distill_every steps, train.distill_archs archs are ranked by a zero-cost proxy (the "
            "teacher, train.distill_teacher, e.g. synflow) and a pairwise hinge on their losses on the current "
            "batch (the teacher's better arch should have the lower loss, by train.distill_margin) is added, "
            "times train.distill_weight",
    source="Dong, Niu, Li, Tian, Wang, Wei, Pan & Li, RD-NAS: Enhancing One-shot Supernet Ranking Ability via "
           "Ranking Distillation from Zero-cost Proxies, 2023 (arXiv:2301.09850)",
    published="zero-cost proxies are the cheap teacher and a margin ranking loss distils their ranking of sampled "
              "subnets into the one-shot supernet (SPOS); the paper's margin subnet sampler sets the margin from a "
              "group distance between the sampled subnets, where wsnas uses one fixed margin. The paper's numbers "
              "of subnets per step, loss weight and choice of proxy could not be confirmed here: wsnas's defaults "
              "(4 archs per step, margin 0.05, weight 1, the teacher named by the user) are wsnas's choices",
    config="train.distill_teacher (a proxy of wsnas.supernets.proxies; null = off), train.distill_weight, "
           "train.distill_every, train.distill_archs, train.distill_margin; wsnas.supernets.distill",
    cost="train.distill_archs extra forward+backward passes every train.distill_every steps, and one proxy "
         "computation per distinct arch drawn (cached for the run's process), both counted as training time "
         "(train_log.csv seconds; teacher_seconds is the proxies' share); no truth label",
)
