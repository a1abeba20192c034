"""`wsnas report`: one self-contained HTML page and a Markdown summary of runs, groups, studies and audits (no torch).

    render      render_report: plans every directory's figures, draws them, writes the pages
    run_plan    a run's, a replicate group's or a study directory's figures: baselines, scatter, every study
    audit_plan  an audit's or a benchmark correlation's figures
    baselines   the free-baseline figures of a run, a group or an audit, and their captions
    score_sets  the label of each result: every setting that differs between the score sets of the report
    spaces      the figure across search spaces
    pages       the page model (Item, Missing, Section, PlannedFigure) and the HTML and Markdown pages
    reading     what the report reads: studies/*.json, metrics.json
"""
