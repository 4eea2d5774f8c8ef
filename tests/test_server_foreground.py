"""Open documents are analysed first (foreground.py): with their imports, on a pool of their
own, so an edit of an open document is published while the workspace analysis still runs, and
the workspace analysis then publishes the whole program's result wherever it differs."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from conftest import REPOSITORY_ROOT
from flowsight.server.foreground import Foreground, imported_keys, module_keys
from flowsight.server.pending import PendingChange
from test_lsp_server import accept_registrations, wait_for

EXAMPLE = REPOSITORY_ROOT / "examples" / "vulnerable_app"

# The open document: what a helper in another module returns from the request reaches a shell
# (found only with the helper's summary: the foreground loads what the document imports).
VIEW = """\
import os

from big import helpers


def run():
    command = helpers.command()
    os.system(command)
"""
HELPERS = """\
from flask import request


def command():
    return request.args["command"]
"""


def generate(package: Path, modules: int, functions: int = 40) -> None:
    """`modules` modules of `functions` functions, each calling the one before it and the module
    before's: a workspace whose analysis takes long enough to edit during it."""
    for m in range(modules):
        lines = ["import os"] + ([f"from big import m{m - 1}"] if m else [])
        for f in range(functions):
            lines += [f"def f{f}(value, other=None):", "    items = [value, other]"]
            if m and f % 4 == 0:
                lines.append(f"    value = m{m - 1}.f{f}(value, items)")
            if f:
                lines.append(f"    value = f{f - 1}(value)")
            lines += ["    return str(value) + str(items[0])", ""]
        (package / f"m{m}.py").write_text("\n".join(lines) + "\n")


def test_imports_are_found_by_dotted_tails_whatever_the_source_roots() -> None:
    modules = module_keys(["src/pkg/__init__.py", "src/pkg/mod.py", "src/pkg/sub/deep.py", "tools/mod.py", "README.md"])
    assert modules["pkg.mod"] == "src/pkg/mod.py" and modules["pkg"] == "src/pkg/__init__.py"
    assert modules["mod"] == "tools/mod.py"  # the shortest path wins a tail two files share
    found = imported_keys(["pkg.mod.function", "pkg.sub.deep", "os.path", "pkg"], modules)
    assert found == {"src/pkg/mod.py", "src/pkg/sub/deep.py", "src/pkg/__init__.py"}


def test_the_workspace_with_the_imports_takes_over_analysed_at_the_edits_made_while_it_was_built(tmp_path: Path) -> None:
    # An edit served by the current workspace while `prepare` analyses the next one is applied
    # and analysed on the next one before it takes over (off the lock): the analysis the
    # takeover triggers then has nothing cold left, and an edit arriving meanwhile waits for none.
    package = tmp_path / "big"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text(HELPERS)
    (package / "view.py").write_text(VIEW)
    foreground = Foreground(tmp_path)
    foreground.pending.add("big/view.py", PendingChange(1, None, text=VIEW))
    foreground.apply({"big/view.py"})
    edited = VIEW + "\n# edited while the imports were analysed\n"
    seen: list[str] = []

    def analyse(workspace) -> None:  # noqa: ANN001 - a native Workspace
        seen.append(workspace.text("big/view.py"))
        if len(seen) == 1:
            # An edit served meanwhile by the current workspace (the session's analysis job).
            foreground.pending.add("big/view.py", PendingChange(2, None, text=edited))
            assert foreground.apply({"big/view.py"}) == {"big/view.py"}
        workspace.analyze_taint()

    modules = module_keys(["big/__init__.py", "big/helpers.py", "big/view.py"])
    assert foreground.prepare([str(tmp_path)], modules, analyse)
    assert seen == [VIEW, edited], "the edit made while the imports were analysed is analysed before the takeover"
    assert foreground.loaded == {"big/helpers.py"} and foreground.fresh
    assert foreground.workspace is not None and foreground.workspace.text("big/view.py") == edited
    assert foreground.workspace.version("big/view.py") == 2
    assert foreground.replay is None


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "flowsight", "serve"]))
async def client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    project = tmp_path_factory.mktemp("foreground") / "app"
    package = project / "big"
    package.mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'app'\n")
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text(HELPERS)
    (package / "view.py").write_text(VIEW)
    generate(package, 150)
    accept_registrations(lsp_client)
    lsp_client.project = project  # type: ignore[attr-defined]
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=project.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=project.as_uri(), name="app")],
        )
    )
    yield
    await lsp_client.shutdown_session()


