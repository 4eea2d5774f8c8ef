"""Search in the language server over stdio (pytest-lsp): `workspace/symbol` from the lexical
index (fuzzy, ranked, unsaved edits included, no hidden cap), the `flowsight/search` request
and the `flowsight.search` command."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

HANDLERS = 300

CHAT = '''class ChatControllerTests:
    def test_route(self):
        pass


class ChatController:
    """Routes chat messages to rooms."""

    def route(self, message):
        return message


def chat_controller_factory():
    return ChatController()
'''


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "flowsight", "serve"]))
async def client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    project = tmp_path_factory.mktemp("search") / "project"
    (project / "app").mkdir(parents=True)
    (project / "app" / "chat.py").write_text(CHAT)
    handlers = "".join(f"def handler_{i}(request):\n    return {i}\n\n\n" for i in range(HANDLERS))
    (project / "app" / "handlers.py").write_text(handlers)

    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register_capability(params: types.RegistrationParams) -> None:
        pass  # the server registers a pyproject.toml watcher with clients that allow it

    params = types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=project.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=project.as_uri(), name="project")],
    )
    await lsp_client.initialize_session(params)
    lsp_client.project = project  # type: ignore[attr-defined]
    await indexed(lsp_client, files=2)
    yield
    await lsp_client.shutdown_session()


async def indexed(client: LanguageClient, files: int) -> None:
    """Waits until the server has read the folder's files (it indexes after `initialized`)."""
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        status = await client.protocol.send_request_async("flowsight/status", {})
        if [folder.files for folder in status.folders] == [files]:
            return
        assert asyncio.get_running_loop().time() < deadline, "the server did not index the folder"
        await asyncio.sleep(0.05)


def project(client: LanguageClient) -> Path:
    return client.project  # type: ignore[attr-defined]


async def symbols(client: LanguageClient, query: str) -> list[types.SymbolInformation]:
    found = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query=query))
    assert found is not None
    return found  # type: ignore[return-value]


async def test_workspace_symbol_is_fuzzy_and_ranked(client: LanguageClient) -> None:
    found = await symbols(client, "ChatCont")
    assert [(s.name, s.container_name) for s in found[:3]] == [
        ("ChatController", "app.chat"),
        ("ChatControllerTests", "app.chat"),
        ("chat_controller_factory", "app.chat"),
    ]
    first = found[0]
    assert first.kind == types.SymbolKind.Class
    assert first.location.uri == (project(client) / "app" / "chat.py").as_uri()
    # Lines 6-10 (1-based) as whole lines: from the start of the first to the start of the next.
    assert first.location.range == types.Range(start=types.Position(line=5, character=0), end=types.Position(line=10, character=0))
    assert (await symbols(client, "chtctrl"))[0].name == "ChatController"
    assert (await symbols(client, "ChatControler"))[0].name == "ChatController"
    assert [s.name for s in await symbols(client, "route")] == ["route", "test_route"]  # exact, then substring


async def test_workspace_symbol_has_no_hidden_cap(client: LanguageClient) -> None:
    found = await symbols(client, "handler")
    names = [s.name for s in found]
    assert len([name for name in names if name.startswith("handler_")]) == HANDLERS
    # Shorter names first among equal (prefix) matches: the module, handler_0 … handler_9, then handler_10.
    assert names[:12] == ["handlers", *(f"handler_{i}" for i in range(10)), "handler_10"]
    assert (await symbols(client, "handler_123"))[0].name == "handler_123"


async def test_unsaved_edits_are_found_at_once(client: LanguageClient) -> None:
    uri = (project(client) / "app" / "chat.py").as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="python", version=1, text=CHAT))
    )
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)),
                    text="def archive_room(room):\n    room.close()\n\n\n",
                )
            ],
        )
    )
    found = await symbols(client, "archive_room")
    assert [(s.name, s.location.range.start.line) for s in found] == [("archive_room", 0)]
    # ChatController moved down by four lines.
    assert (await symbols(client, "ChatController"))[0].location.range.start.line == 9


async def test_search_request_and_command(client: LanguageClient) -> None:
    result = await client.protocol.send_request_async("flowsight/search", {"query": "routes messages", "limit": 3})
    assert result.query == "routes messages" and result.mode == "lexical"
    assert (result.requestedMode, result.partial, result.vectorsPending, result.notice) == ("lexical", False, 0, None)
    top = result.results[0]
    assert (top.qualifiedName, top.name, top.kind) == ("app.chat.ChatController", "ChatController", "class")
    assert top.uri == (project(client) / "app" / "chat.py").as_uri()
    assert (top.range.start.line, top.range.end.line) == (5, 10) and len(top.chunkId) == 32 and top.score > 0
    assert len(result.results) <= 3
    assert top.preview == "class ChatController:"
    assert (top.findings, top.reaches, top.readsInput) == (0, [], False)  # nothing tainted here
    command = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="flowsight.search", arguments=[{"query": "handler_42", "mode": "symbols", "limit": 1}])
    )
    assert [hit["qualifiedName"] for hit in command["results"]] == ["app.handlers.handler_42"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"query": "x", "mode": "fuzzy"}, "`mode` is 'lexical', 'symbols', 'hybrid' or 'vector'"),
        ({"query": "x", "reaches": [1]}, "`reaches` is a rule id or a list of them"),
        ({"query": "x", "readsInput": "yes"}, "`readsInput` a boolean"),
        ({"query": "x", "limit": 0}, "`limit` is an integer from 1 to 1000"),
        ({"limit": 3}, "takes one object"),
    ],
)
async def test_search_request_rejects_bad_params(client: LanguageClient, params: dict, message: str) -> None:
    with pytest.raises(JsonRpcInvalidParams, match=message):
        await client.protocol.send_request_async("flowsight/search", params)
