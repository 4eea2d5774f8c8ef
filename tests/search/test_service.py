"""SearchService: modes, fallback to lexical, background embedding (never blocking, resumable)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from dataclasses import dataclass

import numpy as np
import pytest

import flowsight
from flowsight.search import background
from flowsight.search.cache import EmbeddingCache
from flowsight.search.documents import Document, documents_from_chunks
from flowsight.search.errors import EmbeddingError
from flowsight.search.service import SearchService
from flowsight.search.settings import SearchSettings
from flowsight.search.vector_index import VectorIndex

from .conftest import HashingEmbedder

DOCUMENTS = [
    Document("repo", "h0", "", kind="repository", qualified_name="app"),
    Document("mod", "h1", "", kind="module", qualified_name="app.web", parent_id="repo"),
    Document(
        "ctrl",
        "h2",
        "class ChatController: handle chat messages post reply",
        kind="class",
        qualified_name="app.web.ChatController",
        parent_id="mod",
    ),
    Document(
        "post",
        "h3",
        "def post(self): reply to chat messages",
        kind="method",
        qualified_name="app.web.ChatController.post",
        parent_id="ctrl",
    ),
    Document("mail", "h4", "def send_mail(to): smtp mail message", qualified_name="app.web.send_mail", parent_id="mod"),
    Document("sql", "h5", "def run_query(sql): cursor execute sql database", qualified_name="app.web.run_query", parent_id="mod"),
]


def lexical_stand_in(documents):
    """Scores chunks by how many query words their text contains (a stand-in for the Rust index)."""

    def search(query: str, limit: int):
        words = query.lower().split()
        scored = [(document.chunk_id, float(sum(word in document.text.lower() for word in words))) for document in documents]
        return sorted([hit for hit in scored if hit[1] > 0], key=lambda hit: -hit[1])[:limit]

    return search


def make_service(embedder=None, cache=None, **options) -> SearchService:
    index = VectorIndex(embedder or HashingEmbedder(), cache)
    return SearchService(lexical_stand_in(DOCUMENTS), index, **options)


def ids(result):
    return [hit.chunk_id for hit in result.hits]


def test_without_vectors_every_mode_is_lexical_and_says_so():
    service = SearchService(lexical_stand_in(DOCUMENTS), None, unavailable="no embedder installed")
    service.update(DOCUMENTS)
    hybrid = service.search("smtp mail", mode="hybrid")
    assert hybrid.mode == "lexical" and ids(hybrid) == ["mail"]
    assert hybrid.notice == "lexical search only: no embedder installed"
    assert service.search("smtp mail", mode="vector").mode == "lexical"
    assert service.search("smtp mail", mode="lexical").notice is None
    assert service.progress() is None and service.wait_for_vectors(0)


def test_hybrid_after_embedding():
    service = make_service()
    service.update(DOCUMENTS)
    assert service.wait_for_vectors(30)
    result = service.search("database sql query", limit=3)
    assert result.mode == "hybrid" and result.notice is None
    assert ids(result)[0] == "sql"
    hit = result.hits[0]
    assert hit.lexical_score == 3.0 and hit.vector_score is not None and hit.vector_score > 0
    progress = service.progress()
    assert (progress.done, progress.total, progress.embedded, progress.complete) == (4, 4, 4, True)  # repository and module not embedded
    vector = service.search("database sql query", mode="vector")
    assert vector.mode == "vector" and ids(vector)[0] == "sql" and vector.hits[0].lexical_score is None
    service.close()


@pytest.mark.filterwarnings("ignore:Payload indexes have no effect in the local Qdrant")
def test_with_a_server_hybrid_search_is_fused_by_the_server():
    """`qdrant_url`: one Query API request ranks both sides and fuses them (a local client that
    outlives the index stands in for the server); the identifier boost and the dedup still apply,
    and a filter (`allowed`) still scores every allowed chunk."""
    from qdrant_client import QdrantClient

    vectors = VectorIndex(HashingEmbedder(), client=QdrantClient(location=":memory:"), persistent=True, server_fusion="weighted")

    def no_local_lexical(query, limit):
        raise AssertionError("the server answers the lexical side")

    service = SearchService(no_local_lexical, vectors)
    service.update(DOCUMENTS)
    assert service.wait_for_vectors(30)
    result = service.search("database sql query", limit=3)
    assert result.mode == "hybrid" and ids(result)[0] == "sql"
    result = service.search("ChatController")
    assert ids(result)[0] == "ctrl" and "post" not in ids(result)
    service.lexical = lexical_stand_in(DOCUMENTS)
    assert ids(service.search("chat messages reply", limit=5, allowed={"sql", "post"}))[:1] == ["post"]
    service.close()


def test_allowed_chunks_are_the_only_answers_and_all_candidates():
    """A filter ("reaches a SQL sink") makes every allowed chunk a candidate, in every mode: one that
    no top list would hold is still found, and nothing else is answered."""
    service = make_service(candidates=1)
    service.update(DOCUMENTS)
    assert service.wait_for_vectors(30)
    query = "chat messages reply"
    assert "sql" not in ids(service.search(query, limit=2, mode="hybrid"))
    for mode in ("hybrid", "vector", "lexical"):
        assert ids(service.search(query, limit=5, mode=mode, allowed={"sql", "post"}))[:1] == ["post"], mode
        assert set(ids(service.search(query, limit=5, mode=mode, allowed={"sql", "post"}))) <= {"sql", "post"}
    # "sql" shares no word with the query: vectors still rank it, the lexical list cannot.
    assert ids(service.search(query, limit=5, mode="hybrid", allowed={"sql"})) == ["sql"]
    assert ids(service.search(query, limit=5, mode="vector", allowed={"sql"})) == ["sql"]
    assert ids(service.search(query, limit=5, mode="lexical", allowed={"sql"})) == []
    assert ids(service.search(query, limit=5, mode="hybrid", allowed=set())) == []
    service.close()


def test_exact_identifier_first_and_overlaps_dropped():
    service = make_service()
    service.update(DOCUMENTS)
    service.wait_for_vectors(30)
    result = service.search("ChatController")
    assert ids(result)[0] == "ctrl"
    assert "post" not in ids(result)  # inside the class that ranks above it
    service.close()


def test_the_fusion_weight_follows_the_query_shape():
    """One identifier-shaped word fuses with `identifier_lexical_weight`, words with `lexical_weight`:
    with those at 1 and 0, hybrid answers in the lexical order for the one and the vector order for
    the other."""
    lexical = [("sql", 3.0), ("mail", 2.0), ("post", 1.0)]
    service = SearchService(lambda query, limit: lexical, VectorIndex(HashingEmbedder()), lexical_weight=0.0, identifier_lexical_weight=1.0)
    service.update(DOCUMENTS)
    assert service.wait_for_vectors(30)
    for query in ("reply_to_chat", "reply to chat messages"):
        hybrid = [hit.chunk_id for hit in service.search(query, limit=3, mode="hybrid", allowed={"sql", "mail", "post"}).hits]
        vector = [hit.chunk_id for hit in service.search(query, limit=3, mode="vector", allowed={"sql", "mail", "post"}).hits]
        expected = ["sql", "mail", "post"] if " " not in query else vector
        assert vector != ["sql", "mail", "post"], "the vector order differs from the lexical one"
        assert hybrid == expected, query
    assert (service.weight_for("parseQsl"), service.weight_for("parse a query string")) == (1.0, 0.0)
    service.close()


class GatedEmbedder(HashingEmbedder):
    """Embeds chunks only once the gate opens (queries at once)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def embed(self, texts):
        if threading.current_thread().name == "flowsight-embedding":
            assert self.gate.wait(30)
        return super().embed(texts)


