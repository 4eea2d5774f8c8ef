from flowsight.search.batches import estimate_tokens, plan_batches, truncate_to_tokens


def test_estimate_rounds_bytes_up():
    assert estimate_tokens("") == 0
    assert estimate_tokens("abc") == 1
    assert estimate_tokens("abcd") == 2
    assert estimate_tokens("é") == 1  # two UTF-8 bytes


def test_plan_by_count_and_budget():
    texts = ["a" * 3] * 7  # 1 token each
    assert plan_batches(texts, max_inputs=3, max_tokens=100) == [range(0, 3), range(3, 6), range(6, 7)]
    assert plan_batches(texts, max_inputs=100, max_tokens=2) == [range(0, 2), range(2, 4), range(4, 6), range(6, 7)]
    assert plan_batches([], max_inputs=3, max_tokens=3) == []


def test_a_text_over_the_budget_is_alone():
    texts = ["a" * 3, "b" * 300, "c" * 3]
    assert plan_batches(texts, max_inputs=10, max_tokens=50) == [range(0, 1), range(1, 2), range(2, 3)]


def test_truncate_to_tokens():
    assert truncate_to_tokens("short", 10) == "short"
    assert truncate_to_tokens("x" * 100, 10) == "x" * 30
    assert estimate_tokens(truncate_to_tokens("é" * 100, 10)) <= 10
    assert truncate_to_tokens("one two three four", 2, count_tokens=lambda text: len(text.split())) == "one two "
