"""Changes of files waiting for the analysis job, coalesced as they are queued.

Invariants:
- Changes are queued on the event loop and taken, all at once, by the analysis job in a worker
  thread; the two meet under one lock held for a few dictionary operations, never for a call
  into the core.
- Per file, what waits is at most one base change — the whole text, read the file from disk,
  or forget it — followed by one run of edits. A base change replaces everything queued before
  it; edits join the edits queued before them (kept in order, with the newest version), so the
  core applies any number of edits with one call and one re-parse, and an analysis never
  starts on a version older than the newest one queued.
- Only a whole-text change holds a document's text: queued edits cost what their new text does.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import flowsight


@dataclass
class PendingChange:
    version: int | None
    edits: list[flowsight.TextEdit] | None  # None: replace with `text` (or load, or remove)
    text: str | None = None
    # Instead: read the file from disk (by the core, in the analysis job), or forget it.
    load: bool = False
    remove: bool = False


LOAD = PendingChange(None, None, load=True)
REMOVE = PendingChange(None, None, remove=True)


class PendingChanges:
    """The changes waiting per file key (see the module's invariants)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changes: dict[str, list[PendingChange]] = {}

    def add(self, key: str, change: PendingChange) -> None:
        with self._lock:
            queued = self._changes.setdefault(key, [])
            if change.edits is None:
                queued[:] = [change]
            elif queued and queued[-1].edits is not None:
                # Never seen by the analysis job yet (`take` hands over the whole dictionary).
                last = queued[-1]
                last.edits.extend(change.edits)  # type: ignore[union-attr]
                last.version = change.version
            else:
                queued.append(PendingChange(change.version, list(change.edits)))

    def take(self) -> dict[str, list[PendingChange]]:
        """Everything queued, in queueing order per file; the queue is empty afterwards."""
        with self._lock:
            changes, self._changes = self._changes, {}
        return changes

    def keys(self) -> list[str]:
        """The files with queued changes."""
        with self._lock:
            return list(self._changes)

    def __contains__(self, key: str) -> bool:
        return key in self._changes

    def __bool__(self) -> bool:
        return bool(self._changes)
