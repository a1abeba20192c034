"""Figures shared by several reports (matplotlib's Agg canvas, no torch); each study's own figure lives in its
module (wsnas.analysis.studies.<name>).

    style        the rc style, `styled`, `save` and small helpers (CI text, error bars)
    scatter      scores against the ground truth, with correlations and the seed-noise ceiling
    correlation  rank correlation against a setting, mean accuracy on a twin axis (epochs, fine-tuning)
    forest       statistics against an unbiased null's band (size bias, operator bias)
    pairs        heat maps of column pairs and exact top-k curves (audits, benchmark correlations)
    baselines    a result against its free baselines
    ticks        a log axis of counts whose tick labels never overlap (the top-k figures)
"""
