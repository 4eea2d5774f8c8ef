"""The `flowsight` command line. Each subcommand lives in `flowsight/commands/<name>.py` and
exposes `add_parser(subparsers)`, which registers the parser and sets `handler(args) -> int`.

Exit codes: 0 success (and, for `scan`, no findings), 1 findings, 2 usage or input errors.
Every error is one line on stderr, `flowsight: error: …`, and exit status 2 — bad arguments,
unusable paths, bad configuration, files that cannot be written, and anything unexpected
(set FLOWSIGHT_TRACEBACK=1 to see the traceback of an unexpected error). An exception never
escapes with Python's status 1, which would read as "findings".
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from flowsight import __version__
from flowsight.errors import FlowsightError

# Order shown in --help. A module listed here must exist.
COMMAND_MODULES = ["scan", "export", "merge", "slice", "search", "index", "serve"]


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (`flowsight: error: …`, with where to find help)."""

    def error(self, message: str) -> NoReturn:
        from flowsight.commands.common import fail

        fail(f"{message} (see `{self.prog} --help`)")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="flowsight",
        description="Taint paths, program slices and code search for Python codebases.",
        epilog="Exit status: 0 no findings, 1 findings (scan), 2 usage or input errors.",
    )
    parser.add_argument("--version", action="version", version=f"flowsight {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")  # parsers of type(parser)
    subparsers.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"flowsight.commands.{name}").add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from flowsight.commands.common import describe_os_error, fail

    parser = build_parser()
    args = parser.parse_args(argv)  # exits with status 2 on usage errors
    try:
        return int(args.handler(args))
    except FlowsightError as error:
        return fail(str(error))
    except OSError as error:
        return fail(describe_os_error(error))
    except RecursionError:
        return fail("input nested too deeply to process")
    except MemoryError:
        return fail("out of memory")
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        if os.environ.get("FLOWSIGHT_TRACEBACK"):
            raise
        return fail(f"internal error: {type(error).__name__}: {error} (set FLOWSIGHT_TRACEBACK=1 for the traceback; please report it)")


if __name__ == "__main__":
    sys.exit(main())
