"""The language server end to end over stdio with pytest-lsp, as VS Code and Neovim 0.7 would
drive it (their declared capabilities; LspSpecificationWarning is an error, see pyproject)."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

import flowsight
from conftest import REPOSITORY_ROOT

EXAMPLE = REPOSITORY_ROOT / "examples" / "vulnerable_app"
PROFILES = ["visual-studio-code", "neovim@0.7.0"]


@pytest_lsp.fixture(params=PROFILES, config=ClientServerConfig(server_command=[sys.executable, "-m", "flowsight", "serve"]))
async def client(request: pytest.FixtureRequest, lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    project = tmp_path_factory.mktemp("project") / "vulnerable_app"
    shutil.copytree(EXAMPLE, project)
    accept_registrations(lsp_client)
    params = types.InitializeParams(
        capabilities=client_capabilities(request.param),
        root_uri=project.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=project.as_uri(), name="vulnerable_app")],
    )
    await lsp_client.initialize_session(params)
    lsp_client.project = project  # type: ignore[attr-defined]
    lsp_client.declared = params.capabilities  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


def accept_registrations(client: LanguageClient) -> list[types.Registration]:
    """Answers `client/registerCapability` as editors do (the server registers a pyproject.toml
    watcher with clients that declare dynamic registration); returns what was registered."""
    registered: list[types.Registration] = []

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register_capability(params: types.RegistrationParams) -> None:
        registered.extend(params.registrations)

    client.registered = registered  # type: ignore[attr-defined]
    return registered


async def wait_for(condition, timeout: float = 20.0) -> None:  # noqa: ANN001
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting for the server")
        await asyncio.sleep(0.05)


def uri(client: LanguageClient, relative: str) -> str:
    return (client.project / relative).as_uri()  # type: ignore[attr-defined]


async def test_diagnostics_after_indexing_carry_the_path(client: LanguageClient) -> None:
    db = uri(client, "shop/db.py")
    await wait_for(lambda: db in client.diagnostics)
    [diagnostic] = client.diagnostics[db]
    assert diagnostic.code == "sql-injection" and diagnostic.source == "flowsight"
    assert diagnostic.severity == types.DiagnosticSeverity.Error
    assert "reaches `cursor.execute` (SQL injection, CWE-89) via `find_products` in 6 steps" in diagnostic.message
    assert diagnostic.range.start == types.Position(line=15, character=4)
    steps = diagnostic.related_information
    assert [step.message.split(":")[0] for step in steps] == [
        "1. source",
        "2. assignment",
        "3. call",
        "4. assignment",
        "5. argument",
        "6. sink",
    ]
    assert steps[0].location.uri == uri(client, "shop/views.py")
    assert (
        diagnostic.data == {"findingId": diagnostic.data["findingId"], "threatModel": "remote"} and len(diagnostic.data["findingId"]) == 16
    )


async def test_a_cross_file_path_disappears_when_the_sink_is_sanitised(client: LanguageClient) -> None:
    files = uri(client, "shop/files.py")
    await wait_for(lambda: files in client.diagnostics and len(client.diagnostics[files]) == 2)
    path = client.project / "shop" / "files.py"  # type: ignore[attr-defined]
    text = path.read_text()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=files, language_id="python", version=1, text=text))
    )
    line = text.splitlines().index('    os.system("gzip -k " + name)  # sink[b]: CWE-78')
    column = text.splitlines()[line].index("name)")
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=files, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(
                        start=types.Position(line=line, character=column), end=types.Position(line=line, character=column + 4)
                    ),
                    text="shlex.quote(name)",
                )
            ],
        )
    )
    await wait_for(lambda: len(client.diagnostics.get(files, [])) == 1)
    [remaining] = client.diagnostics[files]
    assert remaining.code == "path-traversal"


class BatchedWriter:
    """Holds what the client writes, then sends it as one write: a burst that arrives together
    (as a multi-cursor edit or a formatter's changes do), however slowly the test runs."""

    def __init__(self, writer) -> None:  # noqa: ANN001
        self.writer = writer
        self.pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.pending.append(data)

    def send(self) -> None:
        self.writer.write(b"".join(self.pending))


async def test_a_burst_of_edits_publishes_once_for_the_final_version(client: LanguageClient) -> None:
    views = uri(client, "shop/views.py")
    db = uri(client, "shop/db.py")
    # views.py has findings of its own: its first publish (no version) must be in before the burst.
    await wait_for(lambda: db in client.diagnostics and views in client.diagnostics)
    text = (client.project / "shop" / "views.py").read_text()  # type: ignore[attr-defined]
    published: list[types.PublishDiagnosticsParams] = []
    features = client.protocol.fm.features
    original = features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]
    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = lambda *args: (published.append(args[-1]), original(*args))[1]
    batch = BatchedWriter(client.protocol.writer)
    client.protocol.writer = batch
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=views, language_id="python", version=1, text=text))
    )
    for version in range(2, 22):
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=views, version=version),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)), text="#"
                    )
                ],
            )
        )
    client.protocol.writer = batch.writer
    assert len(batch.pending) == 21
    batch.send()
    await wait_for(lambda: any(p.uri == views and p.version == 21 for p in published))
    await asyncio.sleep(0.5)  # nothing else may follow
    for_views = [p for p in published if p.uri == views]
    assert [p.version for p in for_views] == [21]


