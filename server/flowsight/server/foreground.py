"""The open documents analysed first: per folder, a small native `Workspace` holding the
documents open in the editor and the files they import (one level), analysed on a pool of its
own, so an open document's diagnostics follow an edit in what its neighbourhood costs, whatever
the size of the workspace and whether the workspace analysis is running.

Invariants:
- The foreground never replaces the workspace analysis: it publishes only open documents, only
  for their newest version, and only while the workspace analysis has not published that
  version itself. The workspace analysis (session.py) still runs after every change and
  publishes the whole program's result for every file, an open document's too when it differs
  (a call into a module the foreground does not hold, or a caller elsewhere, can add or remove
  a finding).
- It has its own lock and its own queue of changes (the session queues an open document's
  changes in both), so it never waits for the session's lock; its core calls run in worker
  threads, never on the event loop.
- Files it reads from disk are read by the core inside the folder's scopes, as indexing reads
  them (`load_files(within=…)`); an open document's text is the editor's.
"""

from __future__ import annotations

import threading
from pathlib import Path

import flowsight
from flowsight.server.pending import PendingChanges

# Threads of the foreground's own pool (its workspace is small).
THREADS = 1


def module_keys(keys: list[str]) -> dict[str, str]:
    """Dotted name → file key for every dotted tail of every file's path (`src/pkg/mod.py` is
    `src.pkg.mod`, `pkg.mod` and `mod`; a package's `__init__.py` is named by its directory), the
    shortest key winning: imports are found whatever the source roots are."""
    found: dict[str, str] = {}
    for key in sorted(keys, key=lambda key: (key.count("/"), key)):
        if not key.endswith((".py", ".pyi")):
            continue
        parts = key.rsplit(".", 1)[0].split("/")
        if parts[-1] == "__init__":
            parts.pop()
        for start in range(len(parts)):
            found.setdefault(".".join(parts[start:]), key)
    return found


def imported_keys(names: list[str], modules: dict[str, str]) -> set[str]:
    """The files the qualified names `names` (a file's imports) name: each name's longest dotted
    prefix that is a module (`a.b.f` → `a/b.py`)."""
    keys = set()
    for name in names:
        parts = name.split(".")
        for end in range(len(parts), 0, -1):
            key = modules.get(".".join(parts[:end]))
            if key is not None:
                keys.add(key)
                break
    return keys


class Foreground:
    """One folder's open documents and their imports (see the module's invariants)."""

    def __init__(self, root: Path) -> None:
        self.workspace = flowsight.Workspace(str(root))
        self.workspace.set_threads(THREADS)
        self.lock = threading.Lock()
        self.pending = PendingChanges()
        # Open documents it holds, and the files loaded from disk for them (imports).
        self.open: set[str] = set()
        self.loaded: set[str] = set()

    def apply(self, readable: list[str], root: Path, modules: dict[str, str], opened: set[str]) -> set[str]:
        """Applies the queued changes (under `lock`); loads the imports of documents it did not
        hold yet, and forgets files no open document imports any more. Returns the open
        documents whose text changed."""
        changed = set()
        for key, changes in self.pending.take().items():
            for change in changes:
                try:
                    if change.remove or change.load:
                        if key in self.workspace.versions():
                            self.workspace.remove_file(key)
                        self.open.discard(key)
                    elif change.edits is None:
                        self.workspace.update_file(key, change.text or "", change.version)
                        self.open.add(key)
                        changed.add(key)
                    else:
                        self.workspace.apply_edits(key, change.version, change.edits, "utf-16")
                        changed.add(key)
                except flowsight.errors.FlowsightError:
                    # The session's own queue resends the whole text (its resync); until then
                    # the workspace analysis serves this document.
                    self.open.discard(key)
                    if key in self.workspace.versions():
                        self.workspace.remove_file(key)
                    changed.discard(key)
                    break
        self.open &= opened
        wanted: set[str] = set()
        for key in self.open:
            wanted |= imported_keys(self.workspace.imported_names(key), modules)
        wanted -= self.open
        for key in self.loaded - wanted:
            if key in self.workspace.versions() and key not in self.open:
                self.workspace.remove_file(key)
        new = sorted(wanted - self.loaded)
        if new:
            self.workspace.load_files([str(root / key) for key in new], within=readable)
        self.loaded = wanted
        return changed
