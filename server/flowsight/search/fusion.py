"""Fusing a lexical and a vector ranking into one list.

The default is a convex combination of min-max-normalised scores (Bruch et al., "An Analysis of Fusion
Functions for Hybrid Retrieval", 2023): `w·lexical + (1 − w)·vector`, with `w` by the query's shape,
each chosen by measurement (`bench/search_quality.py`, chosen on even queries, reported on odd ones,
over the Rust index and MiniLM): `w = 0.2` for words (docstring → function: 0.680 MRR@10 against
0.655 at 0.1 and 0.611 for MiniLM alone; weighted higher, the lexical index's noise on
natural-language queries drags MiniLM down; plain reciprocal-rank fusion is worse than the embedder
alone), `w = 1.0` for one identifier-shaped word (a function's name respelled, `parseQsl` for
`parse_qsl`: 0.963 against 0.736 at 0.2; the vector side only breaks ties). A chunk missing
from a list scores that list's floor (0 after normalisation) unless the caller knows its real score
(the vector index scores lexical candidates too). Then an exact-identifier boost, so a query that
spells a name (`ChatController`, `parse_header`, `json.loads`) finds that definition first, and the
dedup of overlapping chunks (a function and its fragments, a class and its methods): the better one
stays.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

Ranked = Sequence[tuple[str, float]]
"""(chunk id, score) pairs, best first."""

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
LEXICAL_WEIGHT = 0.2
"""The lexical weight for queries in words."""
IDENTIFIER_LEXICAL_WEIGHT = 1.0
"""The lexical weight for a query that is one identifier-shaped word (`query_shape`)."""
IDENTIFIER_BOOST = 1.0
RRF_K = 60


@dataclass(frozen=True)
class SearchHit:
    chunk_id: str
    score: float
    lexical_score: float | None = None
    """The lexical index's own score (None: not in the lexical list)."""
    vector_score: float | None = None
    """Cosine similarity to the query (None: not embedded, or vectors not used)."""


def minmax(scores: Iterable[float]) -> tuple[float, float]:
    values = list(scores)
    return (min(values), max(values)) if values else (0.0, 0.0)


def normalised(score: float, bounds: tuple[float, float]) -> float:
    low, high = bounds
    return 1.0 if high <= low else (score - low) / (high - low)


def convex_fusion(
    lexical: Ranked,
    vector: Ranked,
    lexical_weight: float = LEXICAL_WEIGHT,
    extra_vector_scores: Mapping[str, float] | None = None,
) -> list[SearchHit]:
    """`lexical_weight·L + (1 − lexical_weight)·V` over the union of both lists, where L and V are
    each list's scores min-max normalised to [0, 1] (a chunk absent from a list gets 0 there).
    `extra_vector_scores` are cosines of chunks outside the vector top list (normalised with it)."""
    lexical_scores = dict(lexical)
    vector_scores = dict(extra_vector_scores or {})
    vector_scores.update(vector)
    lexical_bounds = minmax(lexical_scores.values())
    vector_bounds = minmax(vector_scores.values())
    hits = []
    for chunk_id in dict.fromkeys([chunk_id for chunk_id, _ in lexical] + [chunk_id for chunk_id, _ in vector]):
        lexical_score = lexical_scores.get(chunk_id)
        vector_score = vector_scores.get(chunk_id)
        fused = 0.0
        if lexical_score is not None:
            fused += lexical_weight * normalised(lexical_score, lexical_bounds)
        if vector_score is not None:
            fused += (1.0 - lexical_weight) * normalised(vector_score, vector_bounds)
        hits.append(SearchHit(chunk_id, fused, lexical_score, vector_score))
    return ranked(hits, lexical, vector)


def reciprocal_rank_fusion(lexical: Ranked, vector: Ranked, lexical_weight: float = 0.5, k: int = RRF_K) -> list[SearchHit]:
    """Weighted reciprocal-rank fusion: `w/(k + rank_L) + (1 − w)/(k + rank_V)`, ranks from 1."""
    lexical_scores = dict(lexical)
    vector_scores = dict(vector)
    fused: dict[str, float] = {}
    for weight, ranking in ((lexical_weight, lexical), (1.0 - lexical_weight, vector)):
        for rank, (chunk_id, _) in enumerate(ranking, start=1):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + weight / (k + rank)
    hits = [SearchHit(chunk_id, score, lexical_scores.get(chunk_id), vector_scores.get(chunk_id)) for chunk_id, score in fused.items()]
    return ranked(hits, lexical, vector)


