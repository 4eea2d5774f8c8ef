"""The vector index: chunk embeddings in Qdrant.

By default Qdrant's local mode in memory (`:memory:`, exact search in numpy), rebuilt at start from
the embedding cache: local mode's `path=` store writes one transaction per point, so flowsight keeps
its own cache instead. With `url=` the vectors live in a Qdrant server or cluster (key from the
environment), in a collection per model and size, with payload indexes on `chunk_id`, `path` and
`kind`; the points already there are read back at start, so a restart uploads nothing unchanged.

On a server, each point has two named vectors: `dense` (the embedding) and `lexical` (the chunk's code
tokens, `sparse.py`, with the server's IDF), so hybrid search is one Query API request: both
rankings prefetched and fused by the server (`hybrid`; the fusion is a setting, chosen by
measurement in `bench/search_quality.py`). In local mode the lexical side is flowsight's own
tantivy index and the fusion runs in flowsight (`fusion.py`).

A point's id is uuid5 of the chunk id, so an update replaces the chunk's point. Its payload is the
document's (`Document.payload`; in local mode only the chunk id and content hash). Embedders return
unit vectors, so the collection's distance is the dot product, which is their cosine (local mode's
cosine would normalise every stored vector again on each query). Thread-safe: the background
embedder adds points while queries run.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from flowsight.search.cache import EmbeddingCache
from flowsight.search.documents import Document
from flowsight.search.embedder import Embedder
from flowsight.search.errors import EmbedderUnavailable
from flowsight.search.settings import SERVER_FUSIONS

if TYPE_CHECKING:
    from flowsight.search.settings import SearchSettings

log = logging.getLogger(__name__)

POINT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "flowsight/chunk")
UPSERT_BATCH = 256
QUERY_CACHE_SIZE = 64
DENSE = "dense"
LEXICAL = "lexical"
LEXICAL_SATURATION = 10.0
"""The server's `weighted` fusion scores a chunk `w·s/(s + LEXICAL_SATURATION) + (1 − w)·cosine`, `s` its
lexical score, `w` the query shape's lexical weight (see `SERVER_FUSIONS` in settings.py)."""


def point_id(chunk_id: str) -> str:
    return str(uuid.uuid5(POINT_NAMESPACE, chunk_id))