async def test_a_burst_of_highlights_is_answered_newest_first_and_never_holds_up_diagnostics(client: LanguageClient) -> None:
    """An edit that clears a finding arrives together with 100 documentHighlight requests (a
    cursor moving): the diagnostics still follow the edit, every request is answered, the newest
    with the right occurrences (they run in the highlight thread, not the pool the analysis job
    uses; superseded ones are answered empty)."""
    db = uri(client, "shop/db.py")
    views = uri(client, "shop/views.py")
    await wait_for(lambda: len(client.diagnostics.get(db, [])) == 1)
    text = (client.project / "shop" / "db.py").read_text()  # type: ignore[attr-defined]
    [finding] = client.diagnostics[db]
    batch = BatchedWriter(client.protocol.writer)
    client.protocol.writer = batch
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=db, language_id="python", version=1, text=text))
    )
    sink = finding.range.start.line
    end = types.Position(line=sink, character=len(text.splitlines()[sink]))
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=db, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(range=types.Range(start=end, end=end), text="  # flowsight: ignore[sql-injection]")
            ],
        )
    )
    requests = [
        client.text_document_document_highlight_async(
            types.DocumentHighlightParams(
                text_document=types.TextDocumentIdentifier(uri=views), position=types.Position(line=16, character=25 if n == 99 else n % 30)
            )
        )
        for n in range(100)
    ]
    client.protocol.writer = batch.writer
    batch.send()
    answers = await asyncio.wait_for(asyncio.gather(*requests), 20)
    await wait_for(lambda: len(client.diagnostics.get(db, [None])) == 0)
    read, write = types.DocumentHighlightKind.Read, types.DocumentHighlightKind.Write
    newest = [(h.range.start.line, h.range.start.character, h.range.end.character, h.kind) for h in answers[-1] or []]
    assert newest == [(15, 4, 8, write), (16, 25, 29, read)]
    status = await client.protocol.send_request_async("flowsight/status", {})
    # How many were superseded depends on timing (`test_server_threads.py` checks that).
    assert status.highlights.answered + status.highlights.superseded == 100 and status.highlights.answered >= 1


async def test_status_reports_what_is_indexed_and_the_latency_of_each_change(client: LanguageClient) -> None:
    views = uri(client, "shop/views.py")
    await wait_for(lambda: uri(client, "shop/db.py") in client.diagnostics)
    text = (client.project / "shop" / "views.py").read_text()  # type: ignore[attr-defined]
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=views, language_id="python", version=1, text=text))
    )
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
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        status = await client.protocol.send_request_async("flowsight/status", {})
        changes = [sample for sample in status.latencies if sample.event == "textDocument/didChange"]
        if changes:
            break
        assert asyncio.get_running_loop().time() < deadline, "the edit was never served"
        await asyncio.sleep(0.05)
    python_files = sorted(client.project.rglob("*.py"))  # type: ignore[attr-defined]
    [folder] = status.folders
    assert folder.root == client.project.as_uri() and folder.files == len(python_files)  # type: ignore[attr-defined]
    assert 0 < changes[0].milliseconds < 20_000 and changes[0].publishes >= 1
    # The last analysis (the edit's, or a later one): every function reused or analysed.
    last = status.lastAnalysis
    assert last.scopes > 0 and last.reused + last.analysed >= last.scopes
    assert status.openDocuments == 1


