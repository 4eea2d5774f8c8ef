"""`textDocument/didChange`: incremental edits are queued for the core (applied in order, in
the client's position encoding, coalesced with the edits queued before them: see pending.py);
the analysis is coalesced. protocol.py has already applied them to the session's copy of the
document (documents.py), whose size decides: a document growing over the size limit leaves the
analysis (a diagnostic says why) until it fits again, then its whole text is queued. Changes of
documents that are not open are dropped (protocol.py)."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

import flowsight
from flowsight.server.analysed import is_analysed
from flowsight.server.pending import PendingChange
from flowsight.server.session import uri_to_path


def to_edit(change: types.TextDocumentContentChangeEvent) -> flowsight.TextEdit:
    if isinstance(change, types.TextDocumentContentChangePartial):
        start, end = change.range.start, change.range.end
        return flowsight.TextEdit(start.line, start.character, end.line, end.character, change.text)
    return flowsight.TextEdit.full(change.text)


def register(server) -> None:  # noqa: ANN001
    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        if not uri.startswith("file:") or not is_analysed(uri):
            return
        session = server.session
        document = session.documents.get(uri)
        if document is None:
            return
        path = Path(uri_to_path(uri))
        version = params.text_document.version
        state = session.size_state(path, document.utf8_size)
        if state == "back":
            session.queue(path, PendingChange(version, None, document.text()))
        elif state == "fits":
            session.queue(path, PendingChange(version, [to_edit(change) for change in params.content_changes]))
        session.schedule("textDocument/didChange")