class VectorIndex:
    def __init__(
        self,
        embedder: Embedder,
        cache: EmbeddingCache | None = None,
        *,
        location: str = ":memory:",
        url: str | None = None,
        api_key_env: str = "QDRANT_API_KEY",
        collection: str = "flowsight",
        timeout: float = 10.0,
        client: Any = None,
        persistent: bool | None = None,
        server_fusion: str = "weighted",
    ) -> None:
        """`client` is an existing `QdrantClient` to use instead; `persistent` says whether its
        collection outlives this index (as on a server: then points are read back, not dropped, and
        lexical candidates are scored by the server). By default: whether `url` is given."""
        try:
            from qdrant_client import QdrantClient, models
        except ImportError as error:
            raise EmbedderUnavailable("vector search needs the `qdrant-client` package (the `search` extra)") from error
        self.embedder = embedder
        self.cache = cache if cache is not None else EmbeddingCache.in_memory()
        self.models = models
        self.remote = (url is not None) if persistent is None else persistent
        if server_fusion not in SERVER_FUSIONS:
            raise ValueError(f"server_fusion must be one of {', '.join(SERVER_FUSIONS)}, not {server_fusion!r}")
        self.server_fusion = server_fusion if self.remote else "client"
        # A server's points have named dense and lexical vectors; local mode's one unnamed vector.
        self.dense_name: str | None = DENSE if self.remote else None
        self.dimensions = embedder.dimensions
        suffix = hashlib.sha256(f"{embedder.model_id}\0{self.dimensions}".encode()).hexdigest()[:12]
        self.collection = f"{collection}_{suffix}"
        if client is not None:
            self.client = client
        elif url is not None:
            # The client's version check runs in a thread of its own and warns from there; an
            # unreachable server shows up at once in `_prepare_collection` instead.
            api_key = os.environ.get(api_key_env) or None
            self.client = QdrantClient(url=url, api_key=api_key, timeout=max(1, int(timeout)), check_compatibility=False)
        else:
            self.client = QdrantClient(location=location)
        self._lock = threading.RLock()
        self._hashes: dict[str, str] = {}  # chunk id → content hash of its point
        self._query_vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._prepare_collection()

    @classmethod
    def from_settings(
        cls, settings: SearchSettings, embedder: Embedder, cache: EmbeddingCache | None = None, collection: str | None = None
    ) -> VectorIndex:
        """`collection` distinguishes repositories sharing one Qdrant server (e.g. a hash of the root)."""
        if cache is None:
            cache = EmbeddingCache(settings.cache_dir)
        return cls(
            embedder,
            cache,
            url=settings.qdrant_url,
            api_key_env=settings.qdrant_api_key_env,
            collection=collection or settings.collection,
            server_fusion=settings.server_fusion,
        )

    def _prepare_collection(self) -> None:
        models = self.models
        exists = self.client.collection_exists(self.collection)
        if exists and self.remote:
            params = self.client.get_collection(self.collection).config.params
            dense = params.vectors.get(DENSE) if isinstance(params.vectors, dict) else None
            if dense is not None and dense.size == self.dimensions and LEXICAL in (params.sparse_vectors or {}):
                self._read_back()
                return
            self.client.delete_collection(self.collection)
        elif exists:
            self.client.delete_collection(self.collection)
        dense = models.VectorParams(size=self.dimensions, distance=models.Distance.DOT)
        if self.remote:
            self.client.create_collection(
                self.collection,
                vectors_config={DENSE: dense},
                sparse_vectors_config={LEXICAL: models.SparseVectorParams(modifier=models.Modifier.IDF)},
            )
        else:
            self.client.create_collection(self.collection, vectors_config=dense)
        if self.remote:
            for field in ("chunk_id", "path", "kind"):
                self.client.create_payload_index(self.collection, field, field_schema=models.PayloadSchemaType.KEYWORD)

    def _read_back(self) -> None:
        offset = None
        while True:
            points, offset = self.client.scroll(self.collection, limit=1024, offset=offset, with_payload=["chunk_id", "content_hash"])
            for point in points:
                payload = point.payload or {}
                if "chunk_id" in payload and "content_hash" in payload:
                    self._hashes[payload["chunk_id"]] = payload["content_hash"]
            if offset is None:
                return

    # ------------------------------------------------------------------ contents

    def __len__(self) -> int:
        with self._lock:
            return len(self._hashes)

    def __contains__(self, chunk_id: object) -> bool:
        with self._lock:
            return chunk_id in self._hashes

    def indexed_ids(self) -> list[str]:
        with self._lock:
            return list(self._hashes)

    def stale(self, documents: Iterable[Document]) -> list[Document]:
        """The embeddable documents whose point is missing or has another content hash."""
        with self._lock:
            return [
                document for document in documents if document.embedded and self._hashes.get(document.chunk_id) != document.content_hash
            ]

    def add_cached(self, documents: Sequence[Document]) -> list[Document]:
        """Adds the documents whose vectors the cache holds; returns the others (to be embedded)."""
        cached = self.cache.get_many(self.embedder.model_id, self.dimensions, (document.content_hash for document in documents))
        self._add([(document, cached[document.content_hash]) for document in documents if document.content_hash in cached])
        return [document for document in documents if document.content_hash not in cached]

    def embed_and_add(self, documents: Sequence[Document]) -> None:
        """Embeds the documents (raises EmbeddingError), stores the vectors in the cache and adds them."""
        if not documents:
            return
        vectors = self.embedder.embed([document.text for document in documents])
        self.cache.put_many(
            self.embedder.model_id,
            self.dimensions,
            {document.content_hash: vector for document, vector in zip(documents, vectors, strict=True)},
        )
        self._add(list(zip(documents, vectors, strict=True)))

    def upsert(self, documents: Iterable[Document], progress: Callable[[int, int], None] | None = None, batch: int = 64) -> int:
        """Brings the documents' points up to date in the foreground: cached vectors first, then the
        rest embedded `batch` at a time (`progress(done, total)` after each). Returns how many were embedded."""
        missing = self.add_cached(self.stale(documents))
        for start in range(0, len(missing), batch):
            self.embed_and_add(missing[start : start + batch])
            if progress is not None:
                progress(min(start + batch, len(missing)), len(missing))
        return len(missing)

    def _add(self, items: Sequence[tuple[Document, np.ndarray]]) -> None:
        models = self.models
        for start in range(0, len(items), UPSERT_BATCH):
            part = items[start : start + UPSERT_BATCH]
            points = [
                models.PointStruct(id=point_id(document.chunk_id), vector=vectors, payload=self._payload(document))
                for (document, _), vectors in zip(part, self._point_vectors(part), strict=True)
            ]
            with self._lock:
                self.client.upsert(self.collection, points=points, wait=True)
                for document, _ in part:
                    self._hashes[document.chunk_id] = document.content_hash

    def _point_vectors(self, items: Sequence[tuple[Document, np.ndarray]]) -> list[Any]:
        """Each point's vectors: the embedding alone in local mode; on a server, named dense and
        lexical vectors."""
        if not self.remote:
            return [vector.tolist() for _, vector in items]
        from flowsight.search import sparse

        tokens = sparse.tokens_of([text for document, _ in items for text in (document.text, document.name)])
        vectors = []
        for index, (_, vector) in enumerate(items):
            indices, values = sparse.document_vector(tokens[2 * index], tokens[2 * index + 1])
            vectors.append({DENSE: vector.tolist(), LEXICAL: self.models.SparseVector(indices=indices, values=values)})
        return vectors

    def _payload(self, document: Document) -> dict[str, str | int | None]:
        """The whole payload on a server (its payload indexes filter by path and kind); in local mode
        only what the index reads back, since local mode keeps a JSON copy of every payload."""
        if self.remote:
            return document.payload()
        return {"chunk_id": document.chunk_id, "content_hash": document.content_hash}

    def remove(self, chunk_ids: Iterable[str]) -> None:
        with self._lock:
            present = [chunk_id for chunk_id in chunk_ids if chunk_id in self._hashes]
            if not present:
                return
            self.client.delete(
                self.collection, points_selector=self.models.PointIdsList(points=[point_id(chunk_id) for chunk_id in present]), wait=True
            )
            for chunk_id in present:
                del self._hashes[chunk_id]

    def retain(self, chunk_ids: Iterable[str]) -> None:
        """Removes every point whose chunk is not in `chunk_ids` (deleted files, renamed chunks)."""
        keep = set(chunk_ids)
        with self._lock:
            self.remove([chunk_id for chunk_id in self._hashes if chunk_id not in keep])

    # ------------------------------------------------------------------ queries

    def query_vector(self, text: str) -> np.ndarray:
        with self._lock:
            vector = self._query_vectors.get(text)
            if vector is not None:
                self._query_vectors.move_to_end(text)
                return vector
        vector = self.embedder.embed([text])[0]
        with self._lock:
            self._query_vectors[text] = vector
            while len(self._query_vectors) > QUERY_CACHE_SIZE:
                self._query_vectors.popitem(last=False)
        return vector

    def query(self, text: str, limit: int = 10) -> list[tuple[str, float]]:
        """The `limit` chunks most similar to `text` as (chunk id, cosine), best first."""
        return self.query_and_score(text, limit)[0]

    def query_and_score(self, text: str, limit: int, score_ids: Iterable[str] = ()) -> tuple[list[tuple[str, float]], dict[str, float]]:
        """The top list of `query`, and the cosine of each of `score_ids` that has a point: a fusion
        weighs the lexical candidates the vector top list missed by them. A server answers both in
        one batched request (a `has_id` filter); local mode filters in Python point by point, so
        there the candidates' vectors are fetched by id and scored here."""
        query = self.query_vector(text)
        models = self.models
        with self._lock:
            wanted = [point_id(chunk_id) for chunk_id in dict.fromkeys(score_ids) if chunk_id in self._hashes]
        using = self.dense_name
        requests = [models.QueryRequest(query=query.tolist(), using=using, limit=limit, with_payload=["chunk_id"])]
        if wanted and self.remote:
            has_id = models.Filter(must=[models.HasIdCondition(has_id=wanted)])
            requests.append(
                models.QueryRequest(query=query.tolist(), using=using, limit=len(wanted), with_payload=["chunk_id"], filter=has_id)
            )
        with self._lock:
            responses = self.client.query_batch_points(self.collection, requests=requests)
            candidates = (
                self.client.retrieve(self.collection, wanted, with_payload=["chunk_id"], with_vectors=True)
                if wanted and not self.remote
                else []
            )
        top = [(chunk_id, float(point.score)) for point in responses[0].points if (chunk_id := payload_chunk_id(point.payload)) is not None]
        scores = {}
        for response in responses[1:]:
            for point in response.points:
                chunk_id = payload_chunk_id(point.payload)
                if chunk_id is not None:
                    scores[chunk_id] = float(point.score)
        for record in candidates:
            chunk_id = payload_chunk_id(record.payload)
            if chunk_id is not None and isinstance(record.vector, list):
                scores[chunk_id] = float(np.dot(np.asarray(record.vector, dtype=np.float32), query))
        return top, scores

    def hybrid(self, text: str, limit: int, lexical_weight: float, candidates: int = 50) -> list[tuple[str, float]]:
        """On a server (`server_fusion` other than `client`): the `limit` best chunks for `text` by
        the server's own fusion of its dense and lexical rankings (`candidates` each), in one
        request, as (chunk id, fused score), best first."""
        if self.server_fusion == "client":
            raise ValueError("hybrid() needs a server fusion (a Qdrant server and server_fusion other than 'client')")
        from flowsight.search import sparse

        models = self.models
        dense = self.query_vector(text).tolist()
        indices, values = sparse.query_vector(sparse.tokens_of([text])[0])
        prefetch = [models.Prefetch(query=dense, using=DENSE, limit=candidates)]
        if indices:
            lexical = models.SparseVector(indices=indices, values=values)
            prefetch.append(models.Prefetch(query=lexical, using=LEXICAL, limit=candidates))
        if self.server_fusion == "weighted":
            saturated = models.DivExpression(
                div=models.DivParams(left="$score[1]", right=models.SumExpression(sum=["$score[1]", LEXICAL_SATURATION]))
            )
            query: Any = models.FormulaQuery(
                formula=models.SumExpression(
                    sum=[
                        models.MultExpression(mult=[lexical_weight, saturated]),
                        models.MultExpression(mult=[1.0 - lexical_weight, "$score[0]"]),
                    ]
                ),
                # A chunk found by one ranking only scores the other's floor.
                defaults={"$score[0]": 0.0, "$score[1]": 0.0},
            )
        else:
            query = models.FusionQuery(fusion=models.Fusion.DBSF if self.server_fusion == "dbsf" else models.Fusion.RRF)
        with self._lock:
            response = self.client.query_points(self.collection, prefetch=prefetch, query=query, limit=limit, with_payload=["chunk_id"])
        return [(chunk_id, float(point.score)) for point in response.points if (chunk_id := payload_chunk_id(point.payload)) is not None]

    def close(self) -> None:
        self.client.close()


def payload_chunk_id(payload: dict[str, Any] | None) -> str | None:
    value = (payload or {}).get("chunk_id")
    return value if isinstance(value, str) else None
