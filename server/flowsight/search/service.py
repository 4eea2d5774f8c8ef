"""Code search over one repository: a lexical index, optional vectors, fused.

`SearchService` takes the lexical search as a callable `(query, limit) -> hits` (the Rust index, or
anything returning `(chunk_id, score)` pairs or objects with `chunk_id` and `score`), and an optional
`VectorIndex` kept up to date in the background. It never waits for embeddings: while vectors are
still being computed, hybrid search answers from the lexical index and says so in `notice`; without
an embedder every mode is lexical, also said in `notice`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flowsight.search.background import BackgroundEmbedder, EmbeddingProgress
from flowsight.search.documents import Document
from flowsight.search.embedder import builtin_missing, embedder_from_settings
from flowsight.search.errors import EmbedderUnavailable, EmbeddingError
from flowsight.search.fusion import (
    IDENTIFIER_BOOST,
    IDENTIFIER_LEXICAL_WEIGHT,
    LEXICAL_WEIGHT,
    SearchHit,
    boost_identifiers,
    convex_fusion,
    drop_overlapping,
    query_shape,
    single_list,
)
from flowsight.search.settings import SearchSettings

if TYPE_CHECKING:
    from flowsight.search.vector_index import VectorIndex

log = logging.getLogger(__name__)

MODES = ("hybrid", "lexical", "vector")
ALL_CANDIDATES = 1_000_000
"""The lexical list's length under a filter: every match (the index answers at most its documents)."""
LexicalSearch = Callable[[str, int], Sequence[Any]]


@dataclass(frozen=True)
class SearchResult:
    query: str
    mode: str
    """The mode that answered: the one asked for, or "lexical" when vectors were not (yet) available."""
    hits: list[SearchHit]
    notice: str | None = None
    """Why the answer is not what was asked for (no embedder, vectors still being computed), or None."""


