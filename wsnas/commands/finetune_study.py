"""`wsnas finetune-study`: ranking and cost of few-batch fine-tuning of each subnet (wsnas.workflows.finetune_study;
torch is imported only when the command runs)."""
from __future__ import annotations

import argparse

from wsnas.commands.options import add_config_args, csv_list, existing_run


def add_parser(sub: argparse._SubParsersAction) -> None:
    f = sub.add_parser("finetune-study", help="ranking and cost of few-batch fine-tuning of each subnet")
    f.add_argument("run", help="a trained run directory")
    add_config_args(f, with_preset=False)
    f.add_argument("--batches", default="0,1,5,10", help="fine-tuning batches per subnet to compare")
    f.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from wsnas.analysis.studies.finetune import format_rows
    from wsnas.workflows.finetune_study import finetune_study

    batches = csv_list(args.batches, int, "--batches", "0,1,5,10")
    cfg, run_dir = existing_run(args)
    document = finetune_study(cfg, run_dir, batches)
    print(format_rows(document["rows"]))
    print(f"[finetune-study] {run_dir.path / 'studies' / 'finetune.json'}")