def single_list(ranking: Ranked, kind: str) -> list[SearchHit]:
    """One list as hits (`kind` "lexical", "vector", or "hybrid" for a list fused elsewhere), scores as
    they are."""
    if kind == "hybrid":
        return [SearchHit(chunk_id, score) for chunk_id, score in ranking]
    if kind == "lexical":
        return [SearchHit(chunk_id, score, lexical_score=score) for chunk_id, score in ranking]
    return [SearchHit(chunk_id, score, vector_score=score) for chunk_id, score in ranking]


def ranked(hits: list[SearchHit], lexical: Ranked, vector: Ranked) -> list[SearchHit]:
    """Best score first; ties broken by lexical rank, then vector rank, then id (deterministic)."""
    unranked = len(lexical) + len(vector)
    lexical_rank = {chunk_id: rank for rank, (chunk_id, _) in enumerate(lexical)}
    vector_rank = {chunk_id: rank for rank, (chunk_id, _) in enumerate(vector)}
    return sorted(
        hits, key=lambda hit: (-hit.score, lexical_rank.get(hit.chunk_id, unranked), vector_rank.get(hit.chunk_id, unranked), hit.chunk_id)
    )


def query_shape(query: str) -> str:
    """The query's shape for fusion: `identifier` for one word shaped like a name (`parse_qsl`,
    `ChatController`, `json.loads`, `compress`), else `words`."""
    return "identifier" if IDENTIFIER.fullmatch(query.strip()) else "words"


def query_identifiers(query: str) -> set[str]:
    """The names a query spells out, lower-cased: a one-word query is a name; in a longer query only
    words that look like code are (`snake_case`, `camelCase`/`CamelCase` inside the word, digits,
    dotted `module.name`). "where do we parse_header" → {"parse_header"}."""
    words = IDENTIFIER.findall(query)
    if len(words) == 1 and len(query.split()) == 1:
        return {words[0].lower()}
    return {
        word.lower()
        for word in words
        if "_" in word.strip("_") or "." in word or any(c.isupper() for c in word[1:]) or any(c.isdigit() for c in word)
    }


def boost_identifiers(
    hits: Sequence[SearchHit],
    query: str,
    qualified_name_of: Callable[[str], str | None],
    boost: float = IDENTIFIER_BOOST,
) -> list[SearchHit]:
    """Adds `boost` to hits whose own name (or dotted qualified-name suffix) is spelled in the query."""
    names = query_identifiers(query)
    if not names or boost == 0:
        return list(hits)
    boosted = []
    for hit in hits:
        qualified_name = (qualified_name_of(hit.chunk_id) or "").split("#", 1)[0].lower()
        parts = qualified_name.split(".")
        suffixes = {".".join(parts[index:]) for index in range(len(parts))}
        if qualified_name and names & suffixes:
            hit = SearchHit(hit.chunk_id, hit.score + boost, hit.lexical_score, hit.vector_score)
        boosted.append(hit)
    order = {hit.chunk_id: index for index, hit in enumerate(hits)}
    return sorted(boosted, key=lambda hit: (-hit.score, order[hit.chunk_id]))


def drop_overlapping(hits: Iterable[SearchHit], parent_of: Callable[[str], str | None]) -> list[SearchHit]:
    """Keeps each hit unless a better-ranked kept hit is its ancestor or descendant. The repository
    chunk (the root, without a parent) overlaps nothing."""
    kept: list[SearchHit] = []
    kept_ids: set[str] = set()
    covered: set[str] = set()  # ancestors of kept hits
    for hit in hits:
        lineage = ancestors(hit.chunk_id, parent_of)
        if hit.chunk_id in kept_ids or hit.chunk_id in covered or kept_ids.intersection(lineage):
            continue
        kept.append(hit)
        kept_ids.add(hit.chunk_id)
        covered.update(lineage)
    return kept


def ancestors(chunk_id: str, parent_of: Callable[[str], str | None], limit: int = 1000) -> list[str]:
    """The chunk's ancestors below the root, nearest first (bounded: a cycle in bad data ends)."""
    chain = []
    current = parent_of(chunk_id)
    while current is not None and len(chain) < limit:
        parent = parent_of(current)
        if parent is None:  # `current` is the root
            break
        chain.append(current)
        current = parent
    return chain
