"""Code search: vectors over the chunks, fused with the lexical index.

    documents = documents_from_chunks(workspace_chunks, read_source)
    service = SearchService.from_settings(SearchSettings(), lexical=rust_index.search)
    service.replace_all(documents)            # returns at once; embedding runs in the background
    service.search("where do we build SQL from user input", limit=10, mode="hybrid")

Modules: `documents` (chunks → documents), `embedder` (the interface, the choice from settings),
`minilm` (the offline default: all-MiniLM-L6-v2 in numpy), `openai_embedder` (any OpenAI-compatible
endpoint) with `batches` (requests by input count and token budget), `cache` (embeddings on disk),
`vector_index` (Qdrant), `background` (the low-priority embedding thread), `fusion` (ranking),
`service` (all of it behind `search`), `settings`.

numpy, qdrant-client and openai come with the `search` extra, the MiniLM tokenizer with `embed`;
without them `SearchService` is lexical-only and says so in each result's `notice`.
"""

from flowsight.search.background import EmbeddingProgress
from flowsight.search.documents import EMBEDDED_KINDS, Document, documents_from_chunks
from flowsight.search.errors import EmbedderUnavailable, EmbeddingError
from flowsight.search.fusion import SearchHit, convex_fusion, reciprocal_rank_fusion
from flowsight.search.service import MODES, SearchResult, SearchService
from flowsight.search.settings import SearchSettings

__all__ = [
    "EMBEDDED_KINDS",
    "MODES",
    "Document",
    "EmbedderUnavailable",
    "EmbeddingError",
    "EmbeddingProgress",
    "SearchHit",
    "SearchResult",
    "SearchService",
    "SearchSettings",
    "convex_fusion",
    "documents_from_chunks",
    "reciprocal_rank_fusion",
]
