"""The pygls server: handlers registered per LSP method, errors logged instead of popped up."""

from __future__ import annotations

import logging

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

from flowsight import __version__
from flowsight.server.handlers import MODULES
from flowsight.server.session import Session

log = logging.getLogger("flowsight.server")


EXPERIMENTAL = {
    "flowsight": {
        "requests": ["flowsight/slice", "flowsight/status"],
        "commands": ["flowsight.slice", "flowsight.showSlice", "flowsight.explainTaint", "flowsight.reindex"],
    }
}


class FlowsightProtocol(LanguageServerProtocol):
    """Announces the custom `flowsight/slice` request under `experimental` capabilities."""

    @property
    def server_capabilities(self) -> types.ServerCapabilities:
        return getattr(self, "_flowsight_capabilities", None)  # type: ignore[return-value]

    @server_capabilities.setter
    def server_capabilities(self, capabilities: types.ServerCapabilities) -> None:
        if capabilities is not None:
            capabilities.experimental = EXPERIMENTAL
        self._flowsight_capabilities = capabilities


class FlowsightServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "flowsight", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental, protocol_cls=FlowsightProtocol
        )
        self.session = Session(self.publish_diagnostics, self.log_to_client)

    def publish_diagnostics(self, uri: str, version: int | None, diagnostics: list[types.Diagnostic]) -> None:
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, version=version, diagnostics=diagnostics))

    def log_to_client(self, message: str) -> None:
        self.window_log_message(types.LogMessageParams(type=types.MessageType.Error, message=message))

    def report_server_error(self, error: Exception, source) -> None:  # noqa: ANN001
        # Logged to the client's log, never a pop-up per keystroke.
        log.error("%s: %s", source, error)
        try:
            self.window_log_message(types.LogMessageParams(type=types.MessageType.Error, message=f"flowsight: {error}"))
        except Exception:  # noqa: BLE001 - the transport may be gone
            pass


def create_server() -> FlowsightServer:
    server = FlowsightServer()
    for module in MODULES:
        module.register(server)
    return server
