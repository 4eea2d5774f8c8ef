"""The language server's behaviour as editors meet it (issue 14, "Server behaviour"), over stdio
with pytest-lsp: the project's pyproject.toml settings, bad rule ids shown and ignored, reopened
documents republished, package folders analysed from their project root, syntax errors as
diagnostics, pull diagnostics, progress during analysis."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from conftest import REPOSITORY_ROOT
from test_lsp_server import accept_registrations, wait_for

EXAMPLE = REPOSITORY_ROOT / "examples" / "vulnerable_app"
SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "flowsight", "serve"])
# What the example's eight findings are, by file (the CLI's answer for the whole project).
EXAMPLE_FINDINGS = {
    "shop/admin.py": ["code-injection", "xss"],
    "shop/db.py": ["sql-injection"],
    "shop/files.py": ["command-injection", "path-traversal"],
    "shop/views.py": ["open-redirect", "template-injection", "unsafe-deserialization"],
}


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):
    accept_registrations(lsp_client)
    yield
    await lsp_client.shutdown_session()


def example(tmp_path: Path, pyproject: str | None = None) -> Path:
    project = tmp_path / "vulnerable_app"
    shutil.copytree(EXAMPLE, project)
    if pyproject is not None:
        (project / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    return project


async def start(
    client: LanguageClient,
    folder: Path,
    profile: str = "visual-studio-code",
    options: dict | None = None,
    capabilities: types.ClientCapabilities | None = None,
) -> types.InitializeResult:
    result = await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities or client_capabilities(profile),
            root_uri=folder.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=folder.as_uri(), name=folder.name)],
            initialization_options=options,
        )
    )
    client.folder = folder  # type: ignore[attr-defined]
    return result


def codes(client: LanguageClient, root: Path) -> dict[str, list[str]]:
    """The published diagnostics' codes by file relative to `root` (files without any left out)."""
    found = {}
    for uri, diagnostics in client.diagnostics.items():
        if diagnostics:
            found[Path(uri.removeprefix("file://")).relative_to(root).as_posix()] = sorted(str(d.code) for d in diagnostics)
    return found


async def analysed(client: LanguageClient, count: int = 1) -> None:
    """Waits until `count` analyses reported their end (the client shows work-done progress)."""

    def ended() -> int:
        return sum(
            1
            for reports in client.progress_reports.values()
            if reports and reports[0].kind == "begin" and reports[0].title == "flowsight: analysing" and reports[-1].kind == "end"
        )

    await wait_for(lambda: ended() >= count)


def open_document(client: LanguageClient, path: Path, version: int = 1) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=version, text=path.read_text(encoding="utf-8"))
        )
    )
    return uri


def record_publishes(client: LanguageClient) -> list[types.PublishDiagnosticsParams]:
    published: list[types.PublishDiagnosticsParams] = []
    features = client.protocol.fm.features
    original = features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]
    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = lambda *args: (published.append(args[-1]), original(*args))[1]
    return published


# ---------------------------------------------------------------------------------------------
# 1. [tool.flowsight] is honoured; client settings override it; editor keys are not "unknown".

PYPROJECT = """
[project]
name = "shop"

[tool.flowsight]
disable = ["sql-injection"]
severity = { "open-redirect" = "info", "template-injection" = "info" }
"""

# What VS Code answers to workspace/configuration for section `flowsight`: every setting of the
# extension, its own keys included, with their defaults.
VSCODE_SETTINGS = {
    "serverCommand": ["/opt/venv/bin/flowsight", "serve"],
    "interpreter": ["/usr/bin/python3"],
    "trace": {"server": "verbose"},
    "rules": None,
    "disable": [],
    "exclude": [],
    "severity": {"template-injection": "warning"},
}


