"""The vector index on Qdrant's local mode (for real), with a word-hashing embedder and with MiniLM."""

from __future__ import annotations

import uuid

import pytest

from flowsight.search.cache import EmbeddingCache
from flowsight.search.documents import Document
from flowsight.search.vector_index import VectorIndex, point_id

from .conftest import HashingEmbedder

DOCUMENTS = [
    Document("mail", "h-mail", "def send_mail(to, subject): smtp send mail message", qualified_name="app.mail.send_mail"),
    Document("config", "h-config", "def read_config(path): load settings toml file", qualified_name="app.config.read_config"),
    Document("users", "h-users", "class UserStore: save user account database", kind="class", qualified_name="app.users.UserStore"),
    Document("module", "h-module", "import os", kind="module", qualified_name="app"),
]


def test_point_ids_are_uuid5_of_the_chunk_id():
    assert point_id("abc") == point_id("abc") != point_id("abd")
    assert uuid.UUID(point_id("abc")).version == 5


def test_upsert_query_remove(hashing_embedder):
    index = VectorIndex(hashing_embedder)
    assert index.upsert(DOCUMENTS) == 3  # the module chunk is not embedded
    assert len(index) == 3 and "module" not in index
    top = index.query("mail message", limit=2)
    assert [chunk_id for chunk_id, _ in top][0] == "mail"
    assert top[0][1] > top[1][1]
    index.remove(["mail", "absent"])
    assert "mail" not in [chunk_id for chunk_id, _ in index.query("mail message", limit=3)]
    assert len(index) == 2


def test_only_changed_chunks_are_embedded_again(hashing_embedder):
    cache = EmbeddingCache.in_memory()
    index = VectorIndex(hashing_embedder, cache)
    index.upsert(DOCUMENTS)
    assert index.upsert(DOCUMENTS) == 0
    changed = Document("config", "h-config-2", "def read_config(path): parse yaml settings", qualified_name="app.config.read_config")
    assert index.stale([*DOCUMENTS, changed]) == [changed]
    assert index.upsert([changed]) == 1
    assert hashing_embedder.embedded_texts[-1] == changed.text
    assert index.query("parse yaml", limit=1)[0][0] == "config"


def test_rebuilt_from_the_cache_without_embedding(tmp_path):
    first = HashingEmbedder()
    VectorIndex(first, EmbeddingCache(tmp_path)).upsert(DOCUMENTS)
    assert len(first.embedded_texts) == 3
    second = HashingEmbedder()
    index = VectorIndex(second, EmbeddingCache(tmp_path))  # a restart: a new in-memory collection
    assert index.upsert(DOCUMENTS) == 0
    assert second.calls == [] and len(index) == 3
    assert index.query("user account", limit=1)[0][0] == "users"


def test_another_model_does_not_reuse_vectors(tmp_path):
    VectorIndex(HashingEmbedder(), EmbeddingCache(tmp_path)).upsert(DOCUMENTS)
    other = HashingEmbedder(model_id="test/other")
    assert VectorIndex(other, EmbeddingCache(tmp_path)).upsert(DOCUMENTS) == 3


def test_query_and_score_scores_given_chunks(hashing_embedder):
    index = VectorIndex(hashing_embedder)
    index.upsert(DOCUMENTS)
    top, scores = index.query_and_score("mail message", 1, ["config", "users", "module", "unknown"])
    assert [chunk_id for chunk_id, _ in top] == ["mail"]
    assert sorted(scores) == ["config", "users"]  # only chunks that have a point
    full = dict(index.query("mail message", limit=10))
    assert scores["config"] == pytest.approx(full["config"], abs=1e-6) and scores["users"] == pytest.approx(full["users"], abs=1e-6)


def test_retain_drops_everything_else(hashing_embedder):
    index = VectorIndex(hashing_embedder)
    index.upsert(DOCUMENTS)
    index.retain(["users"])
    assert index.indexed_ids() == ["users"]
    assert [chunk_id for chunk_id, _ in index.query("mail", limit=5)] == ["users"]


def test_minilm_finds_by_meaning(minilm):
    documents = [
        Document("a", "ha", "def send_mail(to, subject, body):\n    server = smtplib.SMTP(HOST)\n    server.sendmail(FROM, [to], body)"),
        Document("b", "hb", "def load_config(path):\n    with open(path) as f:\n        return tomllib.load(f)"),
        Document("c", "hc", "def mean(values):\n    return sum(values) / len(values)"),
    ]
    index = VectorIndex(minilm)
    index.upsert(documents)
    assert index.query("email a message to someone", 1)[0][0] == "a"
    assert index.query("read the settings file", 1)[0][0] == "b"
    assert index.query("average of numbers", 1)[0][0] == "c"