async def test_slice_command_and_custom_request(client: LanguageClient) -> None:
    views = uri(client, "shop/views.py")
    await wait_for(lambda: uri(client, "shop/db.py") in client.diagnostics)
    arguments = {"uri": views, "position": {"line": 16, "character": 11}, "direction": "backward", "thin": False}
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="flowsight.slice", arguments=[arguments]))
    # `find_products(term)` depends on `term` (line 16), and, through module-level names, on the
    # imports of `request` (line 6) and `find_products` (line 10).
    lines = sorted(r["start"]["line"] for r in result["files"][views])
    assert lines == [5, 9, 15, 16]
    assert result["direction"] == "backward"
    # The slice also descends into `find_products` in shop/db.py (the call's return value).
    assert sorted(r["start"]["line"] for r in result["files"][uri(client, "shop/db.py")])[:2] == [2, 4]
    custom = await client.protocol.send_request_async("flowsight/slice", arguments)
    assert custom.direction == "backward"
    per_file = [sorted(r.start.line for r in ranges) for ranges in custom.files._asdict().values()]
    assert [5, 9, 15, 16] in per_file and len(per_file) == 2
    # Once analyses pause the server prepares the slices in the background; prepared, the same
    # request gets the same answer.
    deadline = asyncio.get_running_loop().time() + 20
    while (await client.protocol.send_request_async("flowsight/status", {})).slicesPrepared < 1:
        assert asyncio.get_running_loop().time() < deadline, "the slices were never prepared"
        await asyncio.sleep(0.1)
    prepared = await client.protocol.send_request_async("flowsight/slice", arguments)
    assert prepared.files._asdict() == custom.files._asdict()


async def test_bad_command_arguments_get_an_error_and_the_server_keeps_running(client: LanguageClient) -> None:
    with pytest.raises(Exception, match="position"):
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="flowsight.slice", arguments=[{"uri": "file:///x.py"}])
        )
    with pytest.raises(Exception, match="unknown document"):
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command="flowsight.slice", arguments=[{"uri": "file:///elsewhere/x.py", "position": {"line": 0, "character": 0}}]
            )
        )
    db = uri(client, "shop/db.py")
    await wait_for(lambda: db in client.diagnostics)


async def test_capabilities_announce_commands_and_the_custom_request(client: LanguageClient) -> None:
    capabilities = client.protocol._server_capabilities if hasattr(client.protocol, "_server_capabilities") else None
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="flowsight.reindex", arguments=[]))
    assert result["files"] == 5
    assert capabilities is None or capabilities.experimental["flowsight"]["requests"] == [
        "flowsight/slice",
        "flowsight/status",
        "flowsight/search",
    ]


async def actions_on_the_finding(client: LanguageClient, document: str) -> tuple[types.Diagnostic, list[types.CodeAction]]:
    """The code actions the client gets for the one diagnostic of `document`."""
    [diagnostic] = client.diagnostics[document]
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=document),
            range=diagnostic.range,
            context=types.CodeActionContext(diagnostics=[diagnostic]),
        )
    )
    return diagnostic, actions


async def test_code_actions_explain_and_suppress(client: LanguageClient) -> None:
    db = uri(client, "shop/db.py")
    await wait_for(lambda: db in client.diagnostics)
    text = (client.project / "shop" / "db.py").read_text()  # type: ignore[attr-defined]
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=db, language_id="python", version=1, text=text))
    )
    diagnostic, actions = await actions_on_the_finding(client, db)
    titles = [action.title for action in actions]
    assert "flowsight: Backward slice from here" in titles and "flowsight: Forward slice from here" in titles
    assert "flowsight: Show taint path (sql-injection)" in titles
    suppress = next(a for a in actions if a.title == "flowsight: Suppress sql-injection on this line")
    [edit] = suppress.edit.changes[db]
    assert edit.new_text == "  # flowsight: ignore[sql-injection]" and edit.range.start.line == 15
    explained = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="flowsight.explainTaint", arguments=[diagnostic.data["findingId"]])
    )
    assert [step["kind"] for step in explained["steps"]] == ["source", "assignment", "call", "assignment", "argument", "sink"]
    # Applying the suppression clears the diagnostic.
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=db, version=2),
            content_changes=[types.TextDocumentContentChangePartial(range=edit.range, text=edit.new_text)],
        )
    )
    await wait_for(lambda: len(client.diagnostics[db]) == 0)


