"""Helpers shared by the CLI subcommands: locating targets, reporting usage errors."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from flowsight import positions
from flowsight.errors import UsageError

SKIPPED_DIRECTORIES = {"__pycache__", "node_modules", ".git", ".hg", ".svn", ".venv", "venv", ".tox", ".mypy_cache"}


def fail(message: str) -> int:
    print(f"flowsight: error: {message}", file=sys.stderr)
    return 2


def python_files(directory: Path) -> list[Path]:
    found: list[Path] = []
    for current, directories, files in os.walk(directory):
        directories[:] = sorted(d for d in directories if d not in SKIPPED_DIRECTORIES and not d.startswith("."))
        found.extend(Path(current) / name for name in sorted(files) if name.endswith((".py", ".pyi")))
    return found


def resolve_targets(paths: list[str], root: str | None) -> tuple[Path, list[Path]]:
    """The project root and the Python files named by PATHs (directories are walked).

    Raises UsageError for a PATH that does not exist or lies outside an explicit root."""
    targets = [Path(path).resolve() for path in paths]
    for original, target in zip(paths, targets, strict=True):
        if not target.exists():
            raise UsageError(f"no such file or directory: {original}")
    if root is not None:
        project_root = Path(root).resolve()
        if not project_root.is_dir():
            raise UsageError(f"--root is not a directory: {root}")
    else:
        directories = [target if target.is_dir() else target.parent for target in targets]
        project_root = Path(os.path.commonpath([str(d) for d in directories]))
    files: list[Path] = []
    for original, target in zip(paths, targets, strict=True):
        if not target.is_relative_to(project_root):
            raise UsageError(f"{original} lies outside the root {project_root}")
        files.extend(python_files(target) if target.is_dir() else [target])
    return project_root, list(dict.fromkeys(files))


class ColumnCache:
    """Converts UTF-8 byte columns of files under `root` into other units, reading each file once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lines: dict[str, list[bytes]] = {}

    def line(self, path: str, line: int) -> bytes:
        if path not in self.lines:
            try:
                self.lines[path] = (self.root / path).read_bytes().splitlines()
            except OSError:
                self.lines[path] = []
        lines = self.lines[path]
        return lines[line] if 0 <= line < len(lines) else b""

    def code_points(self, path: str, line: int, byte_column: int) -> int:
        return positions.byte_column_to(self.line(path, line), byte_column, "utf-32")

    def utf16(self, path: str, line: int, byte_column: int) -> int:
        return positions.byte_column_to(self.line(path, line), byte_column, "utf-16")
