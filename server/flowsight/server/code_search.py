"""Code search in the server: the lexical index built without holding the session's lock, vectors
per folder through `flowsight.search.SearchService`, and what the analysis knows about each hit.

Invariants:
- Nothing here runs on the event loop except progress and messages (handed over with
  `call_soon_threadsafe`); every call into the core holds the session's lock only briefly. A
  folder's lexical index is built from a snapshot with no lock held (≈0.5 s on Django) and
  installed brought up to date with the edits made meanwhile, so analyses (diagnostics) never
  wait for it.
- Vectors are set up by a folder's first `vector`/`hybrid` search (never at start: an embedder
  costs CPU or sends code out), then kept current after every analysis; embedding runs in the
  service's low-priority thread with work-done progress, resumes from the embedding cache, and
  never blocks a search: until every chunk has its vector, hybrid answers from the lexical
  index and the response says so (`partial`, `vectorsPending`, `notice`).
- A folder's lexical index is reopened from its cache directory when one was written there (brought
  up to date with the files changed since), and written back in the background with the analysis
  cache (`Session.persist`, PERSIST_DELAY after things pause; never per keystroke).
- The embedder comes from the project's `[tool.flowsight.search]` (bundled MiniLM by default when
  installed; an OpenAI-compatible endpoint when configured, and then a message names the host
  that receives code). Keys come from the environment only and are never logged. An embedder
  that fails leaves lexical answers and one message, never an error.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lsprotocol import types

import flowsight
from flowsight import positions
from flowsight.search.documents import chunk_header
from flowsight.search.facts import NO_FACTS, ChunkFacts, facts_by_chunk
from flowsight.search.service import ALL_CANDIDATES

if TYPE_CHECKING:
    from flowsight.search import EmbeddingProgress, SearchService
    from flowsight.server.session import Folder, Session

log = logging.getLogger("flowsight.server")

VECTOR_MODES = ("hybrid", "vector")


@dataclass
class Place:
    """Where a chunk is now (1-based, inclusive lines)."""

    chunk_id: str
    path: str
    qualified_name: str
    kind: str
    start_line: int
    end_line: int


@dataclass
class Found:
    folder: Folder
    place: Place
    score: float
    facts: ChunkFacts
    preview: str = ""


@dataclass
class Answer:
    mode: str
    """The mode that answered."""
    hits: list[Found]
    notice: str | None = None
    pending: int = 0
    """Chunks of the searched folders still waiting for their vectors."""


@dataclass
class Vectors:
    """A folder's vector side: the service, and what it was given per file. Holding the folder keeps
    its id (the key in `CodeSearch.vectors`) from being reused."""

    folder: Folder
    service: SearchService
    files: dict[str, set[str]] = field(default_factory=dict)  # path → chunk ids submitted
    paths: dict[str, str] = field(default_factory=dict)  # chunk id → path
    synced: bool = False
    warned: bool = False


class CodeSearch:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.loop: asyncio.AbstractEventLoop | None = None
        self.vectors: dict[int, Vectors] = {}  # by id(folder)
        self._setup = threading.Lock()  # one vector service set up at a time
        self._building = threading.Lock()  # one lexical index built at a time
        self._facts: dict[int, tuple[Folder, list, dict[str, ChunkFacts]]] = {}  # id(folder) → (folder, findings, facts)
        self._progress: dict[int, EmbeddingProgress] = {}
        self._reporter: Any = None
        self._reporter_pending = False

    # ------------------------------------------------------------------ lexical
    def ensure_lexical(self, folder: Folder) -> None:
        """Builds the folder's lexical index if it has none, without holding the session lock
        while building (worker thread)."""
        session = self.session
        with self._building:  # a concurrent search waits for this build rather than making its own
            with session.lock:
                session._apply_pending(folder)
                build = folder.workspace.search_snapshot()
            if build is None:
                return
            build.build()
            with session.lock:
                installed = folder.workspace.install_search_index(build)
                notice = folder.workspace.search_index_stats()["notice"] if installed else None
            if notice is not None:
                session.report(f"flowsight: {notice}")
            if installed:
                # Built or reopened and brought up to date: written back once things pause.
                session.persist_soon(folder)

    # ------------------------------------------------------------------ vectors
    def vectors_of(self, folder: Folder) -> Vectors:
        """The folder's vector service, set up now if it has none (worker thread, no session lock:
        loading a model or asking an endpoint for its dimensions takes time)."""
        with self._setup:
            existing = self.vectors.get(id(folder))
            if existing is not None:
                return existing
            from flowsight.search import SearchService, SearchSettings

            settings = SearchSettings()
            if folder.config is not None and folder.config.search:
                try:
                    settings = SearchSettings.from_mapping(folder.config.search, "[tool.flowsight.search]")
                except flowsight.errors.FlowsightError as error:
                    self._message(types.MessageType.Error, f"flowsight: {error}; code search uses the defaults")
            # Embeddings live in the folder's cache directory with its analysis and search index.
            settings = settings.cached_in(folder.cache)

            def lexical(query: str, limit: int) -> list:
                with self.session.lock:
                    self.session._apply_pending(folder)
                    return folder.workspace.search(query, limit)

            key = id(folder)
            service = SearchService.from_settings(settings, lexical, on_progress=lambda progress: self._progressed(key, progress))
            vectors = Vectors(folder, service)
            self.vectors[key] = vectors
            embedder = getattr(service.vectors, "embedder", None)
            if embedder is not None and getattr(embedder, "remote_host", None) and hasattr(embedder, "disclosure"):
                self._message(types.MessageType.Info, f"flowsight: {embedder.disclosure()}")
            elif service.vectors is None:
                log.info("code search in %s is lexical-only: %s", folder.root, service.unavailable)
            return vectors

    def sync(self, folder: Folder, vectors: Vectors) -> None:
        """Hands the folder's changed files (all of them the first time) to the vector service
        (worker thread). Only copying chunks and texts holds the session lock."""
        from flowsight.search import documents_from_chunks

        session = self.session
        with session.lock:
            session._apply_pending(folder)
            keys = set(folder.workspace.files()) | set(vectors.files) if not vectors.synced else set(folder.search_dirty)
            folder.search_dirty.clear()
            current: dict[str, tuple[list, str] | None] = {}
            for key in keys:
                try:
                    current[key] = (folder.workspace.chunks(key), folder.workspace.text(key))
                except flowsight.errors.UnknownFileError:
                    current[key] = None
        documents = []
        gone: list[str] = []
        for key, state in current.items():
            before = vectors.files.pop(key, set())
            if state is None:
                gone.extend(before)
                continue
            chunks, text = state
            made = documents_from_chunks(chunks, lambda _path, text=text: text)
            ids = {document.chunk_id for document in made}
            gone.extend(before - ids)
            vectors.files[key] = ids
            for chunk_id in ids:
                vectors.paths[chunk_id] = key
            documents.extend(made)
        for chunk_id in gone:
            vectors.paths.pop(chunk_id, None)
        if not vectors.synced:
            vectors.service.replace_all(documents)
            vectors.synced = True
        else:
            if gone:
                vectors.service.remove(gone)
            if documents:
                vectors.service.update(documents)

    def after_analysis(self) -> None:
        """Keeps folders with vectors current (worker thread, after each analysis)."""
        for folder in list(self.session.folders):
            vectors = self.vectors.get(id(folder))
            if vectors is not None and folder.search_dirty:
                try:
                    self.sync(folder, vectors)
                except Exception:  # noqa: BLE001 - logged; search keeps working
                    log.exception("updating the vectors of %s failed", folder.root)

    def forget(self, folder: Folder) -> None:
        vectors = self.vectors.pop(id(folder), None)
        self._progress.pop(id(folder), None)
        self._facts.pop(id(folder), None)
        if vectors is not None:
            vectors.service.close()

    # ------------------------------------------------------------------ queries
    def search(self, query: str, limit: int, mode: str, reaches: Collection[str] = (), reads_input: bool = False) -> Answer:
        """The best `limit` chunks of every folder, best first (worker thread). Filters keep only
        chunks the last analysis found reaching one of `reaches` / reading input."""
        folders = [folder for folder in list(self.session.folders) if not folder.loose or folder.workspace.files()]
        filtered = bool(reaches) or reads_input
        found: list[Found] = []
        notices: list[str] = []
        answered = "lexical" if mode in VECTOR_MODES else mode
        pending = 0
        for folder in folders:
            self.ensure_lexical(folder)
            facts = self.facts(folder)
            allowed = {chunk_id for chunk_id, fact in facts.items() if fact.matches(reaches, reads_input)} if filtered else None
            if allowed is not None and not allowed:
                continue
            if mode in VECTOR_MODES:
                vectors = self.vectors_of(folder)
                self.sync(folder, vectors)
                result = vectors.service.search(query, limit, mode, allowed)
                answered = result.mode if result.mode != "lexical" or answered == "lexical" else answered
                if result.notice and result.notice not in notices:
                    notices.append(result.notice)
                progress = vectors.service.progress()
                pending += progress.pending if progress is not None else 0
                places = self._places(folder, [hit.chunk_id for hit in result.hits], vectors)
                found.extend(
                    Found(folder, places[hit.chunk_id], hit.score, facts.get(hit.chunk_id, NO_FACTS))
                    for hit in result.hits
                    if hit.chunk_id in places
                )
            else:
                with self.session.lock:
                    self.session._apply_pending(folder)
                    count = limit if allowed is None else ALL_CANDIDATES
                    hits = folder.workspace.search(query, count, mode)
                hits = [hit for hit in hits if allowed is None or hit.chunk_id in allowed][:limit]
                found.extend(
                    Found(
                        folder,
                        Place(hit.chunk_id, hit.path, hit.qualified_name, hit.kind, hit.start_line, hit.end_line),
                        hit.score,
                        facts.get(hit.chunk_id, NO_FACTS),
                    )
                    for hit in hits
                )
        found.sort(key=lambda item: -item.score)
        found = found[:limit]
        self._previews(found)
        return Answer(answered, found, "; ".join(notices) or None, pending)

    def _previews(self, found: list[Found]) -> None:
        """Each hit's header line (its first line that is not blank or a decorator)."""
        texts: dict[tuple[int, str], list[str]] = {}
        with self.session.lock:
            for item in found:
                key = (id(item.folder), item.place.path)
                if key not in texts:
                    try:
                        texts[key] = positions.split_lines(item.folder.workspace.text(item.place.path))
                    except flowsight.errors.UnknownFileError:
                        texts[key] = []
                item.preview = chunk_header(texts[key], item.place.start_line, item.place.end_line)

    def _places(self, folder: Folder, chunk_ids: list[str], vectors: Vectors) -> dict[str, Place]:
        """Where the chunks are now (a chunk gone since it was embedded has no place)."""
        paths: dict[str, set[str]] = {}
        for chunk_id in chunk_ids:
            path = vectors.paths.get(chunk_id)
            if path is not None:
                paths.setdefault(path, set()).add(chunk_id)
        places = {}
        with self.session.lock:
            for path, wanted in paths.items():
                try:
                    chunks = folder.workspace.chunks(path)
                except flowsight.errors.UnknownFileError:
                    continue
                for chunk in chunks:
                    if chunk.id in wanted:
                        places[chunk.id] = Place(chunk.id, path, chunk.qualified_name, chunk.kind, chunk.start_line, chunk.end_line)
        return places

    def facts(self, folder: Folder) -> dict[str, ChunkFacts]:
        """What the folder's last analysis knows per chunk (recomputed when it changes)."""
        findings = folder.findings
        cached = self._facts.get(id(folder))
        if cached is not None and cached[0] is folder and cached[1] is findings:
            return cached[2]

        def chunks_of(path: str) -> list:
            try:
                return folder.workspace.chunks(path)
            except flowsight.errors.UnknownFileError:
                raise KeyError(path) from None

        with self.session.lock:
            facts = facts_by_chunk(findings, chunks_of)
        self._facts[id(folder)] = (folder, findings, facts)
        return facts

    # ------------------------------------------------------------------ progress and messages
    def _message(self, kind: types.MessageType, message: str) -> None:
        loop = self.loop
        if loop is None:
            log.warning("%s", message)
            return
        loop.call_soon_threadsafe(self.session.problem, kind, message)

    def _progressed(self, key: int, progress: EmbeddingProgress) -> None:
        """From the embedding thread: progress handed to the event loop."""
        loop = self.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._show_progress, key, progress)

    def _show_progress(self, key: int, progress: EmbeddingProgress) -> None:
        self._progress[key] = progress
        vectors = self.vectors.get(key)
        if progress.error and vectors is not None and not vectors.warned:
            vectors.warned = True
            self.session.problem(
                types.MessageType.Warning,
                f"flowsight: embedding for code search failed ({progress.error}); search answers from the lexical index while it retries",
            )
        done = sum(p.done for p in self._progress.values())
        total = sum(p.total for p in self._progress.values())
        message = f"{done}/{total} chunks" + (f" (retrying: {progress.error})" if progress.error else "")
        percentage = int(100 * done / total) if total else 100
        if done >= total:
            if self._reporter is not None:
                self._reporter.end(f"{total} chunks embedded")
                self._reporter = None
            return
        if self._reporter is not None:
            self._reporter.report(message, percentage)
        elif self.session.progress is not None and not self._reporter_pending:
            self._reporter_pending = True
            asyncio.ensure_future(self._begin(message, percentage))

    async def _begin(self, message: str, percentage: int) -> None:
        try:
            reporter = await self.session.progress("flowsight: embedding for code search", message)
        finally:
            self._reporter_pending = False
        if reporter is None:
            return
        done = sum(p.done for p in self._progress.values())
        total = sum(p.total for p in self._progress.values())
        if done >= total:
            reporter.end(f"{total} chunks embedded")
        else:
            self._reporter = reporter
            reporter.report(f"{done}/{total} chunks", int(100 * done / total) if total else percentage)