def progress(client: LanguageClient, title: str) -> list:
    """The reports of every work-done progress titled `title`, in order."""
    return [reports for reports in client.progress_reports.values() if reports and reports[0].title == title]


async def test_an_edit_during_the_workspace_analysis_is_published_before_it_ends(client: LanguageClient) -> None:
    project: Path = client.project  # type: ignore[attr-defined]
    view = (project / "big" / "view.py").as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(view, "python", 1, VIEW)))
    await wait_for(lambda: progress(client, "flowsight: indexing") and progress(client, "flowsight: indexing")[0][-1].kind == "end", 60)
    await wait_for(lambda: progress(client, "flowsight: analysing"), 60)
    analysing = progress(client, "flowsight: analysing")[-1]
    assert analysing[-1].kind != "end", "the workspace analysis ended before the edit: the workspace is too small"
    # A comment typed above the call: the finding moves one line down.
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=2, uri=view),
            [types.TextDocumentContentChangePartial(range=types.Range(types.Position(7, 0), types.Position(7, 0)), text="    # run it\n")],
        )
    )
    await wait_for(lambda: client.diagnostics.get(view) and any(d.range.start.line == 8 for d in client.diagnostics[view]), 60)
    assert analysing[-1].kind != "end", "the edit waited for the workspace analysis"
    [finding] = client.diagnostics[view]
    assert finding.code == "command-injection"
    # The workspace analysis ends and agrees; the edit was served first by the open documents'
    # analysis, then by the workspace's (both timed in flowsight/status).
    await wait_for(lambda: analysing[-1].kind == "end", 120)
    # The workspace's analysis of the edit may be a run of its own after that one ends.
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        status = await client.protocol.send_request_async("flowsight/status", {})
        events = [sample.event for sample in status.latencies]
        if "textDocument/didChange (workspace)" in events or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.1)
    assert "textDocument/didChange" in events and "textDocument/didChange (workspace)" in events
    await wait_for(lambda: [d.range.start.line for d in client.diagnostics[view]] == [8], 30)


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "flowsight", "serve"]))
async def small(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    project = tmp_path_factory.mktemp("foreground-small") / "vulnerable_app"
    shutil.copytree(EXAMPLE, project)
    accept_registrations(lsp_client)
    lsp_client.project = project  # type: ignore[attr-defined]
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("neovim@0.7.0"),
            root_uri=project.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=project.as_uri(), name="vulnerable_app")],
        )
    )
    yield
    await lsp_client.shutdown_session()


async def test_after_edits_settle_an_open_document_shows_the_workspace_result(small: LanguageClient) -> None:
    """Whatever the foreground published first, the last diagnostics of every version are the
    whole program's (the same as a document nobody edits)."""
    project: Path = small.project  # type: ignore[attr-defined]
    db = project / "shop" / "db.py"
    uri = db.as_uri()
    text = db.read_text()
    await wait_for(lambda: uri in small.diagnostics)
    settled = [(d.code, d.range.start.line) for d in small.diagnostics[uri]]
    assert settled, "db.py's finding (its source is in views.py, which db.py does not import)"
    published: list[list] = []
    features = small.protocol.fm.features
    recorded = features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]

    def publish(params: types.PublishDiagnosticsParams) -> None:
        if params.uri == uri:
            published.append(params.diagnostics)
        return recorded(params)

    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = publish
    small.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text)))
    for version in range(2, 6):
        small.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(version=version, uri=uri),
                [types.TextDocumentContentChangePartial(range=types.Range(types.Position(0, 0), types.Position(0, 0)), text="#\n")],
            )
        )
    await wait_for(lambda: [(d.code, d.range.start.line - 4) for d in small.diagnostics.get(uri, [])] == settled, 60)
    # The open documents' analysis cannot see a source in a file it does not hold: it keeps the
    # workspace's finding instead of clearing it until the workspace analysis comes.
    assert published and all(diagnostics for diagnostics in published)
