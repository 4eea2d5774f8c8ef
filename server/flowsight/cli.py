"""The `flowsight` command line. Each subcommand is a function `run_<name>(args) -> int`.

Exit codes: 0 success (and, for `scan`, no findings), 1 findings, 2 usage or input errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from flowsight import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowsight", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"flowsight {__version__}")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND")
    subcommands.required = True
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
