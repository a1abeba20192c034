"""One module per `wsnas` command. Each has add_parser(subparsers), which adds its subcommand(s) and sets `func`.

Commands import torch only when they run, so `analyze`, `audit`, `report` and `benchmarks` work without it.
"""
# The command modules in the order `wsnas --help` lists them.
ORDER = (
    "wsnas.commands.train",
    "wsnas.commands.study",
    "wsnas.commands.evaluate",
    "wsnas.commands.analyze",
    "wsnas.commands.benchmarks",
    "wsnas.commands.results",
    "wsnas.commands.audit",
    "wsnas.commands.compare",
    "wsnas.commands.prune_study",
    "wsnas.commands.protocol_study",
    "wsnas.commands.noise_study",
    "wsnas.commands.finetune_study",
    "wsnas.commands.studies",
    "wsnas.commands.report",
    "wsnas.commands.bench",
    "wsnas.commands.standalone",
    "wsnas.commands.proxies",
    "wsnas.commands.proxy_check",
    "wsnas.commands.search",
    "wsnas.commands.search_report",
    "wsnas.commands.autotune",
)
