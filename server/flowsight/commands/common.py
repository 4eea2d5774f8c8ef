"""Helpers shared by the CLI subcommands: locating targets, reporting errors, writing output.

Every error a command reports is one line on stderr (`fail`) and exit status 2; status 1 is
kept for "findings". A PATH named on the command line that cannot be used (missing, a symbolic
link loop, unreadable, a directory that cannot be listed, not a regular file) is such an error.
Problems met below a named directory (a subdirectory that cannot be listed) are not: they are
reported per path, like the core's per-file errors, and the command goes on.
"""

from __future__ import annotations

import argparse
import errno
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from flowsight import positions
from flowsight._native import Discovery
from flowsight.config import ProjectConfig, find_pyproject, load_project_config, parse_threat_models
from flowsight.errors import UsageError
from flowsight.files import read_regular_file
from flowsight.report import escape_text


def fail(message: str) -> int:
    print(f"flowsight: error: {escape_text(message)}", file=sys.stderr)
    return 2


def warn(message: str) -> None:
    print(f"flowsight: {escape_text(message)}", file=sys.stderr)


def describe_os_error(error: OSError) -> str:
    """`path: reason` for an OSError, without Python's `[Errno N]` prefix."""
    reason = error.strerror or str(error)
    if error.errno == errno.ELOOP:
        reason = "symbolic link loop"
    return f"{error.filename}: {reason}" if error.filename is not None else reason


@dataclass(frozen=True)
class PathProblem:
    """A path below a named directory that could not be used; shaped like the core's FileError."""

    path: str
    kind: str
    message: str


def check_named_path(original: str) -> Path:
    """The resolved path of a PATH named on the command line, after checking it can be used:
    raises UsageError (one clear line) for a missing path, a symbolic link loop, a directory
    that cannot be listed, a file that cannot be opened, or something that is neither."""
    try:
        target = Path(original).resolve()
        status = os.stat(target)
    except RuntimeError:  # pathlib's "Symlink loop" (Python < 3.13)
        raise UsageError(f"{original}: symbolic link loop") from None
    except FileNotFoundError:
        broken = os.path.islink(original)
        raise UsageError(f"{original}: broken symbolic link" if broken else f"no such file or directory: {original}") from None
    except OSError as error:
        reason = "symbolic link loop" if error.errno == errno.ELOOP else error.strerror or str(error)
        raise UsageError(f"{original}: {reason}") from None
    try:
        if stat.S_ISDIR(status.st_mode):
            with os.scandir(target):
                pass
        elif stat.S_ISREG(status.st_mode):
            # Resolved already: a link or a FIFO swapped in since is not followed or waited on.
            os.close(os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY))
        else:
            raise UsageError(f"{original}: not a regular file or directory (a pipe, socket or device)")
    except OSError as error:
        what = "cannot list directory" if stat.S_ISDIR(status.st_mode) else "cannot read"
        raise UsageError(f"{original}: {what}: {error.strerror or error}") from None
    return target


@dataclass
class Targets:
    root: Path  # the display root: report paths are relative to it
    files: list[Path]
    problems: list[PathProblem]  # directories below named ones that could not be listed
    config: ProjectConfig  # the nearest pyproject.toml's [tool.flowsight] at or above the root
    discovery: Discovery  # the repositories and their files, for the core


def resolve_targets(paths: list[str], root: str | None) -> Targets:
    """The repositories named by PATHs, their files (through the core's one file walker:
    ignore files, hidden and tool directories, the project's `exclude`), the display root and
    the project configuration.

    Each named directory is a repository whose module names start at its project root (the
    parent of its outermost package, so `scan src/pkg` resolves `from pkg…`); with `root`, all is
    one repository there. Raises UsageError for a PATH that cannot be used (see
    `check_named_path`) or lies outside an explicit root, ConfigError for a bad configuration."""
    from flowsight._native import walk_files

    targets = [check_named_path(path) for path in paths]
    if root is not None:
        try:
            project_root = Path(root).resolve()
            is_directory = project_root.is_dir()
        except (OSError, RuntimeError):
            is_directory = False
        if not is_directory:
            raise UsageError(f"--root is not a directory: {root}")
        for original, target in zip(paths, targets, strict=True):
            if not target.is_relative_to(project_root):
                raise UsageError(f"{original} lies outside the root {project_root}")
    named = [str(target) for target in targets]
    discovery = walk_files(named, root=str(project_root) if root is not None else None)
    config = load_project_config(find_pyproject(discovery.root))
    if config.exclude and config.source is not None:
        discovery = walk_files(named, root=str(project_root) if root is not None else None, excludes=config.excludes())
    problems = [PathProblem(error.path, error.kind, error.message) for error in discovery.errors]
    return Targets(discovery.root, discovery.files, problems, config, discovery)