async def test_the_sanitiser_quick_fix_comes_from_the_rule_packs(client: LanguageClient, tmp_path: Path) -> None:
    db = uri(client, "shop/db.py")
    await wait_for(lambda: db in client.diagnostics)
    text = (client.project / "shop" / "db.py").read_text()  # type: ignore[attr-defined]
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=db, language_id="python", version=1, text=text))
    )

    async def fixes() -> list[types.CodeAction]:
        _, actions = await actions_on_the_finding(client, db)
        return [action for action in actions if action.title.startswith("flowsight: Sanitise with")]

    assert await fixes() == []  # the built-in sql-injection rule names no sanitiser
    # A user pack redefining the rule with a `fix` gets that fix.
    pack = tmp_path / "rules.toml"
    pack.write_text(
        '[[rule]]\nid = "sql-injection"\nname = "SQL injection"\nsink_kind = "SQL"\ncwe = 89\n'
        'message = "reaches a SQL query"\nfix = { call = "shop.quoting.quote_literal" }\n'
    )
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"flowsight": {"rules": str(pack)}}))
    await wait_for(lambda: bool(client.diagnostics.get(db)))
    [fix] = await fixes()
    assert fix.title == "flowsight: Sanitise with shop.quoting.quote_literal"
    import_edit, wrap = fix.edit.changes[db]
    assert import_edit.new_text == "import shop.quoting\n" and wrap.new_text.startswith("shop.quoting.quote_literal(")


async def test_automatic_code_actions_only_where_the_line_has_a_finding(client: LanguageClient) -> None:
    """The lightbulb (an automatic request) shows only on lines with actions of their own."""
    db = uri(client, "shop/db.py")
    await wait_for(lambda: db in client.diagnostics)
    text = (client.project / "shop" / "db.py").read_text()  # type: ignore[attr-defined]
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=db, language_id="python", version=1, text=text))
    )
    [diagnostic] = client.diagnostics[db]

    async def titles(line: int, trigger: types.CodeActionTriggerKind) -> list[str]:
        position = types.Position(line=line, character=4)
        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=db),
                range=types.Range(start=position, end=position),
                context=types.CodeActionContext(diagnostics=[], trigger_kind=trigger),
            )
        )
        return [action.title for action in actions or []]

    sink = diagnostic.range.start.line
    assert await titles(0, types.CodeActionTriggerKind.Automatic) == []
    automatic = await titles(sink, types.CodeActionTriggerKind.Automatic)
    assert "flowsight: Show taint path (sql-injection)" in automatic
    assert not any("slice" in title for title in automatic)
    invoked = await titles(0, types.CodeActionTriggerKind.Invoked)
    assert invoked == ["flowsight: Backward slice from here", "flowsight: Forward slice from here"]


async def test_symbols_highlight_and_hover(client: LanguageClient) -> None:
    views = uri(client, "shop/views.py")
    await wait_for(lambda: uri(client, "shop/db.py") in client.diagnostics)
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=views))
    )
    names = [symbol.name for symbol in symbols]
    assert names[:3] == ["search", "search_safe", "orders"]
    found = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="read_invoice"))
    assert sorted(s.name for s in found) == ["read_invoice", "read_invoice_safely"]

    # Occurrences of the name under the cursor, scoped as Python resolves it: `term` of
    # `search` (not of `search_safe`), `find_products` from its import on.
    async def highlight(line: int, character: int) -> list[tuple[int, int, int, types.DocumentHighlightKind]]:
        found = await client.text_document_document_highlight_async(
            types.DocumentHighlightParams(
                text_document=types.TextDocumentIdentifier(uri=views), position=types.Position(line=line, character=character)
            )
        )
        return [(h.range.start.line, h.range.start.character, h.range.end.character, h.kind) for h in found or []]

    read, write = types.DocumentHighlightKind.Read, types.DocumentHighlightKind.Write
    assert await highlight(16, 25) == [(15, 4, 8, write), (16, 25, 29, read)]
    assert await highlight(16, 11) == [(9, 41, 54, write), (16, 11, 24, read)]
    assert await highlight(16, 4) == [(16, 4, 8, write), (17, 23, 27, read)]
    assert (await highlight(15, 14))[:3] == [(5, 52, 59, write), (15, 11, 18, read), (22, 11, 18, read)]
    assert await highlight(15, 19) == []  # `args`, an attribute
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=views), position=types.Position(line=16, character=4))
    )
    assert hover is not None and "user input `request.args`" in hover.contents.value


