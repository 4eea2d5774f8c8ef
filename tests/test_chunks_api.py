"""flowsight.build_chunks and flowsight.Workspace: the chunk model of docs/CONTRACTS.md."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import pytest

import flowsight
from flowsight.errors import InvalidEditError, UnknownFileError

SOURCE = '''"""Module doc."""
import os


class Service:
    """Service doc."""

    def handle(self, request):
        def helper(x):
            return x
        return helper(request)


if os.environ.get("A"):
    def pick():
        return 1
else:
    def pick():
        return 2
'''


def write(tmp_path: Path, relative: str, text: str) -> Path:
    path = tmp_path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="")
    return path


def by_name(chunks: list[flowsight.Chunk]) -> dict[str, list[flowsight.Chunk]]:
    result: dict[str, list[flowsight.Chunk]] = {}
    for chunk in chunks:
        result.setdefault(chunk.qualified_name, []).append(chunk)
    return result


def test_build_chunks_gives_the_hierarchy_in_pre_order(tmp_path: Path) -> None:
    write(tmp_path, "pkg/__init__.py", "")
    write(tmp_path, "pkg/service.py", SOURCE)
    chunks = flowsight.build_chunks([str(tmp_path / "pkg")], root=str(tmp_path))
    assert [c.kind for c in chunks][:2] == ["repository", "module"]
    names = [(c.kind, c.qualified_name) for c in chunks if c.path == "pkg/service.py"]
    assert names == [
        ("module", "pkg.service"),
        ("module_code", "pkg.service.<module>"),
        ("class", "pkg.service.Service"),
        ("method", "pkg.service.Service.handle"),
        ("function", "pkg.service.Service.handle.helper"),
        ("module_code", "pkg.service.<module>"),
        ("function", "pkg.service.pick"),
        ("function", "pkg.service.pick"),
    ]
    assert by_name(chunks)["pkg"][0].kind == "module"  # pkg/__init__.py is the package itself
    ids = {c.id for c in chunks}
    assert len(ids) == len(chunks)
    for chunk in chunks[1:]:
        assert chunk.parent_id in ids
    repository = chunks[0]
    assert repository.parent_id is None and repository.qualified_name == tmp_path.name


def test_chunk_fields(tmp_path: Path) -> None:
    path = write(tmp_path, "service.py", SOURCE)
    chunks = by_name(flowsight.build_chunks([str(path)], root=str(tmp_path)))
    handle = chunks["service.Service.handle"][0]
    raw = SOURCE.encode()
    assert raw[handle.start_byte : handle.end_byte].decode().startswith("def handle(self, request):")
    assert raw[handle.start_byte : handle.end_byte].decode().endswith("return helper(request)")
    assert (handle.start_line, handle.end_line) == (8, 11)
    assert handle.signature == "def handle(self, request):"
    assert handle.docstring is None
    assert chunks["service.Service"][0].docstring == "Service doc."
    assert chunks["service"][0].docstring == "Module doc."
    assert len(handle.id) == 32 and len(handle.content_hash) == 64
    expected_id = hashlib.sha256(f"flowsight-chunk-v1\0{tmp_path}\0service.py\0method\0service.Service.handle\0{0}".encode()).hexdigest()[
        :32
    ]
    assert handle.id == expected_id
    assert handle.as_dict()["qualified_name"] == "service.Service.handle"


def test_same_named_siblings_get_deterministic_distinct_ids(tmp_path: Path) -> None:
    path = write(tmp_path, "service.py", SOURCE)
    first = [c for c in flowsight.build_chunks([str(path)], root=str(tmp_path)) if c.qualified_name == "service.pick"]
    assert len({c.id for c in first}) == 2
    again = [c for c in flowsight.build_chunks([str(path)], root=str(tmp_path)) if c.qualified_name == "service.pick"]
    assert [c.id for c in again] == [c.id for c in first]


def test_ids_and_hashes_survive_an_edit_above_and_reindentation(tmp_path: Path) -> None:
    # Ids are per repository (identified by its root's path): the same file edited in place.
    path = write(tmp_path, "repo/service.py", SOURCE)
    old = {c.qualified_name: c for c in flowsight.build_chunks([str(path)], root=str(tmp_path / "repo"))}
    # Three lines added above, and the whole class indented one level under an `if`.
    class_source = SOURCE[SOURCE.index("class Service") : SOURCE.index("\n\nif os.environ")]
    moved = SOURCE.replace(class_source, "if True:\n" + textwrap.indent(class_source, "    "))
    write(tmp_path, "repo/service.py", "# a new comment\n\n\n" + moved)
    new = {c.qualified_name: c for c in flowsight.build_chunks([str(path)], root=str(tmp_path / "repo"))}
    for name in ["service.Service", "service.Service.handle", "service.Service.handle.helper"]:
        assert new[name].content_hash == old[name].content_hash
        assert new[name].id == old[name].id
        assert new[name].start_line == old[name].start_line + 4


def test_files_come_in_the_order_given(tmp_path: Path) -> None:
    a = write(tmp_path, "a.py", "def a(): pass\n")
    b = write(tmp_path, "b.py", "def b(): pass\n")
    forward = [c.path for c in flowsight.build_chunks([str(b), str(a)], root=str(tmp_path)) if c.kind == "module"]
    assert forward == ["b.py", "a.py"]


def test_workspace_diffs(tmp_path: Path) -> None:
    ws = flowsight.Workspace(str(tmp_path))
    diff = ws.update_file("service.py", SOURCE, 1)
    assert len(diff.added) == len(ws.chunks("service.py")) == 8 and diff.unchanged == 0
    # Insert two lines at the top: everything moves, nothing changes but the module.
    diff = ws.apply_edits("service.py", 2, [flowsight.TextEdit(0, 0, 0, 0, "# one\n# two\n")])
    module = ws.chunks("service.py")[0]
    assert diff.changed == [module.id] and diff.unchanged == 7 and not diff.added and not diff.removed
    # Rename a method: its id goes away, a new one comes.
    line = ws.text("service.py").splitlines().index("    def handle(self, request):")
    diff = ws.apply_edits("service.py", 3, [flowsight.TextEdit(line, 8, line, 14, "serve")])
    assert len(diff.added) == 2 and len(diff.removed) == 2  # the method and its nested helper
    assert "service.Service.serve.helper" in {c.qualified_name for c in ws.chunks("service.py")}
    diff = ws.remove_file("service.py")
    assert len(diff.removed) == 8 and ws.files() == []


def test_stale_versions_are_rejected_and_change_nothing(tmp_path: Path) -> None:
    ws = flowsight.Workspace(str(tmp_path))
    ws.update_file("m.py", "x = 1\n", 5)
    with pytest.raises(InvalidEditError, match="not newer"):
        ws.apply_edits("m.py", 5, [flowsight.TextEdit(0, 0, 0, 0, "y = 2\n")])
    assert ws.text("m.py") == "x = 1\n" and ws.version("m.py") == 5
    with pytest.raises(UnknownFileError):
        ws.apply_edits("other.py", 1, [])
    with pytest.raises(UnknownFileError):
        ws.chunks("other.py")
    with pytest.raises(ValueError, match="unknown encoding"):
        ws.apply_edits("m.py", 6, [], encoding="latin-1")


def test_utf16_edits_on_non_ascii_and_crlf_text(tmp_path: Path) -> None:
    ws = flowsight.Workspace(str(tmp_path))
    text = 'label = "😀 中文 é"  # emoji, CJK, combining mark\r\ndef after():\r\n    return label\r\n'
    ws.update_file("u.py", text, 1)
    # Replace "中文" (UTF-16 columns 12..14: the emoji counts 2).
    start = text.index("中")
    column = len(text[:start].encode("utf-16-le")) // 2
    ws.apply_edits("u.py", 2, [flowsight.TextEdit(0, column, 0, column + 2, "漢字")])
    assert ws.text("u.py") == text.replace("中文", "漢字")
    # The same edit in UTF-8 units.
    byte_column = len(text[:start].encode())
    ws.apply_edits("u.py", 3, [flowsight.TextEdit(0, byte_column, 0, byte_column + 6, "ab")], encoding="utf-8")
    assert ws.text("u.py") == text.replace("中文", "ab")
    assert ws.offset_to_position("u.py", len('label = "😀'.encode()), "utf-16") == (0, 11)
    assert ws.position_to_offset("u.py", 1, 4, "utf-16") == ws.text("u.py").encode().index(b"after")
    fresh = flowsight.Workspace(str(tmp_path))
    fresh.update_file("u.py", ws.text("u.py"))
    assert ws.chunks("u.py") == fresh.chunks("u.py")
    assert ws.sexp("u.py") == fresh.sexp("u.py")


def test_full_replacement_edit(tmp_path: Path) -> None:
    ws = flowsight.Workspace(str(tmp_path))
    ws.update_file("m.py", "def a(): pass\n", 1)
    diff = ws.apply_edits("m.py", 2, [flowsight.TextEdit.full("def b(): pass\n")])
    assert len(diff.added) == 1 and len(diff.removed) == 1
    assert ws.text("m.py") == "def b(): pass\n"


def test_workspace_chunks_match_build_chunks(tmp_path: Path) -> None:
    path = write(tmp_path, "pkg/service.py", SOURCE)
    ws = flowsight.Workspace(str(tmp_path))
    ws.load_file(str(path))
    built = [c for c in flowsight.build_chunks([str(path)], root=str(tmp_path)) if c.kind != "repository"]
    assert ws.chunks("pkg/service.py") == built
    assert ws.repository_chunk() == flowsight.build_chunks([str(path)], root=str(tmp_path))[0]


def test_several_edits_in_one_call_apply_in_order(tmp_path: Path) -> None:
    ws = flowsight.Workspace(str(tmp_path))
    ws.update_file("m.py", "a = 1\nb = 2\n", 1)
    edits = [
        flowsight.TextEdit(0, 4, 0, 5, "10"),
        flowsight.TextEdit(0, 6, 0, 6, " + 1"),  # against "a = 10", the text after the first edit
        flowsight.TextEdit(1, 0, 1, 1, "c"),
    ]
    ws.apply_edits("m.py", 2, edits)
    assert ws.text("m.py") == "a = 10 + 1\nc = 2\n"