def test_search_never_waits_for_embedding():
    embedder = GatedEmbedder()
    service = make_service(embedder)
    service.update(DOCUMENTS)  # returns at once although nothing can be embedded yet
    result = service.search("smtp mail")
    assert result.mode == "lexical" and ids(result) == ["mail"]
    assert result.notice == "answered from the lexical index while vectors computed for 0 of 4 chunks"
    partial = service.search("smtp mail", mode="vector")
    assert partial.mode == "vector" and partial.notice.startswith("partial answer: vectors computed for 0 of 4")
    embedder.gate.set()
    assert service.wait_for_vectors(30)
    assert service.search("smtp mail").mode == "hybrid"
    service.close()


def test_resumes_from_the_cache(tmp_path):
    first = HashingEmbedder()
    service = make_service(first, EmbeddingCache(tmp_path), embedding_batch=2)
    service.update(DOCUMENTS)
    assert service.wait_for_vectors(30)
    assert [len(call) for call in first.calls] == [2, 2]
    service.close()
    second = HashingEmbedder()
    service = make_service(second, EmbeddingCache(tmp_path))
    service.update(DOCUMENTS)
    assert service.wait_for_vectors(30)
    progress = service.progress()
    assert (progress.done, progress.embedded) == (4, 0) and second.calls == []
    assert service.search("smtp mail").mode == "hybrid"
    service.close()


