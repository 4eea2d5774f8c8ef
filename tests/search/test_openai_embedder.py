"""The OpenAI-compatible embedder against a loopback server the tests start (a real socket: the
`openai` client speaks httpx2, which request-mocking libraries do not intercept)."""

from __future__ import annotations

import logging
import time

import numpy as np
import pytest

from flowsight.search.embedder import normalise_rows
from flowsight.search.errors import EmbeddingError
from flowsight.search.openai_embedder import OpenAIEmbedder, endpoint_host, is_loopback, without_credentials

from .conftest import Reply, fake_embedding


def expected(texts: list[str], dimensions: int = 8) -> np.ndarray:
    return normalise_rows(np.array([fake_embedding(text, dimensions) for text in texts], dtype=np.float32))


def test_batches_by_input_count_keep_order(endpoint, make_openai_embedder):
    texts = [f"text number {index}" for index in range(10)]
    vectors = make_openai_embedder(max_batch_inputs=4, concurrency=1).embed(texts)
    assert endpoint.state.inputs_per_request == [4, 4, 2]
    assert [request["input"] for request in endpoint.state.requests] == [texts[0:4], texts[4:8], texts[8:10]]
    np.testing.assert_allclose(vectors, expected(texts), rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)


def test_batches_by_token_budget(endpoint, make_openai_embedder):
    texts = ["x" * 300] * 5  # 100 estimated tokens each
    make_openai_embedder(max_batch_tokens=250).embed(texts)
    assert sorted(endpoint.state.inputs_per_request) == [1, 2, 2]


def test_request_carries_model_dimensions_and_encoding(endpoint, make_openai_embedder):
    make_openai_embedder(model="my-model", dimensions=4, encoding_format="float").embed(["a"])
    request = endpoint.state.requests[0]
    assert request["model"] == "my-model"
    assert request["dimensions"] == 4
    assert request["encoding_format"] == "float"


@pytest.mark.parametrize("encoding_format", ["float", "base64"])
def test_both_encodings_decode_to_the_same_vectors(endpoint, make_openai_embedder, encoding_format):
    vectors = make_openai_embedder(encoding_format=encoding_format).embed(["alpha", "beta"])
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, expected(["alpha", "beta"]), rtol=1e-6)


def test_retries_429_and_5xx_then_succeeds(endpoint, make_openai_embedder):
    endpoint.state.script = [
        Reply(429, {"retry-after-ms": "10"}),
        Reply(503, {"retry-after-ms": "10"}),
        Reply(500, {"retry-after-ms": "10"}),
    ]
    vectors = make_openai_embedder(max_retries=3).embed(["hello"])
    assert len(endpoint.state.requests) == 4
    np.testing.assert_allclose(vectors, expected(["hello"]), rtol=1e-6)


def test_gives_up_after_the_retries_naming_the_host(endpoint, make_openai_embedder):
    endpoint.state.script = [Reply(500, {"retry-after-ms": "10"})] * 3
    with pytest.raises(EmbeddingError, match=r"127\.0\.0\.1:\d+ failed with HTTP 500"):
        make_openai_embedder(max_retries=2).embed(["hello"])
    assert len(endpoint.state.requests) == 3


def test_client_errors_are_not_retried(endpoint, make_openai_embedder):
    endpoint.state.script = [Reply(400)]
    with pytest.raises(EmbeddingError, match="HTTP 400"):
        make_openai_embedder(max_retries=3).embed(["hello"])
    assert len(endpoint.state.requests) == 1


def test_timeout_per_attempt(endpoint, make_openai_embedder):
    # The server answers after 30 s; two attempts of 0.3 s each give up long before that,
    # however loaded the machine is.
    endpoint.state.script = [Reply(delay=30), Reply(delay=30)]
    started = time.monotonic()
    with pytest.raises(EmbeddingError, match="timed out"):
        make_openai_embedder(timeout=0.3, max_retries=1).embed(["slow"])
    assert time.monotonic() - started < 15  # neither attempt waited for the server's answer
    assert len(endpoint.state.requests) == 2


def test_bounded_concurrency(endpoint, make_openai_embedder):
    endpoint.state.delay = 0.15
    texts = [f"t{index}" for index in range(8)]
    vectors = make_openai_embedder(max_batch_inputs=1, concurrency=3).embed(texts)
    assert endpoint.state.max_in_flight == 3
    np.testing.assert_allclose(vectors, expected(texts), rtol=1e-6)


def test_wrong_number_of_embeddings_is_an_error(endpoint, make_openai_embedder):
    endpoint.state.script = [Reply(count=1)]
    with pytest.raises(EmbeddingError, match="1 embeddings for 2 inputs"):
        make_openai_embedder().embed(["a", "b"])


def test_dimensions_learned_from_the_endpoint(endpoint, make_openai_embedder):
    endpoint.state.dimensions = 5
    embedder = make_openai_embedder(model="unknown-model", dimensions=None)
    assert embedder.dimensions == 5
    assert "dimensions" not in endpoint.state.requests[0]
    assert embedder.embed(["a", "b"]).shape == (2, 5)


def test_inputs_over_the_limit_are_truncated_and_empty_ones_padded(endpoint, make_openai_embedder):
    make_openai_embedder(max_input_tokens=10).embed(["y" * 100, ""])
    assert endpoint.state.requests[0]["input"] == ["y" * 30, " "]


def test_key_from_the_environment_sent_but_never_logged(endpoint, make_openai_embedder, monkeypatch, caplog):
    secret = "sk-test-0123456789-secret"
    monkeypatch.setenv("FLOWSIGHT_TEST_KEY", secret)
    caplog.set_level(logging.DEBUG)
    embedder = make_openai_embedder(api_key_env="FLOWSIGHT_TEST_KEY")
    embedder.embed(["a"])
    endpoint.state.script = [Reply(401)]
    with pytest.raises(EmbeddingError) as failure:
        embedder.embed(["b"])
    assert endpoint.state.headers[0]["authorization"] == f"Bearer {secret}"
    assert secret not in str(failure.value)
    assert secret not in embedder.disclosure()
    assert caplog.records  # the client logged at debug level …
    assert all(secret not in record.getMessage() for record in caplog.records)  # … never the key


def test_disclosure_names_the_host_that_receives_code():
    embedder = OpenAIEmbedder(base_url="https://user:pass@embeddings.example.com/v1", model="m", dimensions=4)
    try:
        message = embedder.disclosure()
    finally:
        embedder.close()
    assert "embeddings.example.com" in message
    assert "pass" not in message
    assert embedder.model_id == "openai:embeddings.example.com/m"


def test_endpoint_helpers():
    assert endpoint_host("http://127.0.0.1:8080/v1") == "127.0.0.1:8080"
    assert without_credentials("https://a:b@host/v1") == "https://host/v1"
    assert is_loopback("http://localhost:1/v1") and is_loopback("http://[::1]:1/v1") and is_loopback("http://127.0.0.2/v1")
    assert not is_loopback("https://api.openai.com/v1")


def test_unreachable_endpoint(make_openai_embedder):
    embedder = make_openai_embedder(base_url="http://127.0.0.1:9/v1", max_retries=0, timeout=2.0)
    with pytest.raises(EmbeddingError, match=r"cannot reach 127\.0\.0\.1:9"):
        embedder.embed(["a"])