async def test_watched_file_changes_and_deletions(client: LanguageClient) -> None:
    files = uri(client, "shop/files.py")
    await wait_for(lambda: len(client.diagnostics.get(files, [])) == 2)
    path = client.project / "shop" / "files.py"  # type: ignore[attr-defined]
    path.write_text(path.read_text().replace('os.system("gzip -k " + name)', 'os.system("gzip -k " + shlex.quote(name))'))
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(changes=[types.FileEvent(uri=files, type=types.FileChangeType.Changed)])
    )
    await wait_for(lambda: len(client.diagnostics.get(files, [])) == 1)
    path.unlink()
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(changes=[types.FileEvent(uri=files, type=types.FileChangeType.Deleted)])
    )
    await wait_for(lambda: len(client.diagnostics[files]) == 0)


async def test_indexing_and_analysis_report_progress_when_the_client_supports_it(client: LanguageClient) -> None:
    await wait_for(lambda: uri(client, "shop/db.py") in client.diagnostics)
    declared = client.declared  # type: ignore[attr-defined]
    supports = bool(declared.window and declared.window.work_done_progress)

    def by_title() -> dict[str, list]:
        return {reports[0].title: reports for reports in client.progress_reports.values() if reports and reports[0].kind == "begin"}

    if supports:
        # Each has its own token, begins and ends; the analysis after indexing reports too.
        await wait_for(
            lambda: by_title().get("flowsight: analysing", [None])[-1] is not None and by_title()["flowsight: analysing"][-1].kind == "end"
        )
        indexing, analysing = by_title()["flowsight: indexing"], by_title()["flowsight: analysing"]
        assert indexing[-1].kind == "end" and indexing[-1].message == "indexed 5 files"
        assert list(client.progress_reports).index(next(t for t, r in client.progress_reports.items() if r and r[0] is indexing[0])) < list(
            client.progress_reports
        ).index(next(t for t, r in client.progress_reports.items() if r and r[0] is analysing[0]))
        assert analysing[-1].message == "8 findings"
    else:
        assert client.progress_reports == {}


async def test_settings_change_what_is_reported(client: LanguageClient) -> None:
    db = uri(client, "shop/db.py")
    await wait_for(lambda: db in client.diagnostics)
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"flowsight": {"disable": ["sql-injection"], "severity": {"open-redirect": "info"}}})
    )
    await wait_for(lambda: len(client.diagnostics[db]) == 0)
    views = client.diagnostics[uri(client, "shop/views.py")]
    assert any(d.code == "open-redirect" and d.severity == types.DiagnosticSeverity.Information for d in views)
    # A bad setting is logged, not fatal: the server keeps publishing.
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"flowsight": {"disable": "not a list"}}))
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"flowsight": {}}))
    await wait_for(lambda: len(client.diagnostics[db]) == 1)


async def test_a_bad_rules_file_is_shown_and_ignored_and_the_server_recovers(client: LanguageClient, tmp_path: Path) -> None:
    db = uri(client, "shop/db.py")
    await wait_for(lambda: db in client.diagnostics)
    bad = tmp_path / "bad.toml"
    bad.write_text('[[sink]]\nkind = "Sequel"\ncalls = ["x"]\nargs = [0]\n')
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"flowsight": {"rules": str(bad)}}))
    await wait_for(lambda: any("unknown sink kind" in m.message for m in client.messages))
    [shown] = [m for m in client.messages if "unknown sink kind" in m.message]
    assert shown.type == types.MessageType.Error and str(bad) in shown.message
    # The built-in rules keep working meanwhile.
    await asyncio.sleep(0.3)
    assert [d.code for d in client.diagnostics[db]] == ["sql-injection"]
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"flowsight": {"disable": ["sql-injection"]}}))
    await wait_for(lambda: len(client.diagnostics[db]) == 0)


