"""The audit of `wsnas audit`: ranking metrics of any space's scores against its ground truth, both tables made
outside wsnas (no torch).

    run.py         plan the audit from its inputs, run every (score, truth) pair, write its directory, format it
    tables.py      read and join the two tables (separator sniffing, line numbers, key diagnostics)
    baselines.py   the first score column against the free baselines and the other columns, paired on the archs
    replicates.py  score columns that are replicates of one method: the replicated figures and verdicts
"""
