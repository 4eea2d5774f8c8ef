"""Embedding in the background: one low-priority thread that keeps the vector index up to date.

`submit` queues documents (the newest version of a chunk wins) and returns at once. The thread first
adds every queued chunk the embedding cache already holds (no model call), then embeds the rest a
batch at a time, writing each batch to the cache before adding it, so an interrupted run resumes
where it stopped. The thread runs at the lowest CPU priority (Linux: per thread, inherited by the
threads it starts); an embedder failure is reported in the progress and retried with backoff.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flowsight.search.documents import Document
from flowsight.search.errors import EmbeddingError

if TYPE_CHECKING:
    from flowsight.search.vector_index import VectorIndex

log = logging.getLogger(__name__)

BATCH = 32
RETRY_DELAYS = (1.0, 5.0, 30.0, 120.0)


@dataclass(frozen=True)
class EmbeddingProgress:
    done: int
    """Chunks made searchable by vectors since the service started (from the cache or embedded)."""
    total: int
    """Chunks submitted since the service started (done + pending)."""
    embedded: int
    """Of `done`, how many needed the embedder (not found in the cache)."""
    error: str | None = None
    """The last embedder failure while chunks are still pending (retried with backoff)."""

    @property
    def pending(self) -> int:
        return self.total - self.done

    @property
    def complete(self) -> bool:
        return self.done >= self.total


class BackgroundEmbedder:
    """`on_progress` is called from the embedding thread after each cache pass and batch (a server
    hands it to its event loop); it must not block."""

    def __init__(
        self,
        index: VectorIndex,
        batch: int = BATCH,
        on_progress: Callable[[EmbeddingProgress], None] | None = None,
        nice: int = 19,
    ) -> None:
        self.index = index
        self.batch = batch
        self.on_progress = on_progress
        self.nice = nice
        self._condition = threading.Condition()
        self._pending: dict[str, Document] = {}
        self._in_flight: dict[str, Document] = {}
        self._removed_in_flight: set[str] = set()  # forgotten while being embedded
        self._checked: set[str] = set()  # pending chunks already looked up in the cache
        self._done = 0
        self._total = 0
        self._embedded = 0
        self._error: str | None = None
        self._failures = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="flowsight-embedding", daemon=True)
        self._thread.start()

    def submit(self, documents: Iterable[Document]) -> None:
        """Queues the documents whose vectors are missing or stale; returns at once. A document equal
        to what the index holds cancels a queued older version of its chunk."""
        documents = [document for document in documents if document.embedded]
        stale = {document.chunk_id for document in self.index.stale(documents)}
        with self._condition:
            for document in documents:
                flying = self._in_flight.get(document.chunk_id)
                if document.chunk_id in stale or (flying is not None and flying.content_hash != document.content_hash):
                    if document.chunk_id not in self._pending:
                        self._total += 1
                    self._pending[document.chunk_id] = document
                    self._checked.discard(document.chunk_id)
                    self._removed_in_flight.discard(document.chunk_id)
                elif self._pending.pop(document.chunk_id, None) is not None:
                    self._total -= 1
                    self._checked.discard(document.chunk_id)
            self._condition.notify_all()

    def forget(self, chunk_ids: Iterable[str]) -> None:
        """Drops the chunks from the queue and the index (also when being embedded right now)."""
        chunk_ids = list(chunk_ids)
        with self._condition:
            for chunk_id in chunk_ids:
                if self._pending.pop(chunk_id, None) is not None:
                    self._total -= 1
                    self._checked.discard(chunk_id)
                if chunk_id in self._in_flight:
                    self._removed_in_flight.add(chunk_id)
            self.index.remove(chunk_ids)

    def progress(self) -> EmbeddingProgress:
        with self._condition:
            return self._progress()

    def _progress(self) -> EmbeddingProgress:
        return EmbeddingProgress(self._done, self._total, self._embedded, self._error if self._total > self._done else None)

    def wait(self, timeout: float | None = None) -> bool:
        """Blocks until nothing is pending (True) or `timeout` passes (False). For the CLI and tests."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._condition:
            while self._pending or self._in_flight:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._condition.wait(remaining)
            return True

    def close(self, timeout: float = 5.0) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        self._thread.join(timeout)

    # ------------------------------------------------------------------ the thread

    def _run(self) -> None:
        lower_priority(self.nice)
        while True:
            with self._condition:
                while not self._pending and not self._closed:
                    self._condition.wait()
                if self._closed:
                    return
                unchecked = [document for chunk_id, document in self._pending.items() if chunk_id not in self._checked]
            if unchecked:
                self._add_cached(unchecked)
                continue
            with self._condition:
                batch = list(self._pending.values())[: self.batch]
                for document in batch:
                    del self._pending[document.chunk_id]
                    self._checked.discard(document.chunk_id)
                    self._in_flight[document.chunk_id] = document
            if not batch:
                continue
            try:
                self.index.embed_and_add(batch)
            except EmbeddingError as error:
                self._failed(batch, str(error))
                continue
            except Exception as error:  # a bug must not end the thread silently
                log.exception("embedding failed")
                self._failed(batch, f"internal error: {error}")
                continue
            with self._condition:
                self._finish(batch)
                self._failures = 0
                self._error = None
            self._notify()

    def _add_cached(self, work: list[Document]) -> None:
        """Adds the cached vectors of `work` to the index; the rest stays pending, marked as checked."""
        missing = {document.chunk_id for document in self.index.add_cached(work)}
        with self._condition:
            for document in work:
                current = self._pending.get(document.chunk_id)
                if document.chunk_id in missing:
                    if current is document:
                        self._checked.add(document.chunk_id)
                elif current is document:
                    del self._pending[document.chunk_id]
                    self._done += 1
                elif current is None and document.chunk_id not in self._in_flight:
                    self.index.remove([document.chunk_id])  # forgotten meanwhile
            self._condition.notify_all()
        self._notify()

    def _finish(self, batch: list[Document]) -> None:
        for document in batch:
            del self._in_flight[document.chunk_id]
            if document.chunk_id in self._removed_in_flight:
                self._removed_in_flight.discard(document.chunk_id)
                self._total -= 1
                if document.chunk_id not in self._pending:
                    self.index.remove([document.chunk_id])
            else:
                self._done += 1
                self._embedded += 1
        self._condition.notify_all()

    def _failed(self, batch: list[Document], message: str) -> None:
        with self._condition:
            for document in batch:
                del self._in_flight[document.chunk_id]
                if document.chunk_id in self._removed_in_flight or document.chunk_id in self._pending:  # forgotten, or superseded
                    self._removed_in_flight.discard(document.chunk_id)
                    self._total -= 1
                else:
                    self._pending[document.chunk_id] = document
                    self._checked.add(document.chunk_id)
            self._error = message
            delay = RETRY_DELAYS[min(self._failures, len(RETRY_DELAYS) - 1)]
            self._failures += 1
            self._condition.notify_all()
        log.warning("embedding: %s; retrying in %.0f s", message, delay)
        self._notify()
        with self._condition:
            self._condition.wait_for(lambda: self._closed, timeout=delay)

    def _notify(self) -> None:
        if self.on_progress is not None:
            try:
                self.on_progress(self.progress())
            except Exception:
                log.exception("progress callback failed")


def lower_priority(nice: int) -> None:
    """Lowers the calling thread's CPU priority (Linux: a thread is a task with its own nice value)."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        current = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), max(current, nice))
    except OSError as error:
        log.debug("cannot lower the embedding thread's priority: %s", error)
