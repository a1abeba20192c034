"""Every study, in the order `wsnas report` shows them (no torch).

Adding a study: write wsnas/analysis/studies/<name>.py with its computation, figure and RECORD (a Study), and add
its RECORD here. A study that `wsnas studies` computes sets RECORD.compute; one that trains or scores subnets
also has a driver in wsnas/workflows/ and a command in wsnas/commands/.
"""
from __future__ import annotations

from wsnas.analysis.studies import epochs, finetune, noise, operator_bias, pruning, size_bias, topk
from wsnas.analysis.studies.record import AUDIT, Study

STUDIES: tuple[Study, ...] = (epochs.RECORD, topk.RECORD, size_bias.RECORD, operator_bias.RECORD, pruning.RECORD,
                              finetune.RECORD, noise.RECORD)
BY_NAME: dict[str, Study] = {s.name: s for s in STUDIES}
COMPUTED: tuple[str, ...] = tuple(s.name for s in STUDIES if s.compute is not None)  # what `wsnas studies` runs
FOR_AUDIT: tuple[str, ...] = tuple(s.name for s in STUDIES if AUDIT in s.applies_to)  # ... on an audit
