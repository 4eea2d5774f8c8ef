"""Sparse lexical vectors for a Qdrant server's own hybrid search.

With a Qdrant server (`qdrant_url`), each point also carries a sparse vector of the chunk's code
tokens (the tokenizer of the lexical index: lower-cased identifiers and their snake_case,
camelCase and digit parts), so one Query API request fuses the dense and the lexical ranking on
the server (`VectorIndex.hybrid`). A token's dimension is a stable 32-bit hash of its text; its
weight is BM25's term-frequency saturation (k1 = 1.2, no length normalisation: the server keeps no
corpus statistics but IDF, which the collection's `Modifier.IDF` applies at query time). Tokens
of the chunk's own name count three times, as the lexical index boosts the name field.
"""

from __future__ import annotations

import hashlib
from collections import Counter

K1 = 1.2
NAME_REPEATS = 3


def token_dimension(token: str) -> int:
    """The sparse dimension of a token: stable across runs and machines (not Python's `hash`)."""
    return int.from_bytes(hashlib.blake2b(token.encode(), digest_size=4).digest(), "little")


def tokens_of(texts: list[str]) -> list[list[str]]:
    from flowsight._native import code_tokens

    return code_tokens(texts)


def document_vector(text_tokens: list[str], name_tokens: list[str]) -> tuple[list[int], list[float]]:
    """(indices, values) of a chunk's sparse vector."""
    counts = Counter(text_tokens)
    for token in name_tokens:
        counts[token] += NAME_REPEATS
    weights: dict[int, float] = {}
    for token, count in counts.items():
        dimension = token_dimension(token)
        # Two tokens hashing alike share a dimension: their weights add.
        weights[dimension] = weights.get(dimension, 0.0) + count * (K1 + 1) / (count + K1)
    indices = sorted(weights)
    return indices, [weights[index] for index in indices]


def query_vector(query_tokens: list[str]) -> tuple[list[int], list[float]]:
    """(indices, values) of a query: each distinct token once."""
    dimensions = sorted({token_dimension(token) for token in query_tokens})
    return dimensions, [1.0] * len(dimensions)
