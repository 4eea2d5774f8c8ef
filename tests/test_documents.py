"""The server's copy of an open document (`flowsight.server.documents`) against the core: after
the same random edits (line breaks of every kind, characters of 1 to 4 UTF-8 bytes and 1 or 2
UTF-16 units, positions past line ends, past the last line, inside characters, reversed ranges),
in every position encoding, the two texts are equal and the kept UTF-8 size is the text's."""

from __future__ import annotations

import time

from hypothesis import given, settings, strategies as st

import flowsight
from flowsight.server.documents import Document, split_keeping_breaks

PIECES = ["a", "xyz", "\n", "\r", "\r\n", "é", "€", "😀", "\u2028", "\x0c", "\x85", "def f():\n    pass\n", "", "\r\r\n\n"]

texts = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)
positions = st.tuples(st.integers(0, 8), st.integers(0, 9))
edits = st.lists(st.tuples(positions, positions, texts), min_size=1, max_size=8)


@settings(max_examples=300, deadline=None)
@given(text=texts, steps=st.lists(edits, min_size=1, max_size=4), encoding=st.sampled_from(["utf-8", "utf-16", "utf-32"]))
def test_a_document_follows_edits_as_the_core_does(text: str, steps: list, encoding: str) -> None:
    workspace = flowsight.Workspace("/nonexistent-root")
    workspace.update_file("doc.py", text, 1)
    document = Document.from_text(text, 1)
    for version, step in enumerate(steps, start=2):
        core_edits = []
        for start, end, new_text in step:
            document.edit(start, end, new_text, encoding)
            core_edits.append(flowsight.TextEdit(*start, *end, new_text))
        workspace.apply_edits("doc.py", version, core_edits, encoding)
        current = document.text()
        assert current == workspace.text("doc.py")
        assert document.lines == split_keeping_breaks(current)
        assert document.utf8_size == len(current.encode("utf-8"))


def test_lines_keep_their_breaks_and_only_lsp_breaks_count() -> None:
    assert split_keeping_breaks("") == [""]
    assert split_keeping_breaks("a\r\nb\rc\nd") == ["a\r\n", "b\r", "c\n", "d"]
    assert split_keeping_breaks("a\n") == ["a\n", ""]
    assert split_keeping_breaks("a\u2028b\x0cc\x85") == ["a\u2028b\x0cc\x85"]


def test_a_lone_cr_and_a_new_lf_become_one_line_break() -> None:
    document = Document.from_text("a\rb", 1)
    document.edit((1, 0), (1, 1), "\n", "utf-16")  # "b" → "\n" right after the "\r"
    assert document.lines == ["a\r\n", ""]
    document = Document.from_text("a\r", 1)
    document.edit((1, 0), (1, 0), "\nx", "utf-16")
    assert document.lines == ["a\r\n", "x"]


def test_an_edit_costs_what_it_touches_not_the_document() -> None:
    """2,000 one-character edits in the middle of a 1.2 MB document: a few milliseconds each at
    most (pygls took ≈13 ms each, re-joining the whole text)."""
    document = Document.from_text("value = compute(argument) + 1\n" * 40_000, 1)
    started = time.perf_counter()
    for step in range(2000):
        if step % 2 == 0:
            document.edit((20_000, 4), (20_000, 4), "é", "utf-16")
        else:
            document.edit((20_000, 4), (20_000, 5), "", "utf-16")
    assert time.perf_counter() - started < 2.0
    assert document.utf8_size == 40_000 * 30
