"""The JSON-RPC/LSP edge on top of pygls: every request gets an answer, the lifecycle follows the
LSP specification, and nothing is kept per message once it is handled.

- A message whose params fail validation (a negative line, a missing required field, `null`
  params) is answered with InvalidParams (-32602) when it is a request, logged when it is a
  notification; a reply from the client that fails validation fails the request waiting for it.
  A body that is not JSON gets ParseError (-32700), a JSON value that is not a JSON-RPC 2.0
  message InvalidRequest (-32600). pygls itself drops all of these silently.
- Lifecycle: before `initialize`, requests get ServerNotInitialized (-32002) and notifications
  are dropped (except `exit`); a second `initialize` gets InvalidRequest; after `shutdown`,
  requests get InvalidRequest (-32600) and notifications are dropped; `exit` stops the server
  with status 0 after `shutdown`, 1 without (`FlowsightServer.exit_code`).
- pygls keeps the future of every handled notification in `_request_futures` under a fresh id
  that nothing ever removes (≈2.3 KB per didChange): a handler's entry is dropped when it is done.
- The server capabilities: `experimental` announces `flowsight/slice`, `flowsight/status` and
  `flowsight/search`; pull diagnostics only to a client that pulls them.
- Open documents are kept in the session's `Documents` (documents.py), not in pygls' workspace:
  pygls re-splits and re-joins the whole text on every change (with `str.splitlines`, which
  breaks lines where LSP does not). A didChange of a document that is not open is dropped
  (pygls would read the file from disk, on the event loop: a FIFO blocks forever).
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import Future
from typing import Any

from cattrs import transform_error
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcInvalidRequest, JsonRpcParseError
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.json_rpc import JsonRPCProtocol
from pygls.protocol.language_server import lsp_method

log = logging.getLogger("flowsight.server")

SERVER_NOT_INITIALIZED = -32002

EXPERIMENTAL = {
    "flowsight": {
        "requests": ["flowsight/slice", "flowsight/status", "flowsight/search"],
        "commands": ["flowsight.slice", "flowsight.showSlice", "flowsight.explainTaint", "flowsight.reindex", "flowsight.search"],
    }
}


class Unusable:
    """A JSON object received as a message that cannot be handled as one (its params failed
    validation, or it is not JSON-RPC 2.0); `error` is what a request is answered with."""

    def __init__(self, data: Any, error: JsonRpcException) -> None:
        self.data = data
        self.error = error


def summary(error: BaseException) -> str:
    """What failed validation, one short line (cattrs' own description of the errors)."""
    cause = error.__cause__ or error
    try:
        notes = transform_error(cause) if isinstance(cause, BaseExceptionGroup) else [str(cause)]
    except Exception:  # noqa: BLE001 - a description only
        notes = [str(cause)]
    return "; ".join(notes[:5])[:1000] or "the message does not match its method's parameters"


class FlowsightProtocol(LanguageServerProtocol):
    def __init__(self, server, converter) -> None:  # noqa: ANN001
        super().__init__(server, converter)
        self._initialize_received = False

    # ------------------------------------------------------------------ capabilities
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

    # ------------------------------------------------------------------ receiving
    def handle_body(self, body: bytes) -> None:
        """One framed message body (see transport.py)."""
        try:
            message = json.loads(body, object_hook=self.structure_message)
        except (ValueError, RecursionError) as error:  # not JSON (UnicodeDecodeError is a ValueError)
            log.error("a message body is not JSON (%s): answered ParseError", error)
            self._send_error(None, JsonRpcParseError(message=f"Parse error: {error}"))
            return
        self.handle_message(message)

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            # pygls logged the validation error; the message is answered in handle_message.
            reason = summary(error)
            return Unusable(data, JsonRpcInvalidParams(message=f"Invalid params: {reason}"))

    def handle_message(self, message: Any) -> None:
        if isinstance(message, Unusable):
            data, error = message.data, message.error
        elif not hasattr(message, "jsonrpc") or message.jsonrpc != JsonRPCProtocol.VERSION:
            data, error = message, JsonRpcInvalidRequest(message="Invalid request: not a JSON-RPC 2.0 message")
        else:
            data, error = None, None
        if data is not None:
            self._reject(data, error)
            return
        method = getattr(message, "method", None)
        request = method is not None and hasattr(message, "id")
        if method is not None and method != types.EXIT:
            refusal = self._lifecycle(method, request)
            if refusal is not None:
                if request:
                    log.warning("request %r (id %r) refused: %s", method, message.id, refusal.message)
                    self._send_error(message.id, refusal)
                else:
                    log.warning("notification %r dropped: %s", method, refusal.message)
                return
            if method == types.INITIALIZE:
                self._initialize_received = True
        super().handle_message(message)

    def _lifecycle(self, method: str, request: bool) -> JsonRpcException | None:
        """Why a message may not be handled now (None: it may)."""
        if self._shutdown:
            return JsonRpcInvalidRequest(message=f"Invalid request: the server is shut down ({method})")
        if not self._initialize_received:
            if method == types.INITIALIZE and request:
                return None
            return JsonRpcException(code=SERVER_NOT_INITIALIZED, message=f"Server not initialized: {method} before initialize")
        if method == types.INITIALIZE:
            return JsonRpcInvalidRequest(message="Invalid request: initialize was already received")
        return None

    def _reject(self, data: Any, error: JsonRpcException) -> None:
        """Answers a request that cannot be handled; fails our request a bad reply answers."""
        fields = data if isinstance(data, dict) else {}
        method = fields.get("method")
        msg_id = fields.get("id")
        if not isinstance(msg_id, (str, int)) or isinstance(msg_id, bool):
            msg_id = None
        if isinstance(method, str):
            if "id" not in fields:
                log.warning("notification %r dropped: %s", method, error.message)
                return
            refusal = self._lifecycle(method, True) if method != types.EXIT else None
            error = refusal or error
            log.warning("request %r (id %r) answered with error %s: %s", method, msg_id, error.code, error.message)
            self._send_error(msg_id, error)
            return
        if "id" in fields and ("result" in fields or "error" in fields):
            future = self._request_futures.pop(msg_id, None) if msg_id is not None else None
            log.warning("a reply (id %r) failed validation: %s", msg_id, error.message)
            if future is not None and not future.done():
                future.set_exception(error)
            return
        log.warning("not a JSON-RPC message, answered InvalidRequest: %.200r", data)
        self._send_error(msg_id, JsonRpcInvalidRequest(message="Invalid request: not a JSON-RPC 2.0 request or notification"))

    def _send_error(self, msg_id: Any, error: JsonRpcException) -> None:
        # A plain object: lsprotocol's ResponseErrorMessage would leave out `"id": null`.
        self._send_data({"jsonrpc": JsonRPCProtocol.VERSION, "id": msg_id, "error": {"code": error.code, "message": error.message}})

    # ------------------------------------------------------------------ handlers
    def _execute_handler(self, msg_id, handler, callback, args=None, kwargs=None) -> None:  # noqa: ANN001
        """pygls keeps each handler's future under `msg_id`; removed here once it is done (for a
        request pygls removes it too; for a notification nothing else would)."""

        def done(future: Future) -> None:
            if self._request_futures.get(msg_id) is future:
                del self._request_futures[msg_id]
            callback(future)

        super()._execute_handler(msg_id, handler, done, args, kwargs)

    @lsp_method(types.SHUTDOWN)
    def lsp_shutdown(self, *args: Any) -> None:
        """pygls' shutdown (cancel what is in flight, refuse what follows), iterating over a copy:
        a cancelled future's callback removes it (see `_execute_handler`)."""
        current = self.msg_id
        for msg_id, future in list(self._request_futures.items()):
            if msg_id != current and not future.done():
                future.cancel()
        self._shutdown = True

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args: Any) -> Any:
        """Stops the server: status 0 after `shutdown`, 1 without (LSP)."""
        code = 0 if self._shutdown else 1
        server = self._server
        if getattr(server, "serving", False):
            server.exit_code = code
            log.info("exit (status %d)", code)
            return None
        # Not our transport loop (TCP): pygls' own exit.
        return (yield from super().lsp_exit(*args))

    # ------------------------------------------------------------------ documents
    def _user_handler(self, method: str, params: Any) -> Any:
        if (handler := self.fm.features.get(method)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams) -> Any:
        document = params.text_document
        self._server.session.documents.opened(document.uri, document.text, document.version)
        return (yield from self._user_handler(types.TEXT_DOCUMENT_DID_OPEN, params))

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams) -> Any:
        session = self._server.session
        document = session.documents.get(params.text_document.uri)
        if document is None:
            # pygls would read the file from disk to apply the change to (on the event loop).
            log.warning("didChange for a document that is not open, ignored: %s", params.text_document.uri)
            return None
        for change in params.content_changes:
            if isinstance(change, types.TextDocumentContentChangePartial):
                start, end = change.range.start, change.range.end
                document.edit((start.line, start.character), (end.line, end.character), change.text, session.encoding)
            else:
                document.replace(change.text)
        document.version = params.text_document.version
        return (yield from self._user_handler(types.TEXT_DOCUMENT_DID_CHANGE, params))

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams) -> Any:
        self._server.session.documents.closed(params.text_document.uri)
        return (yield from self._user_handler(types.TEXT_DOCUMENT_DID_CLOSE, params))
