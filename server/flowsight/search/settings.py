"""Search settings: which embedder, where vectors live, how results are fused.

Meant for a `[tool.flowsight.search]` table or the editor's settings (`SearchSettings.from_mapping`):

    [tool.flowsight.search]
    embedder = "openai"                 # "auto" (bundled MiniLM if installed), "builtin", "openai", "none"
    base_url = "http://localhost:8080/v1"
    model = "text-embedding-3-small"
    dimensions = 512
    api_key_env = "OPENAI_API_KEY"      # the name of the variable, never the key itself
    qdrant_url = "http://localhost:6333"  # vectors in a Qdrant server instead of in memory
    server_fusion = "weighted"          # with a server: "weighted", "dbsf", "rrf" (fused by Qdrant) or "client"

Keys are only ever read from the environment (`api_key_env`, `qdrant_api_key_env`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flowsight.errors import ConfigError

EMBEDDERS = ("auto", "builtin", "openai", "none")
SERVER_FUSIONS = ("weighted", "dbsf", "rrf", "client")
"""How hybrid search fuses with a Qdrant server: by the server in one Query API request (`weighted`: the
query shape's lexical weight on the saturated lexical score plus the rest on the cosine, as a Qdrant
formula; Qdrant's `dbsf` or `rrf`), or by flowsight (`client`: its tantivy index and
`fusion.convex_fusion`, as in local mode). Measured in `bench/search_quality.py` (docstring → function,
MRR@10): weighted 0.644, rrf 0.618, dbsf 0.611, client 0.679 (its tantivy index weighs fields and
lengths, which the server's sparse vectors do not); `weighted` is the default as the best of the
server's own."""
ENCODING_FORMATS = ("float", "base64")


@dataclass(frozen=True)
class SearchSettings:
    embedder: str = "auto"
    model_dir: str | None = None
    """The bundled embedder's model directory (default: inside the weights package)."""
    embedder_threads: int = 1
    """BLAS threads of the bundled embedder (1 leaves the other cores to analysis)."""

    base_url: str | None = None
    model: str = "text-embedding-3-small"
    dimensions: int | None = None
    encoding_format: str = "base64"
    api_key_env: str = "OPENAI_API_KEY"
    max_batch_inputs: int = 2048
    max_batch_tokens: int = 300_000
    max_input_tokens: int = 8191
    concurrency: int = 4
    timeout: float = 60.0
    max_retries: int = 5

    cache_dir: str | None = None
    """Embedding cache directory; the CLI and the server use the project's cache directory
    (`flowsight.cache`, e.g. `.flowsight-cache/`) unless this names one (`:memory:`: none on disk)."""
    qdrant_url: str | None = None
    qdrant_api_key_env: str = "QDRANT_API_KEY"
    collection: str = "flowsight"
    server_fusion: str = "weighted"
    """With a Qdrant server: how hybrid search fuses (`vector_index.SERVER_FUSIONS`): by the server in
    one Query API request (`weighted`, `dbsf`, `rrf`), or by flowsight (`client`)."""

    lexical_weight: float = 0.2
    """Weight of the min-max-normalised lexical score in hybrid fusion of a query in words (the vector
    score gets 1 - it); measured in `bench/search_quality.py`."""
    identifier_lexical_weight: float = 1.0
    """The same for a query that is one identifier-shaped word (`parse_qsl`, `ChatController`)."""
    identifier_boost: float = 1.0
    """Added to the fused score of a chunk whose name is spelled out in the query (fused scores lie
    in [0, 1], so 1.0 puts such a chunk first)."""
    candidates: int = 50
    """How many results each list contributes before fusion."""

    def __post_init__(self) -> None:
        problems = []
        if self.embedder not in EMBEDDERS:
            problems.append(f"embedder must be one of {', '.join(EMBEDDERS)}, not {self.embedder!r}")
        if self.server_fusion not in SERVER_FUSIONS:
            problems.append(f"server_fusion must be one of {', '.join(SERVER_FUSIONS)}, not {self.server_fusion!r}")
        if self.encoding_format not in ENCODING_FORMATS:
            problems.append(f"encoding_format must be one of {', '.join(ENCODING_FORMATS)}, not {self.encoding_format!r}")
        for name in ("max_batch_inputs", "max_batch_tokens", "max_input_tokens", "concurrency", "candidates", "embedder_threads"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1")
        if self.dimensions is not None and self.dimensions < 1:
            problems.append("dimensions must be at least 1")
        if self.max_retries < 0 or self.timeout <= 0:
            problems.append("max_retries must be ≥ 0 and timeout > 0")
        for name in ("lexical_weight", "identifier_lexical_weight"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                problems.append(f"{name} must lie in [0, 1]")
        if problems:
            raise ConfigError("search settings: " + "; ".join(problems))

    def cached_in(self, directory: str | os.PathLike[str] | None) -> SearchSettings:
        """These settings with the embedding cache in the project's cache directory `directory`
        (None: the cache is off, so vectors stay in memory), unless they name a directory of their own."""
        if self.cache_dir is not None:
            return self
        return dataclasses.replace(self, cache_dir=":memory:" if directory is None else str(directory))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], source: str = "search settings") -> SearchSettings:
        """Settings from a TOML/JSON table; unknown keys and wrong types raise ConfigError naming `source`."""
        fields = {field.name: field for field in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in mapping.items():
            field = fields.get(key)
            if field is None:
                raise ConfigError(f"{source}: unknown key `{key}`")
            expected = str(field.type)
            if "float" in expected and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not type_matches(value, expected):
                raise ConfigError(f"{source}: `{key}` must be {expected.replace(' | None', '')}, not {type(value).__name__}")
            values[key] = value
        try:
            return cls(**values)
        except ConfigError as error:
            raise ConfigError(f"{source}: {str(error).removeprefix('search settings: ')}") from None


def type_matches(value: object, expected: str) -> bool:
    if value is None:
        return "None" in expected
    if isinstance(value, bool):
        return False
    return any(
        (name == "str" and isinstance(value, str))
        or (name == "int" and isinstance(value, int))
        or (name == "float" and isinstance(value, float))
        for name in expected.replace(" ", "").split("|")
    )
