"""`flowsight slice FILE:LINE[:COL] [--forward] [--thin] [--format text|json] [PATH…]`.

LINE and COL are 1-based; COL counts Unicode code points (as editors show them). Without COL
the slice starts from every variable on the line. The analysed program is the criterion's
project (its root) or the PATHs given. JSON: `{"criterion": {...}, "files": {"<path>": [lines]}}`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from flowsight import positions
from flowsight.commands.common import fail, resolve_targets
from flowsight.errors import FlowsightError, UsageError

CRITERION = re.compile(r"^(?P<file>.+?):(?P<line>\d+)(?::(?P<column>\d+))?$")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("slice", help="statements that affect (or are affected by) a value")
    parser.add_argument("criterion", metavar="FILE:LINE[:COL]")
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or directories of the program (default: the file's directory)")
    parser.add_argument("--forward", action="store_true", help="what the value affects (default: what affects it)")
    parser.add_argument("--thin", action="store_true", help="data dependences only")
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.add_argument("--root", metavar="DIR", help="project root (default: the common directory of the paths)")
    parser.set_defaults(handler=run)


def parse_criterion(text: str) -> tuple[Path, int, int | None]:
    match = CRITERION.match(text)
    if match is None:
        raise UsageError(f"criterion must be FILE:LINE[:COL], got {text!r}")
    line = int(match["line"])
    column = int(match["column"]) if match["column"] else None
    if line < 1 or (column is not None and column < 1):
        raise UsageError("LINE and COL are 1-based")
    file = Path(match["file"])
    if not file.is_file():
        raise UsageError(f"no such file: {match['file']}")
    return file.resolve(), line, column


def run(args: argparse.Namespace) -> int:
    import flowsight

    try:
        file, line, column = parse_criterion(args.criterion)
        program = args.paths or [str(file.parent)]
        root, files = resolve_targets([*program, str(file)], args.root)
        if not file.is_relative_to(root):
            raise UsageError(f"{file} lies outside the root {root}")
        lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
        if line > len(lines):
            raise UsageError(f"{args.criterion}: the file has {len(lines)} lines")
        byte_column = None
        if column is not None:
            byte_column = positions.column_to_byte(lines[line - 1], column - 1, "utf-32")
        result = flowsight.slice_code(
            [str(path) for path in files],
            root=str(root),
            file=str(file),
            line=line - 1,
            column=byte_column,
            forward=args.forward,
            thin=args.thin,
        )
    except FlowsightError as error:
        return fail(str(error))

    criterion = {
        "file": file.relative_to(root).as_posix(),
        "line": line,
        "column": column,
        "direction": "forward" if args.forward else "backward",
        "thin": args.thin,
    }
    files_to_lines = {path: sorted(lines) for path, lines in sorted(result.files.items())}
    if args.format == "json":
        sys.stdout.write(json.dumps({"criterion": criterion, "files": files_to_lines}, indent=2) + "\n")
        return 0
    for path, line_numbers in files_to_lines.items():
        source_lines = (root / path).read_text(encoding="utf-8", errors="replace").splitlines()
        print(f"{path}:")
        for number in line_numbers:
            text = source_lines[number - 1] if 0 < number <= len(source_lines) else ""
            print(f"  {number:>5}  {text}")
    return 0
