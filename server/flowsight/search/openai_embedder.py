"""Embeddings from any OpenAI-compatible endpoint through the `openai` client.

Requests carry many inputs (`plan_batches`: ≤ `max_batch_inputs` inputs and ≤ `max_batch_tokens`
estimated tokens each), at most `concurrency` in flight. Retries with exponential backoff on
408/409/429/5xx and on connection errors and timeouts are the client's own (`max_retries`; it honours
`Retry-After`); `timeout` bounds each attempt. The key is read from the environment variable named
by `api_key_env` when the embedder is made and is never logged or put in a message.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from flowsight.search.batches import estimate_tokens, plan_batches, truncate_to_tokens
from flowsight.search.embedder import normalise_rows
from flowsight.search.errors import EmbedderUnavailable, EmbeddingError

if TYPE_CHECKING:
    from flowsight.search.settings import SearchSettings

log = logging.getLogger(__name__)

OPENAI_BASE_URL = "https://api.openai.com/v1"
KNOWN_DIMENSIONS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}
PLACEHOLDER_KEY = "no-key"  # local servers ignore the key; the client insists on one


def endpoint_host(base_url: str) -> str:
    parts = urlsplit(base_url)
    return parts.netloc.rsplit("@", 1)[-1] or base_url


def without_credentials(base_url: str) -> str:
    parts = urlsplit(base_url)
    return urlunsplit(parts._replace(netloc=endpoint_host(base_url)))


def is_loopback(base_url: str) -> bool:
    name = urlsplit(base_url).hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class OpenAIEmbedder:
    """Embeds through `POST {base_url}/embeddings`. Thread-safe; `close()` ends its connections."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        model: str = "text-embedding-3-small",
        dimensions: int | None = None,
        encoding_format: str = "base64",
        api_key_env: str = "OPENAI_API_KEY",
        max_batch_inputs: int = 2048,
        max_batch_tokens: int = 300_000,
        max_input_tokens: int = 8191,
        concurrency: int = 4,
        timeout: float = 60.0,
        max_retries: int = 5,
        count_tokens: Callable[[str], int] = estimate_tokens,
    ) -> None:
        try:
            import openai
        except ImportError as error:
            raise EmbedderUnavailable("embedding through an endpoint needs the `openai` package (the `search` extra)") from error
        self.base_url = (base_url or OPENAI_BASE_URL).rstrip("/")
        self.remote_host = endpoint_host(self.base_url)
        self.model = model
        self.encoding_format = encoding_format
        self.max_batch_inputs = max_batch_inputs
        self.max_batch_tokens = max_batch_tokens
        self.max_input_tokens = max_input_tokens
        self.count_tokens = count_tokens
        self.requested_dimensions = dimensions
        self._dimensions = dimensions or KNOWN_DIMENSIONS.get(model)
        self.model_id = f"openai:{self.remote_host}/{model}"
        self.api_key_env = api_key_env
        key = os.environ.get(api_key_env)
        if not key:
            log.info("no API key in $%s: requests to %s carry none", api_key_env, self.remote_host)
        self._client = openai.OpenAI(api_key=key or PLACEHOLDER_KEY, base_url=self.base_url, timeout=timeout, max_retries=max_retries)
        self._openai = openai
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="flowsight-embed")
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: SearchSettings) -> OpenAIEmbedder:
        return cls(
            base_url=settings.base_url,
            model=settings.model,
            dimensions=settings.dimensions,
            encoding_format=settings.encoding_format,
            api_key_env=settings.api_key_env,
            max_batch_inputs=settings.max_batch_inputs,
            max_batch_tokens=settings.max_batch_tokens,
            max_input_tokens=settings.max_input_tokens,
            concurrency=settings.concurrency,
            timeout=settings.timeout,
            max_retries=settings.max_retries,
        )

    def disclosure(self) -> str:
        """What the first indexing tells the user: which host receives their code."""
        where = " (this machine)" if is_loopback(self.base_url) else ""
        url = without_credentials(self.base_url)
        return f"code search sends the text of your code to {self.remote_host}{where} to embed it with `{self.model}` ({url})"

    @property
    def dimensions(self) -> int:
        """The vector size: configured, known for the model, or learned from one request."""
        with self._lock:
            if self._dimensions is None:
                self._dimensions = len(self._request(["dimensions"])[0])
            return self._dimensions

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        # An endpoint rejects empty inputs and inputs over its limit.
        inputs = [truncate_to_tokens(text, self.max_input_tokens, self.count_tokens) or " " for text in texts]
        batches = plan_batches(inputs, self.max_batch_inputs, self.max_batch_tokens, self.count_tokens)
        futures = [self._pool.submit(self._request, inputs[batch.start : batch.stop]) for batch in batches]
        rows = [row for future in futures for row in future.result()]
        vectors = np.asarray(rows, dtype=np.float32)
        if self._dimensions is None:
            self._dimensions = vectors.shape[1]
        elif vectors.shape[1] != self._dimensions:
            raise EmbeddingError(f"{self.remote_host} answered {vectors.shape[1]}-dimensional vectors, not {self._dimensions}")
        return normalise_rows(vectors)

    def _request(self, inputs: list[str]) -> list[np.ndarray]:
        arguments: dict[str, Any] = {"input": inputs, "model": self.model, "encoding_format": self.encoding_format}
        if self.requested_dimensions is not None:
            arguments["dimensions"] = self.requested_dimensions
        try:
            response = self._client.embeddings.create(**arguments)
        except self._openai.APITimeoutError:
            raise EmbeddingError(f"embedding request to {self.remote_host} timed out (after retries)") from None
        except self._openai.APIConnectionError as error:
            raise EmbeddingError(f"cannot reach {self.remote_host} for embeddings: {error.__cause__ or error}") from None
        except self._openai.APIStatusError as error:
            raise EmbeddingError(
                f"embedding request to {self.remote_host} failed with HTTP {error.status_code}: {short(error.message)}"
            ) from None
        except self._openai.OpenAIError as error:
            raise EmbeddingError(f"embedding request to {self.remote_host} failed: {short(str(error))}") from None
        data = sorted(response.data, key=lambda item: item.index)
        if len(data) != len(inputs) or [item.index for item in data] != list(range(len(inputs))):
            raise EmbeddingError(f"{self.remote_host} answered {len(data)} embeddings for {len(inputs)} inputs")
        return [decode_embedding(item.embedding) for item in data]

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()


def decode_embedding(embedding: object) -> np.ndarray:
    """A float list, or base64 of little-endian float32 (`encoding_format="base64"`)."""
    if isinstance(embedding, str):
        return np.frombuffer(base64.b64decode(embedding), dtype="<f4")
    return np.asarray(embedding, dtype=np.float32)


def short(message: str, limit: int = 200) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 1] + "…"
