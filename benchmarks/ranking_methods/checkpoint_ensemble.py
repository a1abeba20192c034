"""Checkpoint ensembles (eval.ensemble_epochs): the record. The score set itself is wsnas.analysis.ensembles."""
from wsnas.benchmarks.ranking_methods.record import RankingMethod

METHOD = RankingMethod(
    name="checkpoint-ensemble",
    summary="an arch's score is its mean rank over several checkpoints of one supernet (e.g. epochs 10, 15, 20), "
            "each checkpoint's ranks taken from its own scores of the same archs",
    source="snapshot ensembles (Huang et al., Snapshot Ensembles: Train 1, get M for free, ICLR 2017) applied to "
           "a supernet's ranking: the checkpoints of one training run vote, at no extra training",
    published="Huang et al. average the softmax outputs of the snapshots taken at the end of each cycle of a "
              "cyclic cosine schedule; wsnas averages the ranks the checkpoints give the archs (ranks need no calibration between "
              "checkpoints), over the checkpoints eval.ensemble_epochs names",
    config="eval.ensemble_epochs=[e1,e2,...] (scored with `wsnas evaluate --set eval.epochs=[...]`), reported by "
           "`wsnas analyze` as score set ensemble:e1+e2+...; wsnas.analysis.ensembles",
    cost="no training; each named checkpoint scored once (len(eval.ensemble_epochs) times the scoring of one "
         "checkpoint), and train.checkpoint_every must keep those checkpoints",
)
