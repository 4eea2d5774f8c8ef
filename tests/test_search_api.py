"""`Workspace.search`: typed hits from the core's tantivy index over the current texts."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import flowsight

CHAT = '''"""Chat endpoints."""


class ChatControllerTests:
    def test_chat_controller(self):
        assert ChatController().route("hi")


class ChatController:
    """Routes chat messages to rooms."""

    def route(self, message):
        # pick the room from the message header
        return Room.lookup(message)


def chat_controller_factory():
    return ChatController()
'''


@pytest.fixture
def workspace(tmp_path: Path) -> flowsight.Workspace:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "chat.py").write_text(CHAT)
    (tmp_path / "app" / "rooms.py").write_text("class Room:\n    @classmethod\n    def lookup(cls, message):\n        return cls()\n")
    workspace = flowsight.Workspace(str(tmp_path))
    workspace.load_files([str(tmp_path / "app" / "chat.py"), str(tmp_path / "app" / "rooms.py")])
    return workspace


def test_hits_are_typed_values(workspace: flowsight.Workspace) -> None:
    [hit] = workspace.search("Room", limit=1)
    assert isinstance(hit, flowsight.SearchHit)
    assert (hit.qualified_name, hit.kind, hit.path, hit.start_line, hit.end_line) == ("app.rooms.Room", "class", "app/rooms.py", 1, 4)
    assert len(hit.chunk_id) == 32 and hit.score > 0
    assert hit.as_dict() == {
        "path": "app/rooms.py",
        "start_line": 1,
        "end_line": 4,
        "qualified_name": "app.rooms.Room",
        "kind": "class",
        "chunk_id": hit.chunk_id,
        "score": hit.score,
    }
    assert hit.chunk_id in {chunk.id for chunk in workspace.chunks("app/rooms.py")}
    with pytest.raises(AttributeError):
        hit.score = 1.0  # type: ignore[misc]
    assert hit == workspace.search("Room", limit=1)[0]
    assert not dataclasses.is_dataclass(hit) and "app.rooms.Room" in repr(hit)


def test_an_exact_identifier_ranks_first(workspace: flowsight.Workspace) -> None:
    for query in ("chatcontroller", "ChatController"):
        hits = workspace.search(query)
        assert hits[0].qualified_name == "app.chat.ChatController", [h.qualified_name for h in hits]
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    # Words of identifiers, docstrings and comments are found too.
    assert workspace.search("chat controller factory")[0].qualified_name == "app.chat.chat_controller_factory"
    assert workspace.search("routes messages")[0].qualified_name == "app.chat.ChatController"
    assert workspace.search("message header")[0].qualified_name == "app.chat.ChatController.route"


def test_unsaved_edits_are_searched_at_once(workspace: flowsight.Workspace) -> None:
    assert workspace.search("archive") == []
    workspace.update_file("app/rooms.py", "class Room:\n    pass\n\n\ndef archive_room(room):\n    room.close()\n", version=1)
    [hit, *_] = workspace.search("archive_room")
    assert (hit.qualified_name, hit.start_line, hit.end_line) == ("app.rooms.archive_room", 5, 6)
    # An edit above moves it: the hit has the new lines.
    workspace.apply_edits("app/rooms.py", 2, [flowsight.TextEdit(0, 0, 0, 0, "import os\n\n")])
    assert workspace.search("archive_room")[0].start_line == 7
    workspace.remove_file("app/rooms.py")
    assert all(hit.path != "app/rooms.py" for hit in workspace.search("archive room lookup", limit=50))


def test_symbols_mode_is_fuzzy_on_names(workspace: flowsight.Workspace) -> None:
    names = [hit.qualified_name for hit in workspace.search("ChatCont", mode="symbols")]
    # Prefix matches first (the shorter name first), then names holding the letters in order.
    assert names[:2] == ["app.chat.ChatController", "app.chat.ChatControllerTests"]
    assert set(names[2:]) == {"app.chat.chat_controller_factory", "app.chat.ChatControllerTests.test_chat_controller"}
    assert workspace.search("chtctrl", mode="symbols")[0].qualified_name == "app.chat.ChatController"
    assert workspace.search("ChatControler", mode="symbols")[0].qualified_name == "app.chat.ChatController"
    assert workspace.search("lookup", mode="symbols")[0].qualified_name == "app.rooms.Room.lookup"
    every = workspace.search("", limit=100, mode="symbols")
    assert {hit.kind for hit in every} == {"module", "class", "function", "method"}
    assert len(every) == 9


def test_limits_and_modes(workspace: flowsight.Workspace) -> None:
    assert len(workspace.search("chat", limit=2)) == 2
    assert workspace.search("chat", limit=0) == []
    assert len(workspace.search("", limit=2**63, mode="symbols")) == 9
    assert workspace.search("") == [] and workspace.search("  ;; ") == []
    for mode in ("vector", "hybrid", "bogus"):
        with pytest.raises(ValueError, match="unknown search mode"):
            workspace.search("chat", mode=mode)  # type: ignore[arg-type]
    # Nine symbols and the module-code run of the docstring of app/chat.py.
    assert workspace.build_search_index() == 10


def test_an_index_built_apart_from_the_workspace_catches_up_on_install(workspace: flowsight.Workspace) -> None:
    """The server builds a folder's first index from a snapshot without holding its lock; edits made
    meanwhile are in the index once it is installed."""
    build = workspace.search_snapshot()
    assert build is not None
    workspace.update_file("app/rooms.py", "def archive_room(room):\n    room.close()\n", version=1)
    build.build()  # no lock of the workspace held: other calls proceed
    assert workspace.versions() == {"app/chat.py": None, "app/rooms.py": 1}
    assert workspace.install_search_index(build) is True
    assert workspace.search_snapshot() is None  # it has an index now
    assert workspace.search("archive_room")[0].qualified_name == "app.rooms.archive_room"
    assert workspace.search("lookup", mode="symbols") == []  # Room.lookup was edited away
    assert workspace.install_search_index(build) is False  # taken once
    assert workspace.build_search_index() == 9


def test_build_search_index_counts_documents(tmp_path: Path) -> None:
    workspace = flowsight.Workspace(str(tmp_path))
    assert workspace.build_search_index() == 0
    workspace.update_file("m.py", "import os\n\ndef f():\n    pass\n")
    # The module, its module-code run and `f`; the repository chunk has no document.
    assert workspace.build_search_index() == 3
    assert [hit.kind for hit in workspace.search("os")] == ["module_code"]


def test_load_files_reports_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("def ok():\n    pass\n")
    workspace = flowsight.Workspace(str(tmp_path))
    diffs = workspace.load_files([str(tmp_path / "ok.py"), str(tmp_path / "missing.py")])
    assert [len(diff.added) for diff in diffs] == [2, 0]
    assert [error.kind for error in workspace.errors("missing.py")] == ["io"]
    assert [hit.qualified_name for hit in workspace.search("ok")] == ["ok.ok", "ok"]


def test_files_read_apart_from_the_workspace_are_stored_once_and_only_where_asked(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def from_disk_a():\n    pass\n")
    (tmp_path / "b.py").write_text("def from_disk_b():\n    pass\n")
    workspace = flowsight.Workspace(str(tmp_path))
    read = workspace.read_files([str(tmp_path / "a.py"), "b.py", "missing.py"])
    assert len(read) == 3
    # Opened in an editor while the files were being read: the editor's text stays.
    workspace.update_file("b.py", "def edited_b():\n    pass\n", 1)
    diffs = workspace.store_read_files(read, only={"a.py", "missing.py"})
    assert [len(diff.added) for diff in diffs] == [2, 0]
    assert workspace.versions() == {"a.py": None, "b.py": 1, "missing.py": None}
    assert [error.kind for error in workspace.errors("missing.py")] == ["io"]
    assert [hit.qualified_name for hit in workspace.search("edited_b", limit=1)] == ["b.edited_b"]
    assert "b.from_disk_b" not in [hit.qualified_name for hit in workspace.search("from_disk_b")]
    assert len(read) == 0
    with pytest.raises(ValueError, match="stored already"):
        workspace.store_read_files(read)


def test_hostile_text_degrades_the_index_never_the_search(tmp_path: Path) -> None:
    blob = "QUJD" * 250_000  # a 1 MB base64 line: one word too long to be a name
    nested = "".join(f"{'    ' * depth}def level_{depth}():\n" for depth in range(200)) + "    " * 200 + "pass\n"
    text = f'DATA = "{blob}"\n{nested}\ndef {"very_" * 15}long_name():\n    return 1\n\x00\udcff'
    workspace = flowsight.Workspace(str(tmp_path))
    workspace.update_file("hostile.py", text.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
    assert workspace.search(blob[:40]) == []
    assert [hit.qualified_name for hit in workspace.search("level_150", limit=1)][0].endswith(".level_150")
    # A name over 64 bytes is not a token, but its words are (one over 256 bytes is data).
    assert workspace.search("very long name", limit=1)[0].qualified_name.endswith("long_name")
    assert workspace.search("x" * 100_000) == []


def test_cli_hybrid_search_fuses_embeddings_with_the_lexical_index(tmp_path) -> None:
    """`flowsight search --mode hybrid`: the bundled MiniLM embeds every chunk (cached in the
    project's cache directory, never the user's), and a question in words finds the function that answers it."""
    import json
    import os
    import shutil
    import subprocess
    import sys

    from conftest import REPOSITORY_ROOT

    project = tmp_path / "app"
    shutil.copytree(REPOSITORY_ROOT / "examples" / "vulnerable_app", project, ignore=shutil.ignore_patterns(".flowsight-cache"))
    environment = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "flowsight", "search", "--mode", "hybrid", "--format", "json", "--limit", "3"]
    proc = subprocess.run(
        [*command, "look up products by name in the database"], cwd=project, env=environment, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)["results"]
    assert results[0]["qualified_name"] == "shop.db.find_products", results
    assert {"path", "start_line", "end_line", "qualified_name", "kind", "chunk_id", "score"} <= set(results[0])
    assert (project / ".flowsight-cache" / "embeddings.sqlite3").is_file(), "embeddings are cached with the project's cache"
    assert not (tmp_path / "cache").exists(), "nothing in the user's cache directory"
    vector = subprocess.run(
        [sys.executable, "-m", "flowsight", "search", "--mode", "vector", "--format", "json", "shell command"],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert vector.returncode == 0, vector.stderr
