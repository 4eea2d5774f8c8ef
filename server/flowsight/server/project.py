"""Where a workspace folder's project is: the root the server analyses and the pyproject.toml
whose `[tool.flowsight]` it honours.

A folder opened by an editor is usually the project. When it is a package directory itself
(it holds `__init__.py`: Neovim started inside it, a client without root markers), module names
and cross-file findings need the directory its top-level package sits in. The project is then
the nearest directory at or above the folder holding a marker (pyproject.toml, setup.cfg,
setup.py, .git), and the analysed root is the parent of the outermost package between the
folder and that project directory (the project directory itself in a flat layout; `src/` in a
src layout).

Without a marker, a package folder is still named from above its outermost package (the
core's `module_root`, as the CLI names a package directory it scans), so `from pkg…` resolves;
but only the folder itself is indexed and read (`scope`).

Bounds: above the folder only the markers' and `__init__.py` files' existence is checked;
nothing is read or indexed outside the scope (the root, or without a marker the folder); the
home directory and the filesystem root are never a project (a dotfiles `~/.git` must not make a
whole home directory the root).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", ".git")


@dataclass(frozen=True)
class Project:
    folder: Path  # the workspace folder as the client gave it
    root: Path  # the directory analysed (module names are relative to it)
    directory: Path | None  # the directory holding a marker, if one was found
    pyproject: Path | None  # its pyproject.toml, if any
    scope: Path | None = None  # the directory indexed and read (None: the root)

    @property
    def moved(self) -> bool:
        return self.root != self.folder


def is_package(directory: Path) -> bool:
    return (directory / "__init__.py").is_file() or (directory / "__init__.pyi").is_file()


def has_marker(directory: Path) -> bool:
    return any((directory / marker).exists() for marker in MARKERS)


def never_a_project(directory: Path) -> bool:
    try:
        homes = {Path.home(), Path.home().resolve()}
    except (RuntimeError, OSError):
        homes = set()
    return directory in homes or directory.parent == directory


def project_directory(folder: Path) -> Path | None:
    """The nearest directory at or above `folder` holding a marker (not home, not `/`)."""
    for directory in [folder, *folder.parents]:
        if never_a_project(directory):
            return None
        if has_marker(directory):
            return directory
    return None


def find_project(folder: Path) -> Project:
    # As the client gave it (absolute, not resolved): published URIs must be the client's.
    folder = Path(os.path.abspath(folder))
    directory = project_directory(folder)
    root = folder
    if directory is not None and is_package(folder):
        # Up through the packages, never above the project directory.
        while root != directory and is_package(root):
            root = root.parent
    scope = None
    if directory is None and is_package(folder):
        from flowsight._native import module_root

        root, scope = Path(module_root(str(folder))), folder
    pyproject = directory / "pyproject.toml" if directory is not None else None
    if pyproject is not None and not pyproject.is_file():
        pyproject = None
    return Project(folder=folder, root=root, directory=directory, pyproject=pyproject, scope=scope)
