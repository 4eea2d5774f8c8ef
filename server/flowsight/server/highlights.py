"""How `textDocument/documentHighlight` is scheduled. Editors ask on every cursor move, so:

- highlights run in their own single thread, never in the default executor the analysis job
  and the other requests share (a burst of highlights cannot delay the next analysis, and so
  the diagnostics, by taking every pool thread while an analysis holds the session's lock);
- only the newest request is computed: one that a newer request superseded before it started,
  or while it waited for the session's lock, is answered with no highlights without touching
  the core (`superseded` counts them)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class Highlights:
    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flowsight-highlight")
        self._lock = threading.Lock()
        self._latest = 0
        self.answered = 0
        self.superseded = 0

    def ticket(self) -> int:
        """A new request's number (taken on the event loop, when the request arrives)."""
        with self._lock:
            self._latest += 1
            return self._latest

    def wanted(self, ticket: int) -> bool:
        """Whether no newer request arrived since `ticket`'s."""
        with self._lock:
            return ticket == self._latest

    def run(self, ticket: int, compute: Callable[..., T | None], *args: object) -> T | None:
        """`compute(*args, still_wanted=…)` in the highlight thread, unless superseded; `compute`
        calls `still_wanted()` again once it holds the session's lock and answers None when a
        newer request came meanwhile."""
        if not self.wanted(ticket):
            self.superseded += 1
            return None
        result = compute(*args, still_wanted=lambda: self.wanted(ticket))
        if result is None:
            self.superseded += 1
        else:
            self.answered += 1
        return result

    def stats(self) -> dict:
        return {"answered": self.answered, "superseded": self.superseded}