async def test_pyproject_settings_are_honoured_and_client_settings_override_them(client: LanguageClient, tmp_path: Path) -> None:
    project = example(tmp_path, PYPROJECT)
    client.set_configuration(VSCODE_SETTINGS, section="flowsight")
    await start(client, project)
    await analysed(client)
    expected = {path: found for path, found in EXAMPLE_FINDINGS.items() if path != "shop/db.py"}
    assert codes(client, project) == expected  # sql-injection disabled by the project
    views = client.diagnostics[(project / "shop/views.py").as_uri()]
    severity = {d.code: d.severity for d in views}
    assert severity["open-redirect"] == types.DiagnosticSeverity.Information  # the project's
    assert severity["template-injection"] == types.DiagnosticSeverity.Warning  # the client's, over the project's
    # The editor's own keys are no "unknown" settings: nothing was shown or logged about them.
    said = [m.message for m in client.messages] + [m.message for m in client.log_messages]
    assert not [m for m in said if "unknown" in m or "serverCommand" in m], said

    # A client setting changed: it overrides the project's again, the project's disable stays.
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(
            settings={"flowsight": {**VSCODE_SETTINGS, "severity": {"open-redirect": "error"}, "disable": ["unsafe-deserialization"]}}
        )
    )
    await wait_for(lambda: "unsafe-deserialization" not in codes(client, project).get("shop/views.py", []))
    views = client.diagnostics[(project / "shop/views.py").as_uri()]
    assert {d.code: d.severity for d in views} == {
        "open-redirect": types.DiagnosticSeverity.Error,
        "template-injection": types.DiagnosticSeverity.Information,
    }
    assert "shop/db.py" not in codes(client, project)

    # The project's file changes on disk: its new [tool.flowsight] applies.
    (project / "pyproject.toml").write_text('[project]\nname = "shop"\n', encoding="utf-8")
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=(project / "pyproject.toml").as_uri(), type=types.FileChangeType.Changed)]
        )
    )
    await wait_for(lambda: codes(client, project).get("shop/db.py") == ["sql-injection"])
    # The server asked to be told about pyproject.toml changes (VS Code registers watchers dynamically).
    assert any(r.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES for r in client.registered)  # type: ignore[attr-defined]


async def test_initialization_options_override_the_project_in_a_client_without_configuration(
    client: LanguageClient, tmp_path: Path
) -> None:
    # Neovim 0.7 has no workspace/configuration: its settings come as initializationOptions.
    project = example(tmp_path, PYPROJECT)
    await start(client, project, "neovim@0.7.0", options={"severity": {"open-redirect": "error"}, "exclude": ["shop/admin.py"]})
    await analysed(client)
    assert codes(client, project) == {
        "shop/files.py": ["command-injection", "path-traversal"],
        "shop/views.py": EXAMPLE_FINDINGS["shop/views.py"],
    }
    views = client.diagnostics[(project / "shop/views.py").as_uri()]
    assert {d.code: d.severity for d in views}["open-redirect"] == types.DiagnosticSeverity.Error


# ---------------------------------------------------------------------------------------------
# 2. An unknown rule id (or a bad rules file) is shown and ignored; the rest keeps working.


async def test_an_unknown_rule_id_is_shown_and_ignored_and_every_other_finding_is_published(client: LanguageClient, tmp_path: Path) -> None:
    project = example(tmp_path, '[tool.flowsight]\ndisable = ["no-such-rule", "xss"]\n')
    await start(client, project, "neovim@0.7.0", options={"disable": ["sql-injektion"]})
    await analysed(client)
    expected = {**EXAMPLE_FINDINGS, "shop/admin.py": ["code-injection"]}
    assert codes(client, project) == expected
    warnings = [m for m in client.messages if m.type == types.MessageType.Warning]
    assert any("'no-such-rule'" in m.message for m in warnings) and any("'sql-injektion'" in m.message for m in warnings)
    # The known ids: the non-taint checks' (`weak-hash`, …), then the taint rules'.
    assert all("known rules: weak-hash" in m.message and ", sql-injection," in m.message for m in warnings)
    # Each problem is shown once, not once per analysis.
    views = (project / "shop/views.py").as_uri()
    moved = [d.range.start.line + 1 for d in client.diagnostics[views]]
    open_document(client, project / "shop/views.py")
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=views, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)), text="# edited\n"
                )
            ],
        )
    )
    await wait_for(lambda: [d.range.start.line for d in client.diagnostics.get(views, [])] == moved)
    await asyncio.sleep(0.3)
    assert len([m for m in client.messages if "'no-such-rule'" in m.message]) == 1
    # Fixing the setting: the real rule id applies.
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"flowsight": {"disable": ["sql-injection"]}}))
    await wait_for(lambda: "shop/db.py" not in codes(client, project))