class PathNames:
    """The core names files by their paths relative to the root as UTF-8 text: the bytes of a
    name that is not UTF-8 become U+FFFD. This maps such a name back to the file's own name (a
    `str` with surrogate escapes, as `os.fsdecode` gives it), when exactly one file has it."""

    def __init__(self, root: Path, files: list[Path]) -> None:
        candidates: dict[str, set[str]] = {}
        for file in files:
            if not file.is_relative_to(root):
                continue
            name = file.relative_to(root).as_posix()
            lossy = os.fsencode(name).decode("utf-8", errors="replace")
            if lossy != name:
                candidates.setdefault(lossy, set()).add(name)
        self.originals = {lossy: names.pop() for lossy, names in candidates.items() if len(names) == 1}

    def original(self, path: str) -> str:
        return self.originals.get(path, path)


class ColumnCache:
    """Converts UTF-8 byte columns of files under `root` into other units, reading each file once.

    Lines are split as the core and LSP split them; a file that is not UTF-8 is decoded with
    replacement characters, as the core decodes it, so byte columns mean the same."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lines: dict[str, list[bytes]] = {}

    def line(self, path: str, line: int) -> bytes:
        if path not in self.lines:
            try:
                text = read_regular_file(self.root / path, within=[self.root]).decode("utf-8", errors="replace")
                self.lines[path] = [line.encode("utf-8") for line in positions.split_lines(text)]
            except (OSError, ValueError):
                self.lines[path] = []
        lines = self.lines[path]
        return lines[line] if 0 <= line < len(lines) else b""

    def code_points(self, path: str, line: int, byte_column: int) -> int:
        return positions.byte_column_to(self.line(path, line), byte_column, "utf-32")

    def utf16(self, path: str, line: int, byte_column: int) -> int:
        return positions.byte_column_to(self.line(path, line), byte_column, "utf-16")


def check_output_path(output: str) -> None:
    """Raises UsageError unless `output` names a file that can be written in an existing directory."""
    path = Path(output)
    if path.is_dir():
        raise UsageError(f"--output {output}: is a directory")
    if not path.parent.is_dir():
        raise UsageError(f"--output {output}: no such directory: {path.parent}")


def write_output(text: str, output: str | None, *, utf8: bool) -> None:
    """Writes a report to the `--output` file (UTF-8) or to stdout. JSON and SARIF (`utf8`) are
    always UTF-8; text goes out in the terminal's encoding, with escapes for what it cannot
    show. A reader that stops early (`| head`) ends the output quietly."""
    if output is not None:
        try:
            Path(output).write_bytes(text.encode("utf-8"))
        except OSError as error:
            raise UsageError(f"--output {output}: cannot write: {error.strerror or error}") from None
        return
    if sys.stdout is None:  # started with stdout closed
        raise UsageError("cannot write the report: stdout is closed")
    encoding = "utf-8" if utf8 else (sys.stdout.encoding or "utf-8")
    data = text.encode(encoding, errors="backslashreplace")
    try:
        sys.stdout.flush()
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is None:
            sys.stdout.write(data.decode(encoding))
        else:
            buffer.write(data)
        sys.stdout.flush()
    except BrokenPipeError:
        # Nothing more can be written; keep the interpreter from failing on its final flush.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


@dataclass
class AnalysisOptions:
    """What an analysis is asked to use, from the project's configuration and the command line."""

    rules_file: str | None
    disabled_rules: list[str]
    threat_models: list[str]


def add_analysis_arguments(parser: argparse.ArgumentParser) -> None:
    """`--rules`, `--disable` and `--threat-models`, as every analysing command takes them."""
    parser.add_argument("--rules", metavar="FILE", help="an extra TOML rule pack")
    parser.add_argument("--disable", metavar="RULE", action="append", default=[], help="switch off a rule id (repeatable)")
    parser.add_argument(
        "--threat-models",
        metavar="MODELS",
        help="comma-separated threat models whose sources count: remote (default), local, database, all",
    )


def analysis_options(config: ProjectConfig, rules: str | None, disable: list[str], threat_models: str | None) -> AnalysisOptions:
    """`--rules`, `--disable` and `--threat-models` over the project's `[tool.flowsight]`;
    raises UsageError for a rules file that does not exist or an unknown threat model."""
    rules_file = rules or config.rules_file
    if rules_file is not None and not Path(rules_file).is_file():
        raise UsageError(f"rules file not found: {rules_file}")
    models = config.threat_models
    if threat_models is not None:
        names = [name.strip() for name in threat_models.split(",") if name.strip()]
        models = parse_threat_models(names, "--threat-models")
    return AnalysisOptions(rules_file, [*config.disabled_rules, *disable], list(models))
