"""The pygls server: handlers registered per LSP method, errors logged instead of popped up."""

from __future__ import annotations

import asyncio
import logging
import uuid

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
    """Announces the custom `flowsight/slice` request under `experimental` capabilities, and
    pull diagnostics only to a client that pulls them."""

    @property
    def server_capabilities(self) -> types.ServerCapabilities:
        return getattr(self, "_flowsight_capabilities", None)  # type: ignore[return-value]

    @server_capabilities.setter
    def server_capabilities(self, capabilities: types.ServerCapabilities) -> None:
        if capabilities is not None:
            capabilities.experimental = EXPERIMENTAL
            if not getattr(self._server, "session", None) or not self._server.session.pull:
                capabilities.diagnostic_provider = None
        self._flowsight_capabilities = capabilities


class FlowsightServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "flowsight", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental, protocol_cls=FlowsightProtocol
        )
        self.session = Session(self.publish_diagnostics, self.log_to_client, self.show_message)

    def show_message(self, kind: types.MessageType, message: str) -> None:
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def refresh_diagnostics(self) -> None:
        """Asks a pull client to pull again (cross-file findings of open documents changed)."""

        def answered(future) -> None:  # noqa: ANN001
            if not future.cancelled() and future.exception() is not None:
                log.warning("workspace/diagnostic/refresh failed: %s", future.exception())

        self.protocol.send_request(types.WORKSPACE_DIAGNOSTIC_REFRESH, None).add_done_callback(answered)

    async def begin_progress(self, title: str, message: str | None = None, percentage: int | None = None):  # noqa: ANN201
        """Work-done progress the server starts; None when the client declines."""
        token = str(uuid.uuid4())
        try:
            await asyncio.wait_for(self.work_done_progress.create_async(token), timeout=5)
        except Exception as error:  # noqa: BLE001 - a client may refuse or not answer
            log.warning("window/workDoneProgress/create failed: %s", error)
            return None
        self.work_done_progress.begin(token, types.WorkDoneProgressBegin(title=title, message=message, percentage=percentage))
        return Progress(self, token)

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


class Progress:
    def __init__(self, server: FlowsightServer, token: str) -> None:
        self.server = server
        self.token = token

    def report(self, message: str, percentage: int | None = None) -> None:
        self.server.work_done_progress.report(self.token, types.WorkDoneProgressReport(message=message, percentage=percentage))

    def end(self, message: str) -> None:
        self.server.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=message))


def create_server() -> FlowsightServer:
    server = FlowsightServer()
    for module in MODULES:
        module.register(server)
    return server