async def test_a_cancelled_request_answers_request_cancelled_and_the_server_goes_on(client: LanguageClient) -> None:
    await wait_for(lambda: uri(client, "shop/db.py") in client.diagnostics)
    generated = client.project / "generated"  # type: ignore[attr-defined]
    generated.mkdir()
    for number in range(600):
        (generated / f"module_{number}.py").write_text("".join(f"def f{i}(x):\n    return x + {i}\n\n\n" for i in range(20)))
    request = client.protocol.send_request(
        types.WORKSPACE_EXECUTE_COMMAND, types.ExecuteCommandParams(command="flowsight.reindex", arguments=[]), msg_id="slow-reindex"
    )
    client.protocol.notify("$/cancelRequest", types.CancelParams(id="slow-reindex"))
    with pytest.raises(Exception, match="(?i)cancel"):
        await asyncio.wrap_future(request)
    # The server keeps answering.
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="flowsight.reindex", arguments=[]))
    assert result["files"] == 605


NON_ASCII = (
    'import os\nfrom flask import request\n\n\ndef run():\n    command = request.args["c"]\n'
    '    face = "😀中é"; os.system(command)  # flowsight: the sink follows non-ASCII text\n'
)


@pytest_lsp.fixture(params=["utf-8", "utf-16"], config=ClientServerConfig(server_command=[sys.executable, "-m", "flowsight", "serve"]))
async def encoding_client(request: pytest.FixtureRequest, lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    project = tmp_path_factory.mktemp("encoding")
    (project / "app.py").write_text(NON_ASCII, encoding="utf-8")
    capabilities = client_capabilities("visual-studio-code")
    capabilities.general = types.GeneralClientCapabilities(position_encodings=[types.PositionEncodingKind(request.param)])
    accept_registrations(lsp_client)
    result = await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities,
            root_uri=project.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=project.as_uri(), name="encoding")],
        )
    )
    lsp_client.project = project  # type: ignore[attr-defined]
    lsp_client.negotiated = result.capabilities.position_encoding  # type: ignore[attr-defined]
    lsp_client.offered = request.param  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def test_positions_are_exact_after_non_ascii_text_in_the_negotiated_encoding(encoding_client: LanguageClient) -> None:
    client = encoding_client
    app = (client.project / "app.py").as_uri()  # type: ignore[attr-defined]
    await wait_for(lambda: app in client.diagnostics)
    [diagnostic] = client.diagnostics[app]
    encoding = str(getattr(client.negotiated, "value", client.negotiated))  # type: ignore[attr-defined]
    assert encoding == client.offered  # type: ignore[attr-defined]
    line = NON_ASCII.splitlines()[6]
    # The engine's own answer, in UTF-8 bytes, converted by hand into the negotiated encoding.
    [finding] = flowsight.analyze_taint([str(client.project)], root=str(client.project)).findings  # type: ignore[attr-defined]
    prefix = line.encode("utf-8")[: finding.sink.start_column].decode("utf-8")
    expected = len(prefix.encode("utf-8")) if encoding == "utf-8" else len(prefix.encode("utf-16-le")) // 2
    assert diagnostic.range.start == types.Position(line=6, character=expected)
    assert prefix.startswith('    face = "😀中é"; ') and expected != len(prefix)  # really past the non-ASCII text
    # An edit given in the same encoding, right before the sink, lands where the client meant
    # it: the sink moves right by exactly what was inserted.
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=app, language_id="python", version=1, text=NON_ASCII))
    )
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=app, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=types.Position(line=6, character=expected), end=types.Position(line=6, character=expected)),
                    text="x = 1; ",
                )
            ],
        )
    )
    moved = types.Position(line=6, character=expected + len("x = 1; "))
    await wait_for(lambda: [d.range.start for d in client.diagnostics.get(app, [])] == [moved])
