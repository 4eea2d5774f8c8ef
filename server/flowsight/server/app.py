"""The pygls server: handlers registered per LSP method, errors logged instead of popped up."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import uuid
from typing import BinaryIO

from lsprotocol import types
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer

from flowsight import __version__
from flowsight._native import lower_shared_pool_priority
from flowsight.server import transport
from flowsight.server.handlers import MODULES
from flowsight.server.protocol import FlowsightProtocol
from flowsight.server.session import BACKGROUND_NICENESS, Session

log = logging.getLogger("flowsight.server")


class FlowsightServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "flowsight", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental, protocol_cls=FlowsightProtocol
        )
        self.session = Session(self.publish_diagnostics, self.log_to_client, self.show_message)
        # Set while `start_io` runs its own message loop (transport.py), and the status `exit` chose.
        self.serving = False
        self.exit_code: int | None = None

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> int:  # type: ignore[override]
        """Serves over stdio with strict framing (transport.py); returns the exit status: that of
        `exit` (0 after `shutdown`, else 1), 0 at end of input, 2 after a framing error.
        Worker threads still running (an analysis) are not waited for: the caller exits."""
        self._stop_event = threading.Event()
        # The workspace analysis and indexing yield the cores to the open documents' analysis.
        lower_shared_pool_priority(BACKGROUND_NICENESS)
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        self.serving = True
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(transport.serve(self, stdin or sys.stdin.buffer))
        except BrokenPipeError:
            log.error("flowsight: the client closed the connection; exiting")
            return 1
        finally:
            self.serving = False
            self._stop_event.set()
            loop.close()

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
