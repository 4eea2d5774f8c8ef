"""The `flowsight` command line. Each subcommand lives in `flowsight/commands/<name>.py` and
exposes `add_parser(subparsers)`, which registers the parser and sets `handler(args) -> int`.

Exit codes: 0 success (and, for `scan`, no findings), 1 findings, 2 usage or input errors.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from flowsight import __version__

# Order shown in --help. A module listed here must exist.
COMMAND_MODULES = ["scan", "slice", "index", "serve"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowsight",
        description="Taint paths, program slices and code search for Python codebases.",
    )
    parser.add_argument("--version", action="version", version=f"flowsight {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"flowsight.commands.{name}").add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # exits with status 2 on usage errors
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
