"""Fixtures of the search tests: the real MiniLM embedder (loaded once), a deterministic bag-of-words
embedder for tests about plumbing rather than meaning, and a loopback OpenAI-compatible server."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from flowsight.search.minilm import MiniLMEmbedder


@pytest.fixture(scope="session")
def minilm() -> MiniLMEmbedder:
    return MiniLMEmbedder()


class HashingEmbedder:
    """Words hashed into 64 dimensions: texts sharing words are similar. Counts its calls."""

    remote_host = None

    def __init__(self, dimensions: int = 64, model_id: str = "test/hashing") -> None:
        self.dimensions = dimensions
        self.model_id = model_id
        self.calls: list[list[str]] = []
        self.lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        with self.lock:
            self.calls.append(list(texts))
        return np.stack([hashed_vector(text, self.dimensions) for text in texts]) if texts else np.zeros((0, self.dimensions), np.float32)

    @property
    def embedded_texts(self) -> list[str]:
        return [text for call in self.calls for text in call]


def hashed_vector(text: str, dimensions: int) -> np.ndarray:
    vector = np.zeros(dimensions, dtype=np.float32)
    for word in re.findall(r"[a-z]+", text.lower()):
        vector[int(hashlib.sha256(word.encode()).hexdigest(), 16) % dimensions] += 1.0
    norm = np.linalg.norm(vector)
    return vector / norm if norm else vector


@pytest.fixture
def hashing_embedder() -> HashingEmbedder:
    return HashingEmbedder()


# ---------------------------------------------------------------- the loopback endpoint


def fake_embedding(text: str, dimensions: int) -> list[float]:
    """What the loopback server answers for `text`: deterministic, not normalised."""
    digest = hashlib.sha256(text.encode()).digest()
    return [float(digest[index % len(digest)] + 1) for index in range(dimensions)]


@dataclass
class Reply:
    """A scripted answer: an HTTP status (with headers), or a delay before the normal answer."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    count: int | None = None  # answer this many embeddings instead of one per input


@dataclass
class EndpointState:
    dimensions: int = 8
    script: list[Reply] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def inputs_per_request(self) -> list[int]:
        return [len(request["input"]) for request in self.requests]


class Endpoint:
    def __init__(self) -> None:
        self.state = EndpointState()
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 (the http.server API)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with state.lock:
                    state.requests.append(body)
                    state.headers.append({name.lower(): value for name, value in self.headers.items()})
                    reply = state.script.pop(0) if state.script else Reply(delay=state.delay)
                    state.in_flight += 1
                    state.max_in_flight = max(state.max_in_flight, state.in_flight)
                try:
                    if reply.delay:
                        time.sleep(reply.delay)
                    if self.path != "/v1/embeddings":
                        self.answer(404, {"error": {"message": f"no route {self.path}"}})
                    elif reply.status != 200:
                        self.answer(reply.status, {"error": {"message": f"scripted {reply.status}", "type": "test"}}, reply.headers)
                    else:
                        self.answer(200, self.embeddings(body, reply))
                finally:
                    with state.lock:
                        state.in_flight -= 1

            def embeddings(self, body: dict, reply: Reply) -> dict:
                dimensions = body.get("dimensions", state.dimensions)
                inputs = body["input"]
                count = len(inputs) if reply.count is None else reply.count
                data = []
                for index in range(count):
                    vector = fake_embedding(inputs[index % len(inputs)], dimensions)
                    if body.get("encoding_format") == "base64":
                        encoded: object = base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()
                    else:
                        encoded = vector
                    data.append({"object": "embedding", "index": index, "embedding": encoded})
                return {"object": "list", "data": data, "model": body["model"], "usage": {"prompt_tokens": 1, "total_tokens": 1}}

            def answer(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    server = Endpoint()
    yield server
    server.close()


@pytest.fixture
def make_openai_embedder(endpoint: Endpoint) -> Iterator[Callable[..., object]]:
    from flowsight.search.openai_embedder import OpenAIEmbedder

    made: list[OpenAIEmbedder] = []

    def make(**options: object) -> OpenAIEmbedder:
        options.setdefault("base_url", endpoint.base_url)
        options.setdefault("model", "test-embedding")
        options.setdefault("dimensions", endpoint.state.dimensions)
        options.setdefault("timeout", 5.0)
        embedder = OpenAIEmbedder(**options)  # type: ignore[arg-type]
        made.append(embedder)
        return embedder

    yield make
    for embedder in made:
        embedder.close()
