"""The `wsnas` command line: one parser assembled from the command modules (wsnas.commands.ORDER).

Commands that need torch import it only when they run, so `analyze` and `benchmarks` work without it.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from wsnas.commands import ORDER
from wsnas.commands.options import add_plugin_option
from wsnas.core.errors import WsnasError
from wsnas.core.plugins import load_plugins


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wsnas", description="Supernet ranking analysis for weight-sharing NAS.")
    sub = parser.add_subparsers(dest="command", required=True)
    for module_name in ORDER:
        importlib.import_module(module_name).add_parser(sub)
    add_plugin_option(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        load_plugins(getattr(args, "plugin", None) or [])
        args.func(args)
    except WsnasError as exc:
        print(f"wsnas: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("wsnas: interrupted; rerun the same command to resume from the last checkpoint", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
