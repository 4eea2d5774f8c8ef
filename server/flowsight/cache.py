"""Where the persistent cache of a project lives (the engine reads and writes it; see
ARCHITECTURE.md, `persist.rs`).

Order: `--no-cache` (none) → `--cache-dir DIR` → `[tool.flowsight] cache` (a directory, or false
for none) → `.flowsight-cache/` at the project root when it can be written (in the server, only
when the root is not above the folder opened) → the user's cache directory
(`$XDG_CACHE_HOME/flowsight/projects/<hash of the root>`, default `~/.cache`).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flowsight.config import ProjectConfig

DIRECTORY_NAME = ".flowsight-cache"


def user_cache_dir(root: Path) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    digest = hashlib.sha256(str(root).encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return Path(base) / "flowsight" / "projects" / f"{root.name or 'root'}-{digest}"


def writable_directory(directory: Path) -> bool:
    """Whether `directory` exists (or can be made in a writable parent) and can be written."""
    if directory.is_dir():
        return os.access(directory, os.W_OK | os.X_OK)
    parent = directory.parent
    return parent.is_dir() and os.access(parent, os.W_OK | os.X_OK)


def cache_dir(
    root: Path, config: ProjectConfig, *, cache_dir: str | None = None, no_cache: bool = False, at_root: bool = True
) -> Path | None:
    """The cache directory for the project at `root`, or None for no cache. `at_root=False`:
    never `.flowsight-cache/` at the root (the server, for a package folder whose root lies
    above the folder it was given)."""
    if no_cache:
        return None
    if cache_dir is not None:
        return Path(cache_dir).absolute()
    if config.cache is False:
        return None
    if isinstance(config.cache, str):
        return Path(config.cache)
    local = root / DIRECTORY_NAME
    if at_root and writable_directory(local):
        return local
    return user_cache_dir(root)
