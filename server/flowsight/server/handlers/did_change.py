"""`textDocument/didChange`: incremental edits are queued for the core (applied in order, in
the client's position encoding); the analysis is coalesced. A document growing over the size
limit leaves the analysis (a diagnostic says why) until it fits again. Changes of documents that
are not open are dropped (protocol.py)."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

import flowsight
from flowsight.server.protocol import open_document
from flowsight.server.session import PendingChange, uri_to_path


def to_edit(change: types.TextDocumentContentChangeEvent) -> flowsight.TextEdit:
    if isinstance(change, types.TextDocumentContentChangePartial):
        start, end = change.range.start, change.range.end
        return flowsight.TextEdit(start.line, start.character, end.line, end.character, change.text)
    return flowsight.TextEdit.full(change.text)


def register(server) -> None:  # noqa: ANN001
    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        if not uri.startswith("file:") or not uri.endswith((".py", ".pyi")):
            return
        document = open_document(server.workspace, uri)
        if document is None:
            return
        # pygls has applied the same changes to its copy: kept as a fallback if an edit is refused.
        text = document.source
        path = Path(uri_to_path(uri))
        session = server.session
        version = params.text_document.version
        state = session.size_state(path, version, text)
        if state == "back":
            session.queue(path, PendingChange(version, None, text))
        elif state == "fits":
            session.queue(path, PendingChange(version, [to_edit(change) for change in params.content_changes], text))
        session.schedule("textDocument/didChange")
