"""Splitting texts into embedding requests bounded by input count and token budget.

Without the endpoint's tokenizer the token count is estimated from UTF-8 bytes: OpenAI's tokenizers
average about 4 bytes a token on English and 3–4 on code, so bytes / 3 rounds up for both. A caller
with a real tokenizer passes its own `count_tokens`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

BYTES_PER_TOKEN = 3


def estimate_tokens(text: str) -> int:
    return (len(text.encode("utf-8")) + BYTES_PER_TOKEN - 1) // BYTES_PER_TOKEN


def truncate_to_tokens(text: str, max_tokens: int, count_tokens: Callable[[str], int] = estimate_tokens) -> str:
    """`text` cut (at a character boundary) so that `count_tokens` gives at most `max_tokens`."""
    if count_tokens(text) <= max_tokens:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits
        middle = (low + high + 1) // 2
        if count_tokens(text[:middle]) <= max_tokens:
            low = middle
        else:
            high = middle - 1
    return text[:low]


def plan_batches(
    texts: Sequence[str],
    max_inputs: int,
    max_tokens: int,
    count_tokens: Callable[[str], int] = estimate_tokens,
) -> list[range]:
    """Consecutive index ranges over `texts`, each with at most `max_inputs` texts and at most
    `max_tokens` tokens in total; a single text over the budget is a batch of its own (callers
    truncate inputs to the per-input limit first)."""
    batches: list[range] = []
    start, tokens = 0, 0
    for index, text in enumerate(texts):
        size = count_tokens(text)
        if index > start and (index - start >= max_inputs or tokens + size > max_tokens):
            batches.append(range(start, index))
            start, tokens = index, 0
        tokens += size
    if start < len(texts):
        batches.append(range(start, len(texts)))
    return batches
