"""Property: after every edit of a random sequence (including ones that leave the file broken),
the workspace's incremental state (tree, chunks, ids, hashes) equals a from-scratch build."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

import flowsight
from flowsight.errors import FlowsightError

BASE = '''import os

class Handler:
    """Doc."""
    def get(self, request):
        value = request.args["q"]
        return value

def helper(a, b=1):
    if a:
        return a + b
    return b
'''

PIECES = [
    "def ",
    "class ",
    "(",
    ")",
    ":",
    "\n",
    "\n    ",
    "    ",
    "return x",
    "'",
    '"""',
    "#",
    "@dec\n",
    "😀",
    "中",
    "e\u0301",
    "\r\n",
    "\r",
    "if x:\n    pass\n",
    "async def g():\n    await h()\n",
    "f'{x!r}'",
    "lambda: 0",
    "",
    "x = [1,\n",
    "]",
    "\t",
]


@st.composite
def edits(draw: st.DrawFn) -> list[tuple[float, float, str, bool]]:
    count = draw(st.integers(min_value=1, max_value=12))
    return [
        (
            draw(st.floats(min_value=0, max_value=1)),
            draw(st.floats(min_value=0, max_value=0.2)),
            draw(st.sampled_from(PIECES)) + draw(st.sampled_from(PIECES)),
            draw(st.booleans()),
        )
        for _ in range(count)
    ]


def utf16_position(text: str, index: int) -> tuple[int, int]:
    before = text[:index]
    line_start = max(before.rfind("\n"), before.rfind("\r")) + 1
    # "\r\n" ends a line: a position cannot sit between its two characters.
    line = before.count("\n") + before.count("\r") - before.count("\r\n")
    return line, len(before[line_start:].encode("utf-16-le")) // 2


def apply_edit(ws: flowsight.Workspace, path: str, text: str, version: int, edit: tuple[float, float, str, bool]) -> str:
    """Applies one generated edit (a place, a length and an insertion, positions in UTF-8 or
    UTF-16 code units) to `path` in `ws`; returns the new text."""
    where, length, insert, use_utf8 = edit
    start = int(where * len(text))
    end = min(len(text), start + int(length * len(text)))
    if text[start - 1 : start + 1] == "\r\n":
        start -= 1
    if text[end - 1 : end + 1] == "\r\n":
        end -= 1
    (sl, sc), (el, ec) = utf16_position(text, start), utf16_position(text, end)
    if use_utf8:
        sc = len(text[:start].split("\n")[-1].split("\r")[-1].encode())
        ec = len(text[:end].split("\n")[-1].split("\r")[-1].encode())
    ws.apply_edits(path, version, [flowsight.TextEdit(sl, sc, el, ec, insert)], "utf-8" if use_utf8 else "utf-16")
    return text[:start] + insert + text[end:]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=edits())
def test_incremental_equals_from_scratch(tmp_path: Path, sequence: list[tuple[float, float, str, bool]]) -> None:
    ws = flowsight.Workspace(str(tmp_path))
    ws.update_file("m.py", BASE, 0)
    text = BASE
    for version, edit in enumerate(sequence, start=1):
        text = apply_edit(ws, "m.py", text, version, edit)
        assert ws.text("m.py") == text
        scratch = flowsight.Workspace(str(tmp_path))
        scratch.update_file("m.py", text)
        assert ws.sexp("m.py") == scratch.sexp("m.py")
        assert ws.chunks("m.py") == scratch.chunks("m.py")
        assert ws.errors("m.py") == scratch.errors("m.py")


OTHER = """from m import helper, Handler


def use(a):
    total = 0
    for i in range(a):
        try:
            total += helper(i, a)
        finally:
            a -= 1
    return total


def run(request):
    return Handler().get(request)
"""


def slices(ws: flowsight.Workspace, path: str, lines: int) -> list[object]:
    """Backward and forward slices from every line (or the error each line gives)."""
    results: list[object] = []
    for line in range(lines):
        for forward in (False, True):
            try:
                results.append(ws.slice_code(path, line, forward=forward).files)
            except FlowsightError as error:
                results.append(type(error).__name__)
    return results


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=edits())
def test_incremental_slices_equal_from_scratch(tmp_path: Path, sequence: list[tuple[float, float, str, bool]]) -> None:
    """Slices across two files after every edit of one of them (broken states included), the
    slice cache kept across the edits (what an edit leaves valid reused) and, after every other
    edit, the slices prepared up front (`prepare_slices`) instead of on demand."""
    ws = flowsight.Workspace(str(tmp_path))
    ws.update_file("m.py", BASE, 0)
    ws.update_file("n.py", OTHER, 0)
    ws.slice_code("n.py", 7)  # the program view exists before the edits
    text = BASE
    for version, edit in enumerate(sequence, start=1):
        text = apply_edit(ws, "m.py", text, version, edit)
        if version % 2:
            assert ws.prepare_slices() == 0
        scratch = flowsight.Workspace(str(tmp_path))
        scratch.update_file("m.py", text)
        scratch.update_file("n.py", OTHER)
        for path, lines in (("m.py", len(ws.text("m.py").splitlines())), ("n.py", OTHER.count("\n"))):
            assert slices(ws, path, lines) == slices(scratch, path, lines), (path, text)