async def test_a_bad_rules_file_in_the_project_is_shown_and_the_built_in_rules_keep_working(client: LanguageClient, tmp_path: Path) -> None:
    project = example(tmp_path, '[tool.flowsight]\nrules = "security/rules.toml"\n')
    (project / "security").mkdir()
    (project / "security" / "rules.toml").write_text('[[rule]]\nid = "x"\n', encoding="utf-8")
    await start(client, project)
    await analysed(client)
    assert codes(client, project) == EXAMPLE_FINDINGS
    [shown] = [m for m in client.messages if "rules.toml" in m.message]
    assert shown.type == types.MessageType.Error and "the rules file is ignored" in shown.message


# ---------------------------------------------------------------------------------------------
# 3. didOpen republishes (Neovim's `:e` closes and reopens the buffer, dropping its diagnostics).


async def test_reopening_a_document_republishes_its_diagnostics(client: LanguageClient, tmp_path: Path) -> None:
    project = example(tmp_path)
    await start(client, project, "neovim@0.7.0")
    await analysed(client)
    db = project / "shop" / "db.py"
    open_document(client, db)
    await wait_for(lambda: [d.code for d in client.diagnostics.get(db.as_uri(), [])] == ["sql-injection"])
    await asyncio.sleep(0.3)
    published = record_publishes(client)
    for _ in range(2):
        # The same text at the same version: nothing changed for the server, but the client forgot.
        client.text_document_did_close(types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=db.as_uri())))
        open_document(client, db)
        await wait_for(lambda: len([p for p in published if p.uri == db.as_uri()]) >= 1)
        [republished] = [p for p in published if p.uri == db.as_uri()]
        assert [d.code for d in republished.diagnostics] == ["sql-injection"] and republished.version == 1
        published.clear()


# ---------------------------------------------------------------------------------------------
# 4. A workspace folder that is a package is analysed from its project root.


