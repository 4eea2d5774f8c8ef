"""`textDocument/didOpen`: the editor's text replaces the file's, and the file's diagnostics
are sent again even when unchanged (a client may have dropped them on close: Neovim's `:e`);
a pull client's open document is answered by `textDocument/diagnostic` instead. A document
outside every workspace folder is analysed from this text alone (see session.py); one over the
size limit is not analysed."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from flowsight.server.analysed import is_analysed
from flowsight.server.pending import PendingChange
from flowsight.server.session import uri_to_path


def register(server) -> None:  # noqa: ANN001
    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        document = params.text_document
        if not document.uri.startswith("file:") or not is_analysed(document.uri):
            return
        path = Path(uri_to_path(document.uri))
        session = server.session
        session.document_folder(path)
        size = session.documents.get(document.uri).utf8_size  # kept by protocol.py
        if session.size_state(path, size) != "over":
            session.queue(path, PendingChange(document.version, None, document.text))
        session.opened(path)
        server.session.schedule("textDocument/didOpen")