class SearchService:
    def __init__(
        self,
        lexical: LexicalSearch | None,
        vectors: VectorIndex | None = None,
        *,
        lexical_weight: float = LEXICAL_WEIGHT,
        identifier_lexical_weight: float = IDENTIFIER_LEXICAL_WEIGHT,
        identifier_boost: float = IDENTIFIER_BOOST,
        candidates: int = 50,
        unavailable: str | None = None,
        on_progress: Callable[[EmbeddingProgress], None] | None = None,
        embedding_batch: int = 32,
    ) -> None:
        """`unavailable` says why there are no vectors (shown with lexical-only answers)."""
        self.lexical = lexical
        self.vectors = vectors
        self.lexical_weight = lexical_weight
        self.identifier_lexical_weight = identifier_lexical_weight
        self.identifier_boost = identifier_boost
        self.candidates = candidates
        self.unavailable = unavailable or ("no embedder configured" if vectors is None else None)
        self._lock = threading.Lock()
        self._chunks: dict[str, tuple[str, str | None]] = {}  # chunk id → (qualified name, parent id)
        self._background = BackgroundEmbedder(vectors, batch=embedding_batch, on_progress=on_progress) if vectors is not None else None

    @classmethod
    def from_settings(
        cls,
        settings: SearchSettings,
        lexical: LexicalSearch | None,
        collection: str | None = None,
        on_progress: Callable[[EmbeddingProgress], None] | None = None,
    ) -> SearchService:
        """The service the settings describe. An embedder or vector store that cannot be set up makes
        a lexical-only service whose notices say why (a misconfiguration never blocks search)."""
        common = {
            "lexical_weight": settings.lexical_weight,
            "identifier_lexical_weight": settings.identifier_lexical_weight,
            "identifier_boost": settings.identifier_boost,
            "candidates": settings.candidates,
        }
        try:
            embedder = embedder_from_settings(settings)
            if embedder is None:
                reason = 'embeddings are off (embedder = "none")' if settings.embedder == "none" else builtin_missing()
                return cls(lexical, None, unavailable=reason, **common)
            from flowsight.search.vector_index import VectorIndex

            vectors = VectorIndex.from_settings(settings, embedder, collection=collection)
        except (EmbedderUnavailable, EmbeddingError) as error:
            log.warning("code search is lexical-only: %s", error)
            return cls(lexical, None, unavailable=str(error), **common)
        except Exception as error:  # e.g. a Qdrant server that does not answer
            log.warning("code search is lexical-only: vector store unavailable: %s", error)
            return cls(lexical, None, unavailable=f"vector store unavailable: {error}", **common)
        return cls(lexical, vectors, on_progress=on_progress, **common)

    # ------------------------------------------------------------------ keeping up to date

    def update(self, documents: Iterable[Document]) -> None:
        """Records the documents (any chunk kind) and queues the embeddable ones whose vectors are
        missing or stale. Returns at once."""
        documents = list(documents)
        with self._lock:
            for document in documents:
                self._chunks[document.chunk_id] = (document.qualified_name, document.parent_id)
        if self._background is not None:
            self._background.submit(documents)

    def remove(self, chunk_ids: Iterable[str]) -> None:
        chunk_ids = list(chunk_ids)
        with self._lock:
            for chunk_id in chunk_ids:
                self._chunks.pop(chunk_id, None)
        if self._background is not None:
            self._background.forget(chunk_ids)

    def replace_all(self, documents: Iterable[Document]) -> None:
        """The repository's complete set of documents: everything else is removed (deleted files,
        renamed chunks, points left in a Qdrant server by an older run)."""
        documents = list(documents)
        keep = {document.chunk_id for document in documents}
        with self._lock:
            gone = [chunk_id for chunk_id in self._chunks if chunk_id not in keep]
        if self.vectors is not None:
            gone.extend(chunk_id for chunk_id in self.vectors.indexed_ids() if chunk_id not in keep)
        self.remove(dict.fromkeys(gone))
        self.update(documents)

    def progress(self) -> EmbeddingProgress | None:
        """How far embedding has come (None without vectors)."""
        return self._background.progress() if self._background is not None else None

    def wait_for_vectors(self, timeout: float | None = None) -> bool:
        """Blocks until every queued chunk has its vector (True) or `timeout` passes. For batch use
        (the CLI, the benchmark); the server never waits."""
        return self._background.wait(timeout) if self._background is not None else True

    def close(self) -> None:
        if self._background is not None:
            self._background.close()
        if self.vectors is not None:
            self.vectors.close()

    # ------------------------------------------------------------------ queries

    def search(self, query: str, limit: int = 10, mode: str = "hybrid", allowed: Collection[str] | None = None) -> SearchResult:
        """The best `limit` chunks for `query`. `allowed`: only these chunk ids may be answered (a
        filter such as "reaches a SQL sink"); then every allowed chunk is a candidate, not just the
        top lists'."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        query = query.strip()
        if not query or limit < 1:
            return SearchResult(query, mode, [])
        allowed = None if allowed is None else set(allowed)
        count = max(limit, self.candidates) if allowed is None else ALL_CANDIDATES
        notice = self._vector_notice(mode)
        if mode == "lexical" or self.vectors is None or (mode == "hybrid" and notice is not None):
            hits = single_list(self._lexical(query, count, allowed), "lexical")
            return SearchResult(query, "lexical", self._finish(hits, query, limit, boost=False), notice if mode != "lexical" else None)
        try:
            if mode == "vector":
                if allowed is None:
                    vector = self.vectors.query(query, count)
                else:
                    vector = by_score(self.vectors.query_and_score(query, 1, allowed)[1])
                hits = single_list(vector, "vector")
                return SearchResult(query, "vector", self._finish(hits, query, limit, boost=True), notice)
            if allowed is None and self.vectors.server_fusion != "client":
                # A Qdrant server ranks and fuses both sides in one request (`VectorIndex.hybrid`).
                fused = single_list(self.vectors.hybrid(query, count, self.weight_for(query), self.candidates), "hybrid")
                return SearchResult(query, "hybrid", self._finish(fused, query, limit, boost=True))
            lexical = self._lexical(query, count, allowed)
            if allowed is None:
                vector, lexical_cosines = self.vectors.query_and_score(query, count, [chunk_id for chunk_id, _ in lexical])
            else:
                lexical_cosines = self.vectors.query_and_score(query, 1, allowed)[1]
                vector = by_score(lexical_cosines)
        except EmbeddingError as error:  # the query itself could not be embedded
            hits = single_list(self._lexical(query, count, allowed), "lexical")
            return SearchResult(
                query, "lexical", self._finish(hits, query, limit, boost=False), f"answered from the lexical index: {error}"
            )
        fused = convex_fusion(lexical, vector, self.weight_for(query), lexical_cosines)
        return SearchResult(query, "hybrid", self._finish(fused, query, limit, boost=True))

    def weight_for(self, query: str) -> float:
        """The lexical weight of hybrid fusion for this query's shape (`fusion.query_shape`)."""
        return self.identifier_lexical_weight if query_shape(query) == "identifier" else self.lexical_weight

    def _vector_notice(self, mode: str) -> str | None:
        if mode == "lexical":
            return None
        if self.vectors is None:
            return f"lexical search only: {self.unavailable}"
        progress = self.progress()
        if progress is None or progress.complete:
            return None
        state = f"vectors computed for {progress.done} of {progress.total} chunks"
        if progress.error:
            state += f" (embedding failed: {progress.error})"
        if mode == "hybrid":
            return f"answered from the lexical index while {state}"
        return f"partial answer: {state}"

    def _lexical(self, query: str, limit: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        if self.lexical is None:
            return []
        pairs = []
        for hit in self.lexical(query, limit):
            chunk_id, score = (hit[0], hit[1]) if isinstance(hit, tuple) else (hit.chunk_id, hit.score)
            if allowed is not None and chunk_id not in allowed:
                continue
            pairs.append((chunk_id, float(score)))
            qualified_name = getattr(hit, "qualified_name", None)
            if isinstance(qualified_name, str) and chunk_id not in self._chunks:
                with self._lock:
                    self._chunks[chunk_id] = (qualified_name, getattr(hit, "parent_id", None))
        return pairs

    def _finish(self, hits: list[SearchHit], query: str, limit: int, boost: bool) -> list[SearchHit]:
        chunks = self._chunks  # read without the lock: a dict lookup is atomic, a stale entry harmless

        def qualified_name_of(chunk_id: str) -> str | None:
            entry = chunks.get(chunk_id)
            return entry[0] if entry else None

        def parent_of(chunk_id: str) -> str | None:
            entry = chunks.get(chunk_id)
            return entry[1] if entry else None

        if boost:
            hits = boost_identifiers(hits, query, qualified_name_of, self.identifier_boost)
        return drop_overlapping(hits, parent_of)[:limit]


def by_score(scores: dict[str, float]) -> list[tuple[str, float]]:
    """(chunk id, score) pairs, best first (ties by id)."""
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))
