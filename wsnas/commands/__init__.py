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
    "wsnas.analysis.results_cli",
    "wsnas.analysis.audit",
    "wsnas.analysis.paired_cli",
    "wsnas.supernets.study_cli",
    "wsnas.analysis.studies",
    "wsnas.analysis.report",
    "wsnas.supernets.bench",
    "wsnas.supernets.standalone",
    "wsnas.supernets.proxies_cli",
    "wsnas.supernets.search_cli",
    "wsnas.analysis.search_report",
    "wsnas.supernets.autotune_cli",
)