class FlakyEmbedder(HashingEmbedder):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def embed(self, texts):
        if self.failures:
            self.failures -= 1
            raise EmbeddingError("endpoint down")
        return super().embed(texts)


def test_failures_are_reported_and_retried(monkeypatch):
    monkeypatch.setattr(background, "RETRY_DELAYS", (0.05,))
    seen = []
    gate = threading.Event()

    def on_progress(progress):
        seen.append(progress)
        if progress.error:
            gate.set()

    service = SearchService(lexical_stand_in(DOCUMENTS), VectorIndex(FlakyEmbedder(failures=2)), on_progress=on_progress)
    service.update(DOCUMENTS)
    assert gate.wait(30)
    assert service.wait_for_vectors(30)
    assert any(progress.error == "endpoint down" for progress in seen)
    assert service.progress().error is None and service.progress().complete
    service.close()


def test_updates_and_removals_reach_the_vectors():
    embedder = HashingEmbedder()
    service = make_service(embedder)
    service.update(DOCUMENTS)
    service.wait_for_vectors(30)
    changed = Document(
        "mail", "h4-2", "def send_mail(to): post a letter by carrier pigeon", qualified_name="app.web.send_mail", parent_id="mod"
    )
    service.update([changed])
    service.wait_for_vectors(30)
    assert embedder.embedded_texts[-1] == changed.text
    assert ids(service.search("carrier pigeon", mode="vector"))[0] == "mail"
    service.remove(["mail"])
    assert "mail" not in ids(service.search("carrier pigeon", mode="vector"))
    service.replace_all([document for document in DOCUMENTS if document.chunk_id != "sql"])
    service.wait_for_vectors(30)
    assert "sql" not in service.vectors.indexed_ids() and "mail" in service.vectors.indexed_ids()
    service.close()


def test_a_chunk_removed_while_being_embedded_stays_removed():
    embedder = GatedEmbedder()
    service = make_service(embedder)
    service.update(DOCUMENTS)
    service.remove(["sql"])
    embedder.gate.set()
    assert service.wait_for_vectors(30)
    assert "sql" not in service.vectors.indexed_ids()
    progress = service.progress()
    assert progress.done == progress.total == len(service.vectors)
    service.close()


def test_embedding_thread_runs_at_low_priority():
    priorities = []

    def on_progress(_):
        priorities.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    service = SearchService(lexical_stand_in(DOCUMENTS), VectorIndex(HashingEmbedder()), on_progress=on_progress)
    service.update(DOCUMENTS)
    service.wait_for_vectors(30)
    service.close()
    assert priorities and set(priorities) == {19}


@dataclass
class RustLikeHit:
    chunk_id: str
    score: float
    qualified_name: str
    parent_id: str | None


def test_lexical_hits_may_be_objects():
    def lexical(query, limit):
        return [RustLikeHit("x", 3.0, "pkg.parse_header", "m"), RustLikeHit("y", 5.0, "pkg.other", "m")]

    service = SearchService(lexical, None)
    result = service.search("parse_header", mode="lexical")
    assert ids(result) == ["x", "y"]  # lexical mode keeps the index's order (its own name boost)
    assert service.search("q", mode="lexical", limit=1).hits == [service.search("q", mode="lexical").hits[0]]


def test_arguments():
    service = SearchService(lexical_stand_in(DOCUMENTS), None)
    with pytest.raises(ValueError, match="mode must be one of"):
        service.search("x", mode="fuzzy")
    assert service.search("   ").hits == []


