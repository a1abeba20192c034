"""The results and report of `wsnas search` runs (no torch).

    results.py  a search directory's seed runs, the summary over seeds, SNAS's trade-off and the Pareto front
    ranking.py  the method's own ranking of a run against the ground truth, beside its supernet's
    figures.py  the report's figures (derived arch per epoch, op shares, rankings, the trade-off)
    report.py   the report page (`wsnas search-report`)
"""