async def test_a_package_folder_is_analysed_from_the_project_root_found_from_markers(client: LanguageClient, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    project = example(outside, '[project]\nname = "shop"\n')
    # Above the project: a pyproject.toml and a vulnerable file that must not be read.
    (outside / "pyproject.toml").write_text('[tool.flowsight]\ndisable = ["command-injection"]\n', encoding="utf-8")
    (outside / "stray.py").write_text(
        "import os\nfrom flask import request\n\n\ndef run():\n    os.system(request.args['c'])\n", encoding="utf-8"
    )
    await start(client, project / "shop", "neovim@0.7.0")
    await analysed(client)
    # Every finding, the cross-file ones included (db.py's source is in views.py).
    assert codes(client, project) == EXAMPLE_FINDINGS
    [sql] = client.diagnostics[(project / "shop/db.py").as_uri()]
    assert sql.related_information[0].location.uri == (project / "shop/views.py").as_uri()
    status = await client.protocol.send_request_async("flowsight/status", {})
    assert [(f.root, f.files) for f in status.folders] == [(project.as_uri(), 5)]
    assert (outside / "stray.py").as_uri() not in client.diagnostics


async def test_a_package_folder_in_a_src_layout_is_analysed_from_src(client: LanguageClient, tmp_path: Path) -> None:
    project = tmp_path / "shop-project"
    (project / "src").mkdir(parents=True)
    shutil.copytree(EXAMPLE / "shop", project / "src" / "shop")
    (project / "setup.cfg").write_text("[metadata]\nname = shop\n", encoding="utf-8")
    (project / "tests").mkdir()
    (project / "tests" / "test_x.py").write_text("import os\nfrom flask import request\nos.system(request.args['c'])\n", encoding="utf-8")
    await start(client, project / "src" / "shop")
    await analysed(client)
    assert codes(client, project / "src") == EXAMPLE_FINDINGS
    status = await client.protocol.send_request_async("flowsight/status", {})
    assert [f.root for f in status.folders] == [(project / "src").as_uri()]


async def test_a_folder_that_is_not_a_package_stays_the_root(client: LanguageClient, tmp_path: Path) -> None:
    project = example(tmp_path, '[project]\nname = "shop"\n')
    (tmp_path / "pyproject.toml").write_text('[tool.flowsight]\ndisable = ["xss"]\n', encoding="utf-8")
    await start(client, project)
    await analysed(client)
    assert codes(client, project) == EXAMPLE_FINDINGS  # the pyproject.toml above the project is not read
    status = await client.protocol.send_request_async("flowsight/status", {})
    assert [f.root for f in status.folders] == [project.as_uri()]


# ---------------------------------------------------------------------------------------------
# 5. Syntax errors as diagnostics, severity configurable, off-able.

BROKEN = 'import os\nfrom flask import request\n\n\ndef run(:\n    os.system(request.args["c"])\n'


async def test_syntax_errors_are_diagnostics_with_a_configurable_severity(client: LanguageClient, tmp_path: Path) -> None:
    project = example(tmp_path)
    broken = project / "shop" / "broken.py"
    broken.write_text(BROKEN, encoding="utf-8")
    await start(client, project)
    await analysed(client)
    uri = broken.as_uri()
    [syntax] = [d for d in client.diagnostics[uri] if d.source == "flowsight (syntax)"]
    assert syntax.severity == types.DiagnosticSeverity.Error and syntax.code == "syntax-error"
    assert syntax.range.start == types.Position(line=4, character=8) and syntax.message == "syntax error: missing `)`"
    assert codes(client, project)["shop/db.py"] == ["sql-injection"]  # findings are unaffected
    for setting, severity in [("warning", types.DiagnosticSeverity.Warning), ("hint", types.DiagnosticSeverity.Hint)]:
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"flowsight": {"syntaxErrors": setting}}))
        await wait_for(
            lambda severity=severity: [d.severity for d in client.diagnostics[uri] if d.source == "flowsight (syntax)"] == [severity]
        )
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"flowsight": {"syntaxErrors": "off"}}))
    await wait_for(lambda: not [d for d in client.diagnostics[uri] if d.source == "flowsight (syntax)"])
    # Back on; then the error is fixed in the editor and its diagnostic goes.
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"flowsight": {}}))
    await wait_for(lambda: [d for d in client.diagnostics[uri] if d.source == "flowsight (syntax)"])
    open_document(client, broken)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=types.Position(line=4, character=8), end=types.Position(line=4, character=8)), text=")"
                )
            ],
        )
    )
    await wait_for(lambda: [d.source for d in client.diagnostics[uri]] == ["flowsight"])
    assert client.diagnostics[uri][0].code == "command-injection"
    # A bad value is shown and ignored.
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"flowsight": {"syntaxErrors": "loud"}}))
    await wait_for(lambda: any("syntaxErrors" in m.message for m in client.messages))


# ---------------------------------------------------------------------------------------------
# 6. Pull diagnostics for clients that pull (and can be asked to pull again); push for others.


def pulling_capabilities() -> types.ClientCapabilities:
    # What vscode-languageclient 9 declares on top of the 1.65 profile.
    capabilities = client_capabilities("visual-studio-code")
    capabilities.text_document.diagnostic = types.DiagnosticClientCapabilities(dynamic_registration=True, related_document_support=False)
    capabilities.workspace.diagnostics = types.DiagnosticWorkspaceClientCapabilities(refresh_support=True)
    return capabilities


