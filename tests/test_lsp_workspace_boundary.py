"""What the server reads, over stdio with pytest-lsp (issue 15, "Security: URIs outside the
workspace" and the server's hangs): only regular files under a workspace folder, after resolving
`..` and symbolic links; documents the client opens elsewhere are analysed from the client's text
and never read from disk; pipes and devices never block the server; buffers over the size limit
are not analysed (a diagnostic says so); `flowsight.reindex` re-reads changed files and forgets
deleted ones."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from flowsight.server.session import MAX_DOCUMENT_BYTES
from test_lsp_server import accept_registrations, wait_for
from test_lsp_server_behaviour import record_publishes

SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "flowsight", "serve"])
VULNERABLE = 'import os\nfrom flask import request\n\n\ndef run():\n    os.system(request.args["cmd"])\n'
HARMLESS = "x = 1\n"


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):
    accept_registrations(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def start(client: LanguageClient, folder: Path) -> None:
    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=folder.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=folder.as_uri(), name=folder.name)],
        )
    )


def layout(tmp_path: Path) -> tuple[Path, Path]:
    """A workspace with one finding in app.py, and a directory outside it with a secret finding."""
    workspace = tmp_path / "ws"
    outside = tmp_path / "outside"
    workspace.mkdir()
    outside.mkdir()
    (workspace / "app.py").write_text(VULNERABLE)
    (outside / "secret.py").write_text(VULNERABLE + "\n\ndef again():\n    os.system(request.args['x'])\n")
    return workspace, outside


def cleared(client: LanguageClient, uri: str) -> bool:
    """Whether the latest publish for `uri` is an empty list."""
    return uri in client.diagnostics and len(client.diagnostics[uri]) == 0


async def status(client: LanguageClient):  # noqa: ANN201
    return await client.protocol.send_request_async("flowsight/status", {})


async def roots(client: LanguageClient) -> list[str]:
    return [folder.root for folder in (await status(client)).folders]


def open_text(client: LanguageClient, uri: str, text: str, version: int = 1) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=uri, language_id="python", version=version, text=text))
    )


def close(client: LanguageClient, uri: str) -> None:
    client.text_document_did_close(types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))


def replace(client: LanguageClient, uri: str, text: str, version: int) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


async def hover(client: LanguageClient, uri: str, line: int = 0) -> types.Hover | None:
    return await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=line, character=0))
    )


async def reindex(client: LanguageClient) -> dict:
    return await client.workspace_execute_command_async(types.ExecuteCommandParams(command="flowsight.reindex", arguments=[]))


async def test_requests_about_files_outside_the_workspace_register_nothing_and_read_nothing(client: LanguageClient, tmp_path: Path) -> None:
    workspace, outside = layout(tmp_path)
    await start(client, workspace)
    await wait_for(lambda: workspace.joinpath("app.py").as_uri() in client.diagnostics)
    secret = (outside / "secret.py").as_uri()
    assert await hover(client, secret, 5) is None
    assert await hover(client, "file:///x.py") is None
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=secret),
            range=types.Range(start=types.Position(line=5, character=0), end=types.Position(line=5, character=0)),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    assert all(getattr(action, "edit", None) is None for action in actions or [])
    assert await roots(client) == [workspace.as_uri()]
    assert (await reindex(client))["files"] == 1
    await asyncio.sleep(0.5)
    assert secret not in client.diagnostics
    assert await roots(client) == [workspace.as_uri()]


async def test_a_dotdot_uri_closed_without_opening_reads_and_publishes_nothing(client: LanguageClient, tmp_path: Path) -> None:
    workspace, outside = layout(tmp_path)
    await start(client, workspace)
    await wait_for(lambda: workspace.joinpath("app.py").as_uri() in client.diagnostics)
    published = record_publishes(client)
    close(client, workspace.as_uri() + "/../outside/secret.py")
    close(client, workspace.as_uri() + "/../../" + tmp_path.name + "/outside/secret.py")
    await hover(client, workspace.joinpath("app.py").as_uri())  # the closes were handled before this answer
    await asyncio.sleep(0.5)
    assert [p.uri for p in published if p.diagnostics] == []
    assert (outside / "secret.py").as_uri() not in client.diagnostics
    assert await roots(client) == [workspace.as_uri()]


async def test_a_document_opened_outside_the_workspace_is_analysed_from_the_client_text_only(
    client: LanguageClient, tmp_path: Path
) -> None:
    workspace, outside = layout(tmp_path)
    await start(client, workspace)
    secret = (outside / "secret.py").as_uri()
    # The text the client sends is analysed: one finding (the file on disk has two).
    open_text(client, secret, VULNERABLE)
    await wait_for(lambda: len(client.diagnostics.get(secret, [])) == 1)
    assert outside.as_uri() in await roots(client)
    # reindex never reads the loose folder.
    assert (await reindex(client))["files"] == 1
    await asyncio.sleep(0.3)
    assert len(client.diagnostics[secret]) == 1
    # Closed: forgotten (diagnostics cleared, the folder dropped), the file on disk never read.
    close(client, secret)
    await wait_for(lambda: cleared(client, secret))
    await asyncio.sleep(0.3)
    assert cleared(client, secret)
    assert await roots(client) == [workspace.as_uri()]


async def test_symbolic_links_leading_outside_are_not_read(client: LanguageClient, tmp_path: Path) -> None:
    workspace, outside = layout(tmp_path)
    (workspace / "link.py").symlink_to(outside / "secret.py")
    (workspace / "linked").symlink_to(outside, target_is_directory=True)
    await start(client, workspace)
    app = workspace.joinpath("app.py").as_uri()
    link = workspace.joinpath("link.py").as_uri()
    await wait_for(lambda: app in client.diagnostics)
    assert (await status(client)).folders[0].files == 1
    # Opened, the client's text is analysed; closed, the file behind the link is not read.
    open_text(client, link, HARMLESS)
    close(client, link)
    assert (await reindex(client))["files"] == 1
    await asyncio.sleep(0.5)
    assert len(client.diagnostics.get(link, [])) == 0
    assert not any(uri.startswith(workspace.joinpath("linked").as_uri()) for uri in client.diagnostics)


async def test_pipes_and_devices_named_py_never_block_the_server(client: LanguageClient, tmp_path: Path) -> None:
    workspace, _ = layout(tmp_path)
    os.mkfifo(workspace / "pipe.py")
    (workspace / "zero.py").symlink_to("/dev/zero")
    await start(client, workspace)
    app = workspace.joinpath("app.py").as_uri()
    await wait_for(lambda: app in client.diagnostics)
    pipe = workspace.joinpath("pipe.py").as_uri()
    zero = workspace.joinpath("zero.py").as_uri()
    for uri in (pipe, zero):
        close(client, uri)
        open_text(client, uri, HARMLESS)
        close(client, uri)
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=uri, type=types.FileChangeType.Changed) for uri in (pipe, zero)],
        )
    )
    started = time.monotonic()
    assert (await asyncio.wait_for(reindex(client), 10))["files"] == 2  # app.py and the FIFO, which the core skips
    assert await asyncio.wait_for(hover(client, app, 5), 10) is not None
    assert time.monotonic() - started < 10
    # And edits are still analysed.
    open_text(client, app, HARMLESS)
    await wait_for(lambda: cleared(client, app))


async def test_a_buffer_over_the_size_limit_is_not_analysed_and_the_server_stays_responsive(client: LanguageClient, tmp_path: Path) -> None:
    workspace, _ = layout(tmp_path)
    await start(client, workspace)
    big = workspace.joinpath("big.py").as_uri()
    large = "x = 1\n" * (MAX_DOCUMENT_BYTES // 6 + 1000)
    assert len(large) > MAX_DOCUMENT_BYTES
    open_text(client, big, large)
    await wait_for(lambda: [d.code for d in client.diagnostics.get(big, [])] == ["document-too-large"])
    started = time.monotonic()
    await asyncio.wait_for(hover(client, big), 5)
    assert time.monotonic() - started < 5
    assert any("over the 8 MiB limit" in message.message for message in client.messages)
    assert (await status(client)).openDocuments == 0  # not in the core
    # Back under the limit: analysed.
    replace(client, big, VULNERABLE, 2)
    await wait_for(lambda: [d.code for d in client.diagnostics.get(big, [])] == ["command-injection"])
    # Over it again (20 MB in one change): the warning again, promptly.
    replace(client, big, "y = 2\n" * ((20 << 20) // 6), 3)
    await wait_for(lambda: [d.code for d in client.diagnostics.get(big, [])] == ["document-too-large"], timeout=30)
    await asyncio.wait_for(hover(client, big), 5)


async def test_reindex_rereads_changed_files_and_forgets_deleted_ones(client: LanguageClient, tmp_path: Path) -> None:
    workspace, _ = layout(tmp_path)
    (workspace / "other.py").write_text(VULNERABLE)
    await start(client, workspace)
    app = workspace.joinpath("app.py").as_uri()
    other = workspace.joinpath("other.py").as_uri()
    await wait_for(lambda: len(client.diagnostics.get(app, [])) == 1 and len(client.diagnostics.get(other, [])) == 1)
    (workspace / "app.py").write_text(HARMLESS)
    (workspace / "other.py").unlink()
    (workspace / "new.py").write_text(VULNERABLE)
    assert (await reindex(client))["files"] == 2
    new = workspace.joinpath("new.py").as_uri()
    await wait_for(lambda: cleared(client, app) and cleared(client, other) and len(client.diagnostics.get(new, [])) == 1)
    assert (await status(client)).folders[0].files == 2