def test_from_settings_without_embeddings():
    service = SearchService.from_settings(SearchSettings(embedder="none"), lexical_stand_in(DOCUMENTS))
    assert service.vectors is None
    assert service.search("mail").notice == 'lexical search only: embeddings are off (embedder = "none")'


def test_from_settings_with_an_endpoint(endpoint, tmp_path, caplog):
    settings = SearchSettings(embedder="openai", base_url=endpoint.base_url, model="m", dimensions=8, cache_dir=str(tmp_path))
    service = SearchService.from_settings(settings, lexical_stand_in(DOCUMENTS))
    assert "127.0.0.1" in caplog.text and "sends the text of your code" in caplog.text
    service.update(DOCUMENTS)
    assert service.wait_for_vectors(30)
    assert sum(endpoint.state.inputs_per_request) == 4  # the four embeddable chunks, no probe (dimensions configured)
    assert service.search("smtp mail").mode == "hybrid"
    service.close()


def test_an_unreachable_vector_server_leaves_lexical_search(tmp_path):
    settings = SearchSettings(
        embedder="openai", base_url="http://127.0.0.1:9/v1", dimensions=8, qdrant_url="http://127.0.0.1:9", cache_dir=str(tmp_path)
    )
    service = SearchService.from_settings(settings, lexical_stand_in(DOCUMENTS))
    assert service.vectors is None
    result = service.search("smtp mail")
    assert result.mode == "lexical" and result.notice.startswith("lexical search only: vector store unavailable")


def test_real_chunks_with_the_bundled_embedder(tmp_path, minilm):
    source = tmp_path / "shop"
    source.mkdir()
    (source / "orders.py").write_text(
        textwrap.dedent(
            """
            import smtplib

            def notify_customer(address, order):
                server = smtplib.SMTP("localhost")
                server.sendmail("shop@example.com", [address], f"Your order {order.id} has shipped")

            def total_price(items):
                return sum(item.price * item.quantity for item in items)

            class OrderRepository:
                def find_by_customer(self, cursor, customer_id):
                    cursor.execute("SELECT * FROM orders WHERE customer = ?", (customer_id,))
                    return cursor.fetchall()
            """
        )
    )
    chunks = flowsight.build_chunks([str(source)], root=str(tmp_path))
    documents = documents_from_chunks(chunks, lambda path: (tmp_path / path).read_bytes())
    service = SearchService(lexical_stand_in(documents), VectorIndex(minilm))
    service.replace_all(documents)
    assert service.wait_for_vectors(120)
    names = {document.chunk_id: document.qualified_name for document in documents}
    for query, expected in [
        ("send an email when the package ships", "shop.orders.notify_customer"),
        ("compute the cost of the basket", "shop.orders.total_price"),
        ("load a customer's orders from the database", "shop.orders.OrderRepository"),  # the class, or its method
    ]:
        result = service.search(query, limit=3)
        assert result.mode == "hybrid"
        assert names[result.hits[0].chunk_id].startswith(expected), (query, [names[hit.chunk_id] for hit in result.hits])
    service.close()


def test_importable_and_lexical_without_the_extras():
    code = textwrap.dedent(
        """
        import sys
        for name in ("numpy", "qdrant_client", "openai", "tokenizers"):
            sys.modules[name] = None
        from flowsight.search import SearchService, SearchSettings
        service = SearchService.from_settings(SearchSettings(), lambda query, limit: [("a", 1.0)])
        result = service.search("anything")
        print(result.mode, result.hits[0].chunk_id, result.notice)
        """
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("lexical a lexical search only: the bundled embedder needs the `embed` extra")
    assert "missing: numpy, tokenizers, qdrant_client" in completed.stdout


def test_vectors_are_unit_length_in_the_index(hashing_embedder):
    index = VectorIndex(hashing_embedder)
    index.upsert(DOCUMENTS)
    points, _ = index.client.scroll(index.collection, with_vectors=True, limit=10)
    assert len(points) == 4
    assert all(abs(float(np.linalg.norm(point.vector)) - 1.0) < 1e-5 for point in points)