async def pull(client: LanguageClient, uri: str, previous: str | None = None):  # noqa: ANN201
    return await client.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri), previous_result_id=previous)
    )


async def test_a_client_that_pulls_gets_the_same_diagnostics_by_pull(client: LanguageClient, tmp_path: Path) -> None:
    project = example(tmp_path)
    result = await start(client, project, capabilities=pulling_capabilities())
    provider = result.capabilities.diagnostic_provider
    assert provider is not None and provider.inter_file_dependencies and not provider.workspace_diagnostics
    await analysed(client)
    # Files that are not open are pushed.
    db = (project / "shop" / "db.py").as_uri()
    pushed = client.diagnostics[db]
    assert [d.code for d in pushed] == ["sql-injection"]
    # Open: answered by pull, equal to what was pushed; the pushed copy is cleared (no duplicates).
    published = record_publishes(client)
    open_document(client, project / "shop" / "db.py")
    report = await pull(client, db)
    assert report.kind == "full" and report.items == pushed
    await wait_for(lambda: len(client.diagnostics[db]) == 0)
    assert [len(p.diagnostics) for p in published if p.uri == db] == [0]
    unchanged = await pull(client, db, report.result_id)
    assert unchanged.kind == "unchanged" and unchanged.result_id == report.result_id
    # An edit in another file removes db.py's finding (its source is in views.py): the client is
    # asked to pull again, and the pull has the new answer.
    views = project / "shop" / "views.py"
    text = views.read_text(encoding="utf-8")
    line = next(n for n, line in enumerate(text.splitlines()) if "find_products(term)" in line)
    column = text.splitlines()[line].index("term)")
    refreshes = client.diagnostic_refresh_count
    assert refreshes == 0  # opening (or editing) a document makes the client pull it: no refresh
    open_document(client, views)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=views.as_uri(), version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(
                        start=types.Position(line=line, character=column), end=types.Position(line=line, character=column + 4)
                    ),
                    text='"x"',
                )
            ],
        )
    )
    await wait_for(lambda: client.diagnostic_refresh_count > refreshes)
    after = await pull(client, db, report.result_id)
    assert after.kind == "full" and len(after.items) == 0 and after.result_id != report.result_id
    # Closed again: pushed again.
    client.text_document_did_close(types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=views.as_uri())))
    await wait_for(lambda: sorted(d.code for d in client.diagnostics.get(views.as_uri(), [])) == EXAMPLE_FINDINGS["shop/views.py"])


async def test_clients_that_cannot_be_asked_to_pull_again_get_pushes(client: LanguageClient, tmp_path: Path) -> None:
    # Neovim 0.11 declares textDocument/diagnostic without workspace/diagnostic/refresh.
    project = example(tmp_path)
    result = await start(client, project, "neovim@0.11.0")
    assert result.capabilities.diagnostic_provider is None
    await analysed(client)
    open_document(client, project / "shop" / "db.py")
    await wait_for(lambda: [d.code for d in client.diagnostics.get((project / "shop/db.py").as_uri(), [])] == ["sql-injection"])
    assert codes(client, project) == EXAMPLE_FINDINGS


# ---------------------------------------------------------------------------------------------
# 7. Progress during analysis, not only during indexing.


async def test_analysis_reports_progress_after_indexing_and_after_a_settings_change(client: LanguageClient, tmp_path: Path) -> None:
    project = example(tmp_path)
    await start(client, project)
    await analysed(client)
    titles = [reports[0].title for reports in client.progress_reports.values() if reports]
    assert titles == ["flowsight: indexing", "flowsight: analysing"]
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"flowsight": {"disable": ["template-injection"]}})
    )
    await analysed(client, 2)
    last = list(client.progress_reports.values())[-1]
    assert [r.kind for r in last] == ["begin", "end"] and last[-1].message == "7 findings"