@pytest.mark.filterwarnings("ignore:Payload indexes have no effect in the local Qdrant")
def test_a_persistent_collection_is_read_back_and_scored_by_the_store(hashing_embedder):
    """The server path (`url=`), on a local client that outlives the index as a server would."""
    from qdrant_client import QdrantClient

    client = QdrantClient(location=":memory:")
    first = VectorIndex(hashing_embedder, client=client, persistent=True)
    first.upsert(DOCUMENTS)
    payload = client.retrieve(first.collection, [point_id("config")], with_payload=True)[0].payload
    assert payload["qualified_name"] == "app.config.read_config" and payload["kind"] == "function"  # full payload for filters
    restarted = VectorIndex(HashingEmbedder(), client=client, persistent=True)
    assert sorted(restarted.indexed_ids()) == ["config", "mail", "users"]
    assert restarted.stale(DOCUMENTS) == []  # nothing uploaded again
    top, scores = restarted.query_and_score("mail message", 1, ["config", "users"])  # one batched has_id request
    local = VectorIndex(HashingEmbedder())
    local.upsert(DOCUMENTS)
    local_top, local_scores = local.query_and_score("mail message", 1, ["config", "users"])
    assert top == local_top
    assert scores == pytest.approx(local_scores, abs=1e-6)


def test_a_persistent_collection_of_another_size_is_replaced(hashing_embedder):
    from qdrant_client import QdrantClient, models

    client = QdrantClient(location=":memory:")
    index = VectorIndex(hashing_embedder, client=client, persistent=True)
    client.delete_collection(index.collection)
    client.create_collection(index.collection, vectors_config=models.VectorParams(size=3, distance=models.Distance.DOT))
    replaced = VectorIndex(hashing_embedder, client=client, persistent=True)
    params = client.get_collection(replaced.collection).config.params
    assert params.vectors["dense"].size == 64 and "lexical" in params.sparse_vectors


class RecordingClient:
    """A Qdrant client (local mode, for real) that records each Query API call it forwards."""

    def __init__(self):
        from qdrant_client import QdrantClient

        self.client = QdrantClient(location=":memory:")
        self.queries = []

    def query_points(self, *args, **kwargs):
        self.queries.append(kwargs)
        return self.client.query_points(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.client, name)


SERVER_DOCUMENTS = [
    *DOCUMENTS[:3],
    Document("parse", "h-parse", "def parse_header_line(line): split header name value", qualified_name="app.http.parse_header_line"),
    Document("cache", "h-cache", "def cache_page(seconds): store rendered page", qualified_name="app.cache.cache_page"),
]


@pytest.mark.parametrize("fusion", ["weighted", "dbsf", "rrf"])
@pytest.mark.filterwarnings("ignore:Payload indexes have no effect in the local Qdrant")
def test_a_server_fuses_its_dense_and_lexical_rankings_in_one_request(hashing_embedder, fusion):
    client = RecordingClient()
    index = VectorIndex(hashing_embedder, client=client, persistent=True, server_fusion=fusion)
    index.upsert(SERVER_DOCUMENTS)
    # Each point carries the chunk's code tokens as a sparse vector (the identifier and its parts).
    stored = client.retrieve(index.collection, [point_id("parse")], with_vectors=True)[0].vector
    assert set(stored) == {"dense", "lexical"} and len(stored["lexical"].indices) >= 6
    top = index.hybrid("parseHeaderLine", limit=3, lexical_weight=1.0)
    assert top[0][0] == "parse"
    assert [chunk_id for chunk_id, _ in index.hybrid("send a mail message", limit=2, lexical_weight=0.2)][0] == "mail"
    # One request per search, both rankings prefetched from the server.
    assert len(client.queries) == 2
    assert [prefetch.using for prefetch in client.queries[0]["prefetch"]] == ["dense", "lexical"]


@pytest.mark.filterwarnings("ignore:Payload indexes have no effect in the local Qdrant")
def test_the_weighted_server_fusion_spans_the_dense_and_the_lexical_ranking(hashing_embedder):
    index = VectorIndex(hashing_embedder, client=RecordingClient(), persistent=True, server_fusion="weighted")
    index.upsert(SERVER_DOCUMENTS)
    query = "store the settings page"
    # Weight 0: the dense ranking alone (scores are the cosines).
    dense_only = index.hybrid(query, limit=4, lexical_weight=0.0)
    assert [chunk_id for chunk_id, _ in dense_only] == [chunk_id for chunk_id, _ in index.query(query, limit=4)]
    # Weight 1: the lexical ranking alone, scores saturated into [0, 1).
    lexical_only = index.hybrid(query, limit=4, lexical_weight=1.0)
    assert all(0.0 <= score < 1.0 for _, score in lexical_only)
    # `store` is a part of `UserStore` (the code tokenizer splits identifiers), `settings` and `page`
    # are words of the other two.
    assert {chunk_id for chunk_id, score in lexical_only if score > 0} == {"config", "cache", "users"}


def test_local_mode_has_no_server_fusion(hashing_embedder):
    index = VectorIndex(hashing_embedder, server_fusion="weighted")
    assert index.server_fusion == "client"
    with pytest.raises(ValueError, match="needs a server fusion"):
        index.hybrid("x", 1, 0.5)
    with pytest.raises(ValueError, match="server_fusion must be one of"):
        VectorIndex(hashing_embedder, server_fusion="max")
