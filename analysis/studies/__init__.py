"""The rank-disorder studies, one module per study (no torch).

Each study module holds its computation, its figure and RECORD, a wsnas.analysis.studies.record.Study: its name,
the directory kinds it applies to, the command that produces its document DIR/studies/<name>.json, its figure
drawer and its report caption. wsnas.analysis.studies.registry lists the records; `wsnas report` and
`wsnas studies` read nothing else about a study.

    inputs         a run's scores joined with the truth (StudyInput), and the document every study writes
    record         the Study record and the options of `wsnas studies`
    registry       every study's record, in report order
    runner         `wsnas studies`: the studies with a `compute`, on a run, a group or an audit
    audit          the studies of an audit directory (bias, operators) on one (score, truth) pair
    null_bands     the unbiased null the bias and operator studies judge their statistics against
    epochs, topk, size_bias, operator_bias    studies that `wsnas studies` computes from a run's scores
    pruning, finetune, noise                  studies that train or score subnets

Why the last three take two modules: training and scoring subnets needs torch (wsnas.supernets), and this package
never imports torch, so `wsnas report` and `wsnas studies` run without it. Their drivers live in the workflow layer
(wsnas.workflows.pruning_study, finetune_study, noise_study), which trains or scores and then calls the
torch-free part here: the analysis of the results, the figure and the report section.
"""
