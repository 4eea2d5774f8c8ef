"""Fusion order, the identifier boost and the dedup of overlapping chunks."""

from __future__ import annotations

import pytest

from flowsight.search.fusion import (
    SearchHit,
    ancestors,
    boost_identifiers,
    convex_fusion,
    drop_overlapping,
    query_identifiers,
    query_shape,
    reciprocal_rank_fusion,
)

LEXICAL = [("a", 12.0), ("b", 8.0), ("c", 2.0)]
VECTOR = [("c", 0.80), ("d", 0.70), ("a", 0.40)]


def ids(hits):
    return [hit.chunk_id for hit in hits]


def test_convex_combination_of_min_max_normalised_scores():
    hits = convex_fusion(LEXICAL, VECTOR, lexical_weight=0.1)
    # lexical: a 1, b 0.6, c 0;  vector: c 1, d 0.75, a 0
    expected = {"a": 0.1, "b": 0.06, "c": 0.9, "d": 0.675}
    assert ids(hits) == ["c", "d", "a", "b"]
    assert {hit.chunk_id: round(hit.score, 6) for hit in hits} == expected
    c = hits[0]
    assert (c.lexical_score, c.vector_score) == (2.0, 0.80)
    assert hits[1].lexical_score is None


@pytest.mark.parametrize(("weight", "order"), [(1.0, ["a", "b", "c", "d"]), (0.0, ["c", "d", "a", "b"]), (0.5, ["a", "c", "d", "b"])])
def test_weight_moves_between_the_lists(weight, order):
    assert ids(convex_fusion(LEXICAL, VECTOR, lexical_weight=weight)) == order


def test_known_cosines_of_lexical_candidates_count():
    # b is not in the vector top list, but its cosine (0.79) is known: 0.1·0.6 + 0.9·0.975 beats c's 0.9
    hits = convex_fusion(LEXICAL, VECTOR, lexical_weight=0.1, extra_vector_scores={"b": 0.79})
    assert ids(hits) == ["b", "c", "d", "a"]
    assert hits[0].score == pytest.approx(0.9375)


def test_one_list_empty():
    assert ids(convex_fusion([], VECTOR)) == ["c", "d", "a"]
    assert ids(convex_fusion(LEXICAL, [])) == ["a", "b", "c"]
    assert convex_fusion([], []) == []
    assert convex_fusion([("x", 3.0)], [], lexical_weight=0.1)[0].score == pytest.approx(0.1)  # a single score normalises to 1


def test_ties_are_deterministic():
    hits = convex_fusion([("x", 1.0), ("y", 1.0)], [], lexical_weight=0.5)
    assert ids(hits) == ["x", "y"]  # equal scores: lexical rank decides


def test_weighted_reciprocal_rank_fusion():
    hits = reciprocal_rank_fusion(LEXICAL, VECTOR, lexical_weight=0.5, k=60)
    scores = {hit.chunk_id: hit.score for hit in hits}
    assert scores["a"] == pytest.approx(0.5 / 61 + 0.5 / 63)
    assert scores["c"] == pytest.approx(0.5 / 63 + 0.5 / 61)
    assert ids(hits) == ["a", "c", "b", "d"]  # a and c tie; a ranks first lexically


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("ChatController", {"chatcontroller"}),
        ("chatcontroller", {"chatcontroller"}),
        ("where do we call parse_header", {"parse_header"}),
        ("json.loads with a default", {"json.loads"}),
        ("how does getUserName work", {"getusername"}),
        ("read the config file", set()),
        ("sha256 of the text", {"sha256"}),
    ],
)
def test_query_identifiers(query, names):
    assert query_identifiers(query) == names


@pytest.mark.parametrize(
    ("query", "shape"),
    [
        ("parse_qsl", "identifier"),
        ("parseQsl", "identifier"),
        ("  ChatController ", "identifier"),
        ("json.loads", "identifier"),
        ("compress", "identifier"),
        ("parse the query string", "words"),
        ("where do we call parse_header", "words"),
        ("json.loads(text)", "words"),
        ("", "words"),
    ],
)
def test_query_shape(query, shape):
    assert query_shape(query) == shape


QUALIFIED = {
    "ctrl": "app.web.ChatController",
    "post": "app.web.ChatController.post",
    "other": "app.web.chat_view",
    "frag": "app.web.ChatController#0",
    "loads": "app.codec.loads",
}


def test_exact_identifier_boost_wins():
    hits = [SearchHit("other", 0.9), SearchHit("post", 0.8), SearchHit("ctrl", 0.3)]
    boosted = boost_identifiers(hits, "ChatController", QUALIFIED.get)  # + 1.0: above any unboosted fused score
    assert ids(boosted) == ["ctrl", "other", "post"]
    assert boosted[0].score == pytest.approx(1.3)


def test_dotted_names_match_qualified_suffixes():
    hits = [SearchHit("other", 0.9), SearchHit("loads", 0.1)]
    assert ids(boost_identifiers(hits, "codec.loads", QUALIFIED.get)) == ["loads", "other"]
    assert ids(boost_identifiers(hits, "what loads the codec", QUALIFIED.get)) == ["other", "loads"]  # plain words: no boost


PARENTS = {
    "repo": None,
    "mod": "repo",
    "cls": "mod",
    "method": "cls",
    "frag0": "method",
    "frag1": "method",
    "func": "mod",
    "other_mod": "repo",
}


def test_ancestors_stop_below_the_repository():
    assert ancestors("frag0", PARENTS.get) == ["method", "cls", "mod"]
    assert ancestors("mod", PARENTS.get) == []
    assert ancestors("unknown", PARENTS.get) == []


def test_overlapping_chunks_keep_the_better_one():
    hits = [
        SearchHit(chunk_id, 1.0 - index / 10)
        for index, chunk_id in enumerate(["frag0", "method", "func", "cls", "frag1", "other_mod", "repo"])
    ]
    assert ids(drop_overlapping(hits, PARENTS.get)) == ["frag0", "func", "frag1", "other_mod", "repo"]
    hits = [SearchHit("cls", 1.0), SearchHit("frag0", 0.9), SearchHit("func", 0.8)]
    assert ids(drop_overlapping(hits, PARENTS.get)) == ["cls", "func"]


def test_cyclic_parents_do_not_hang():
    cyclic = {"a": "b", "b": "a"}
    assert len(ancestors("a", cyclic.get, limit=10)) == 10
