"""A restarted server publishes what the last run published before it parses anything, from
the persistent cache (`published.bin`), exactly when that is valid for the files as they are
now: the same files with the same texts (the editor's text for open documents), rules and
flowsight version. Anything else — a file edited, added or removed, a damaged or half-written
file — publishes nothing early, and the analysis after indexing publishes as without a cache.
Indexing after a restart builds each file from the syntax tree the last run stored in the cache
(`trees/`) instead of parsing it (counted in `flowsight/status`); a damaged tree is parsed
instead, with the same diagnostics."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from conftest import REPOSITORY_ROOT
from flowsight.cache import DIRECTORY_NAME
from flowsight.server.session import Session
from test_lsp_server import accept_registrations, wait_for

EXAMPLE = REPOSITORY_ROOT / "examples" / "vulnerable_app"
PUBLISHED = "published.bin"


def cold_run(project: Path) -> dict[str, list[tuple]]:
    """Indexes and analyses `project` in a session that then writes its cache; its diagnostics
    by file (code, range), files without any left out."""
    session = Session(publish=lambda uri, version, diagnostics: None)
    folder = session.add_folder(project)
    session.index_folder(folder)
    _, results, problems = session.analyse()
    assert problems == []
    assert session.persist() > 0
    return {path: rendered(diagnostics) for _, path, _, _, diagnostics in results if diagnostics}


def rendered(diagnostics: list[types.Diagnostic]) -> list[tuple]:
    return sorted((str(d.code), d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character) for d in diagnostics)


def restarted(project: Path) -> tuple[Session, dict | None, dict[str, list[tuple]]]:
    """A new session over `project` that only asks for what was published (no indexing):
    what it found and what it published, by file."""
    published: dict[str, list[tuple]] = {}

    def publish(uri: str, version: int | None, diagnostics: list[types.Diagnostic]) -> None:
        path = Path(uri.removeprefix("file://")).relative_to(project).as_posix()
        published[path] = rendered(diagnostics)

    session = Session(publish=publish)
    folder = session.add_folder(project)
    files, found = session.published_again(folder)
    assert sum(1 for path in files if path.suffix == ".py") == sum(1 for _ in project.rglob("*.py") if DIRECTORY_NAME not in _.parts)
    if found is not None:
        session.publish_again(folder, found)
    return session, found, {path: diagnostics for path, diagnostics in published.items() if diagnostics}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    project = tmp_path / "vulnerable_app"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(DIRECTORY_NAME))
    return project


def test_what_was_published_is_published_again_when_no_file_changed(project: Path) -> None:
    cold = cold_run(project)
    assert cold and (project / DIRECTORY_NAME / PUBLISHED).is_file()
    _, found, again = restarted(project)
    assert found is not None
    assert again == cold


def test_findings_on_templates_are_published_again_and_a_template_edit_publishes_nothing_early(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    shutil.copytree(REPOSITORY_ROOT / "tests" / "fixtures" / "taint" / "templates" / "shop", project)
    cold = cold_run(project)
    on_templates = [path for path in cold if path.endswith(".html")]
    assert on_templates, cold
    _, found, again = restarted(project)
    assert found is not None
    assert again == cold
    template = project / on_templates[0]
    template.write_text(template.read_text() + "\n")
    assert restarted(project)[1] is None


def test_a_file_edited_added_or_removed_since_publishes_nothing_early(project: Path) -> None:
    cold_run(project)
    views = project / "shop" / "views.py"
    original = views.read_text()
    views.write_text("# edited while the server was down\n" + original)
    assert restarted(project)[1] is None
    views.write_text(original)  # the same text again: valid again
    assert restarted(project)[1] is not None
    (project / "shop" / "added.py").write_text("x = 1\n")
    assert restarted(project)[1] is None
    (project / "shop" / "added.py").unlink()
    (project / "shop" / "db.py").unlink()
    assert restarted(project)[1] is None


def test_an_open_document_whose_text_differs_from_the_disk_publishes_nothing_early(project: Path) -> None:
    cold_run(project)
    session = Session(publish=lambda uri, version, diagnostics: None)
    folder = session.add_folder(project)
    views = project / "shop" / "views.py"
    session.documents.opened(views.as_uri(), "# unsaved\n" + views.read_text(), 3)
    assert session.published_again(folder)[1] is None
    session.documents.opened(views.as_uri(), views.read_text(), 4)
    files, found = session.published_again(folder)
    assert found is not None
    published: list[tuple[str, int | None]] = []
    session.publish = lambda uri, version, diagnostics: published.append((uri, version))
    session.publish_again(folder, found)
    # The open document's diagnostics carry its version.
    assert (views.as_uri(), 4) in published or all(uri != views.as_uri() for uri, _ in published)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # truncated (a write cut short)
        lambda data: bytes(range(256)) * 4,  # random bytes
        lambda data: b"",  # empty
        lambda data: data[:40] + bytes([data[40] ^ 0xFF]) + data[41:],  # a flipped byte in the header
        lambda data: data[:-3] + bytes([data[-3] ^ 0x01]) + data[-2:],  # a flipped byte in the payload
    ],
)
def test_a_damaged_file_of_what_was_published_is_never_trusted_and_is_rewritten(project: Path, damage) -> None:  # noqa: ANN001
    cold = cold_run(project)
    path = project / DIRECTORY_NAME / PUBLISHED
    path.write_bytes(damage(path.read_bytes()))
    assert restarted(project)[1] is None
    assert cold_run(project) == cold
    assert restarted(project)[2] == cold


def test_a_killed_writes_leftover_is_ignored(project: Path) -> None:
    """kill -9 during a write leaves a temporary file beside the old one (the rename is atomic):
    the old file is used, the leftover never read."""
    cold = cold_run(project)
    directory = project / DIRECTORY_NAME
    (directory / f"{PUBLISHED}.tmp.12345.678").write_bytes((directory / PUBLISHED).read_bytes()[:100])
    assert restarted(project)[2] == cold


TREES = "trees"


def python_files(project: Path) -> list[Path]:
    return sorted(path for path in project.rglob("*.py") if DIRECTORY_NAME not in path.parts)


def indexed_again(project: Path) -> tuple[Session, dict[str, list[tuple]]]:
    """A restarted session that indexes and analyses `project` (its cache on): the session and
    its diagnostics by file, files without any left out."""
    session = Session(publish=lambda uri, version, diagnostics: None)
    folder = session.add_folder(project)
    session.index_folder(folder)
    _, results, problems = session.analyse()
    assert problems == []
    return session, {path: rendered(diagnostics) for _, path, _, _, diagnostics in results if diagnostics}


def test_indexing_after_a_restart_builds_the_files_from_their_stored_trees(project: Path) -> None:
    cold = cold_run(project)  # every file parsed; its persist stores their trees
    trees = project / DIRECTORY_NAME / TREES
    files = python_files(project)
    assert len({path.read_bytes() for path in files}) == len(list(trees.iterdir())) == len(files)
    session, again = indexed_again(project)
    [stats] = [folder["trees"] for folder in session.status()["folders"]]
    assert stats == {"loaded": len(files), "written": 0, "removed": 0}
    assert again == cold
    assert session.persist() > 0 and len(list(trees.iterdir())) == len(files), "nothing written or removed"


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # truncated
        lambda data: b"",  # empty
        lambda data: bytes(byte ^ 0x20 for byte in data),  # every byte flipped
        lambda data: data[:-3] + bytes([data[-3] ^ 0x01]) + data[-2:],  # a flipped byte in the payload
    ],
)
def test_a_damaged_stored_tree_is_parsed_instead_with_the_same_diagnostics(project: Path, damage) -> None:  # noqa: ANN001
    cold = cold_run(project)
    tree = project / DIRECTORY_NAME / TREES / hashlib.sha256((project / "shop" / "views.py").read_bytes()).hexdigest()
    good = tree.read_bytes()
    tree.write_bytes(damage(good))
    session, again = indexed_again(project)
    [stats] = [folder["trees"] for folder in session.status()["folders"]]
    assert stats["loaded"] == len(python_files(project)) - 1
    assert again == cold
    # The next cache write stores it again.
    assert session.persist() > 0
    assert tree.read_bytes() == good


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "flowsight", "serve"]))
async def client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    project = tmp_path_factory.mktemp("restart") / "vulnerable_app"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(DIRECTORY_NAME))
    lsp_client.cold = cold_run(project)  # type: ignore[attr-defined]
    accept_registrations(lsp_client)
    events: list[tuple[str, str]] = []
    # The order of publishes and progress (pytest-lsp's own handlers still record them).
    features = lsp_client.protocol.fm.features
    recorded_publish, recorded_progress = features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS], features[types.PROGRESS]

    def publish(params: types.PublishDiagnosticsParams) -> None:
        events.append(("publish", params.uri))
        return recorded_publish(params)

    def progress(params: types.ProgressParams) -> None:
        title = params.value.get("title") if isinstance(params.value, dict) else getattr(params.value, "title", None)
        if title:
            events.append(("progress", title))
        return recorded_progress(params)

    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS], features[types.PROGRESS] = publish, progress
    lsp_client.events = events  # type: ignore[attr-defined]
    lsp_client.project = project  # type: ignore[attr-defined]
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=project.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=project.as_uri(), name="vulnerable_app")],
        )
    )
    yield
    await lsp_client.shutdown_session()


async def test_a_restarted_server_publishes_the_cached_diagnostics_before_indexing(client: LanguageClient) -> None:
    project: Path = client.project  # type: ignore[attr-defined]
    cold: dict[str, list[tuple]] = client.cold  # type: ignore[attr-defined]
    events: list[tuple[str, str]] = client.events  # type: ignore[attr-defined]
    expected = {(project / path).as_uri() for path in cold}
    await wait_for(lambda: expected <= set(client.diagnostics))
    await wait_for(lambda: ("progress", "flowsight: analysing") in events)
    # Every file's diagnostics came before indexing began, and they are the cold run's.
    indexing = events.index(("progress", "flowsight: indexing"))
    assert expected <= {uri for kind, uri in events[:indexing] if kind == "publish"}
    by_file = {Path(uri.removeprefix("file://")).relative_to(project).as_posix(): rendered(d) for uri, d in client.diagnostics.items() if d}
    assert by_file == cold


async def test_a_restarted_server_indexes_from_the_stored_trees(client: LanguageClient) -> None:
    project: Path = client.project  # type: ignore[attr-defined]
    cold: dict[str, list[tuple]] = client.cold  # type: ignore[attr-defined]
    files = python_files(project)
    statuses: list = []

    async def indexed() -> bool:
        statuses.append(await client.protocol.send_request_async("flowsight/status", {}))
        [folder] = statuses[-1].folders
        return folder.files >= len(files) and statuses[-1].lastAnalysis.scopes > 0

    deadline = asyncio.get_running_loop().time() + 20
    while not await indexed():
        assert asyncio.get_running_loop().time() < deadline, statuses[-1]
        await asyncio.sleep(0.05)
    [folder] = statuses[-1].folders
    assert (folder.trees.loaded, folder.trees.written) == (len(files), 0)
    expected = {(project / path).as_uri() for path in cold}
    await wait_for(lambda: expected <= set(client.diagnostics))
    by_file = {Path(uri.removeprefix("file://")).relative_to(project).as_posix(): rendered(d) for uri, d in client.diagnostics.items() if d}
    assert by_file == cold
