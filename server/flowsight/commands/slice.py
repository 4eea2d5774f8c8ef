"""`flowsight slice FILE:LINE[:COL] [--forward] [--thin] [--format text|json] [PATH…]`.

LINE and COL are 1-based; COL counts Unicode code points (as editors show them). Lines are
counted as LSP and the core count them (only `\\r\\n`, `\\r` and `\\n` end a line). Without COL
the slice starts from every variable on the line. The analysed program is the criterion's
project (its root) or the PATHs given. JSON: `{"criterion": {...}, "files": {"<path>": [lines]},
"incomplete": {"total": N, "bounds": {...}}}` (the bounds the slice met, named as `scan` names
them: `places_cut`; and the CFG's: `flattened_scopes`, `shared_finally_copies`). Text output
shows each line of the slice, control characters escaped, and a note when a bound was met.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from flowsight import positions, report
from flowsight.commands.common import PathNames, check_named_path, fail, resolve_targets, write_output
from flowsight.errors import FlowsightError, UsageError
from flowsight.files import read_regular_file

CRITERION = re.compile(r"^(?P<file>.+?):(?P<line>\d+)(?::(?P<column>\d+))?$", re.DOTALL)


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
    file = check_named_path(match["file"])
    if file.is_dir():
        raise UsageError(f"{match['file']}: is a directory, not a file")
    return file, line, column


def read_lines(path: Path) -> list[str]:
    """The lines of a file as the core sees them (not UTF-8: decoded with replacement)."""
    return positions.split_lines(read_regular_file(path).decode("utf-8", errors="replace"))


def run(args: argparse.Namespace) -> int:
    import flowsight

    try:
        file, line, column = parse_criterion(args.criterion)
        program = args.paths or [str(file.parent)]
        targets = resolve_targets([*program, str(file)], args.root)
        root = targets.root
        if not file.is_relative_to(root):
            raise UsageError(f"{file} lies outside the root {root}")
        try:
            lines = read_lines(file)
        except OSError as error:
            raise UsageError(f"{args.criterion}: cannot read {file}: {error.strerror or error}") from None
        line_count = len(lines) - 1 if lines[-1] == "" else len(lines)
        if line > line_count:
            raise UsageError(f"{args.criterion}: the file has {line_count} lines")
        byte_column = None
        if column is not None:
            byte_column = positions.column_to_byte(lines[line - 1], column - 1, "utf-32")
        result = flowsight.slice_code(
            [str(path) for path in targets.files],
            root=str(root),
            file=str(file),
            line=line - 1,
            column=byte_column,
            forward=args.forward,
            thin=args.thin,
        )
    except FlowsightError as error:
        return fail(str(error))

    names = PathNames(root, [*targets.files, file])
    criterion = {
        "file": file.relative_to(root).as_posix(),
        "line": line,
        "column": column,
        "direction": "forward" if args.forward else "backward",
        "thin": args.thin,
    }
    files_to_lines = {names.original(path): sorted(lines) for path, lines in sorted(result.files.items())}
    note = report.incomplete_note(result.stats, toward="a larger slice")
    if args.format == "json":
        bounds = report.analysis_bounds(result.stats)
        text = report.dumps(
            {"criterion": criterion, "files": files_to_lines, "incomplete": {"total": sum(bounds.values()), "bounds": bounds}}
        )
    else:
        output: list[str] = []
        for path, line_numbers in files_to_lines.items():
            try:
                source_lines = read_lines(root / path)
            except OSError:
                source_lines = []  # gone since the analysis: the line numbers still stand
            output.append(f"{report.escape_text(path)}:")
            for number in line_numbers:
                source = source_lines[number - 1] if 0 < number <= len(source_lines) else ""
                output.append(f"  {number:>5}  {report.escape_text(source)}")
        if note is not None:
            output.append(note)
        text = "".join(f"{line}\n" for line in output)
    try:
        write_output(text, None, utf8=args.format == "json")
    except FlowsightError as error:
        return fail(str(error))
    return 0
