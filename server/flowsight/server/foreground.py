"""The open documents analysed first: per folder, a small native `Workspace` holding the
documents open in the editor and the files they import (one level), analysed on a pool of its
own, so an open document's diagnostics follow an edit in what its neighbourhood costs, whatever
the size of the workspace and whether the workspace analysis is running. A document just opened
is analysed alone first; the workspace with its imports is built and analysed aside
(`Foreground.prepare`) and takes over once it has caught up with the edits made meanwhile
(applied and analysed off the lock, so the takeover leaves no cold analysis for an edit to wait for).

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
from collections.abc import Callable
from pathlib import Path

import flowsight
from flowsight.server.pending import PendingChange, PendingChanges

# Threads of the foreground's own pool (its workspace is small).
THREADS = 1
# Rounds in which `prepare` applies and analyses, off the lock, the edits made while it built
# the next workspace (each round's analysis is incremental: it costs what those edits changed).
CATCH_UP_ROUNDS = 3


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
        self.root = root
        # Made by the first `apply` (a worker thread: making one reads the project's
        # configuration, never on the event loop).
        self.workspace: flowsight.Workspace | None = None
        self.lock = threading.Lock()
        self.pending = PendingChanges()
        # Open documents it holds, and the files loaded from disk for them (imports).
        self.open: set[str] = set()
        self.loaded: set[str] = set()
        # While `prepare` builds the next workspace: the changes applied since it copied the
        # open documents (replayed on it before it takes over).
        self.replay: list[tuple[str, PendingChange]] | None = None
        # The workspace changed without a change of an open document (`prepare`): analyse and
        # publish again.
        self.fresh = False

    def _new_workspace(self) -> flowsight.Workspace:
        workspace = flowsight.Workspace(str(self.root))
        workspace.set_threads(THREADS)
        return workspace

    def apply(self, opened: set[str]) -> set[str]:
        """Applies the queued changes (under `lock`) and forgets documents no longer open
        (`opened`). Returns the open documents whose text changed."""
        if self.workspace is None:
            self.workspace = self._new_workspace()
        changed = set()
        for key, changes in self.pending.take().items():
            for change in changes:
                if self.replay is not None:
                    self.replay.append((key, change))
                if apply_change(self.workspace, key, change):
                    if change.remove or change.load:
                        self.open.discard(key)
                    else:
                        self.open.add(key)
                        changed.add(key)
                else:
                    self.open.discard(key)
                    changed.discard(key)
                    break
        for key in self.open - opened:
            self.open.discard(key)
            if key in self.workspace.versions() and key not in self.loaded:
                self.workspace.remove_file(key)
        return changed

    def prepare(self, readable: list[str], modules: dict[str, str], analyse: Callable[[flowsight.Workspace], object]) -> bool:
        """When the open documents import other files than those loaded: builds the next
        workspace — the open documents as they are now, the files they import read from disk,
        one analysis (`analyse`) — without the lock, so edits are served meanwhile by the
        current one; then replays the changes applied since, and it takes over. Returns whether
        it did (worker thread)."""
        with self.lock:
            if self.workspace is None:
                return False
            wanted: set[str] = set()
            for key in self.open:
                wanted |= imported_keys(self.workspace.imported_names(key), modules)
            wanted -= self.open
            if wanted == self.loaded:
                return False
            documents = {key: (self.workspace.text(key), self.workspace.version(key)) for key in self.open}
            self.replay = []
        try:
            following = self._new_workspace()
            for key, (text, version) in documents.items():
                following.update_file(key, text, version)
            if wanted:
                following.load_files([str(self.root / key) for key in sorted(wanted)], within=readable)
            analyse(following)  # the cold part: imports analysed once, off the lock
            # Catching up off the lock too: the edits made meanwhile are applied and analysed
            # here, so the workspace takes over analysed at (nearly) the current text and the
            # analysis after the takeover, which an edit arriving then waits for, has (nearly)
            # nothing left to do.
            for _ in range(CATCH_UP_ROUNDS):
                with self.lock:
                    replay, self.replay = self.replay or [], []
                if not replay:
                    break
                for key, change in replay:
                    if not apply_change(following, key, change):
                        return False
                analyse(following)
            with self.lock:
                for key, change in self.replay or []:
                    if not apply_change(following, key, change):
                        return False
                self.workspace, self.loaded, self.fresh = following, wanted, True
                return True
        finally:
            with self.lock:
                self.replay = None


def apply_change(workspace: flowsight.Workspace, key: str, change: PendingChange) -> bool:
    """Applies one queued change of an open document; False when the core refuses it (the
    session's own queue resends the whole text, its resync; until then the workspace analysis
    serves the document)."""
    try:
        if change.remove or change.load:
            if key in workspace.versions():
                workspace.remove_file(key)
        elif change.edits is None:
            workspace.update_file(key, change.text or "", change.version)
        else:
            workspace.apply_edits(key, change.version, change.edits, "utf-16")
    except flowsight.errors.FlowsightError:
        if key in workspace.versions():
            workspace.remove_file(key)
        return False
    return True
