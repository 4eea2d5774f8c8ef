"""The protocol edge over raw pipes (issue 15, "Hangs and leaks in the server"): every request
gets an answer — InvalidParams for params that fail validation, ParseError for a body that is
not JSON —, the lifecycle follows the LSP specification, and broken framing makes the server
log a line and exit non-zero within seconds instead of staying alive but deaf."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from robustness.pipe import PipeServer, frame

INVALID_PARAMS = -32602
INVALID_REQUEST = -32600
PARSE_ERROR = -32700
SERVER_NOT_INITIALIZED = -32002

HOVER = {"textDocument": {"uri": "file:///nowhere/x.py"}, "position": {"line": 0, "character": 0}}


@pytest.fixture
def server(tmp_path: Path):
    process = PipeServer(tmp_path)
    yield process
    process.close()


def error_code(response: dict) -> int:
    assert "error" in response, response
    return response["error"]["code"]


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("textDocument/hover", {**HOVER, "position": {"line": -1, "character": 0}}),
        ("textDocument/hover", {"textDocument": {"uri": "file:///x.py"}}),
        (
            "textDocument/codeAction",
            {"textDocument": {"uri": "file:///x.py"}, "range": {"start": HOVER["position"], "end": HOVER["position"]}},
        ),
        ("textDocument/documentHighlight", {**HOVER, "position": {"line": "zero", "character": 0}}),
        ("workspace/executeCommand", {"command": "flowsight.slice", "arguments": 5}),
        ("workspace/executeCommand", {"arguments": [1]}),
        ("textDocument/documentSymbol", None),
    ],
)
def test_a_request_whose_params_fail_validation_gets_invalid_params(server: PipeServer, tmp_path: Path, method: str, params) -> None:  # noqa: ANN001
    server.initialize(tmp_path)
    response = server.call(method, params)
    assert error_code(response) == INVALID_PARAMS
    assert response["error"]["message"].lower().startswith("invalid params")
    # And the server goes on.
    assert "result" in server.call("textDocument/hover", HOVER)


@pytest.mark.parametrize(
    "arguments",
    [
        [{"uri": "file:///x.py"}],
        [{"uri": "file:///x.py", "position": [0, 0]}],
        [{"uri": "file:///x.py", "position": {"line": 2**70, "character": 0}}],
        [{"uri": "file:///x.py", "position": {"line": True, "character": 0}}],
        [{"uri": "file:///x.py", "position": {"line": 0, "character": 0}, "direction": ["up"]}],
        [1, 2],
        ["x"],
    ],
)
def test_bad_command_arguments_get_invalid_params_not_internal_error(server: PipeServer, tmp_path: Path, arguments: list) -> None:
    (tmp_path / "app.py").write_text("x = 1\n")
    server.initialize(tmp_path)
    response = server.call("workspace/executeCommand", {"command": "flowsight.slice", "arguments": arguments})
    assert error_code(response) == INVALID_PARAMS


def test_initialize_with_null_params_gets_invalid_params_and_a_valid_initialize_still_works(server: PipeServer, tmp_path: Path) -> None:
    assert error_code(server.call("initialize", None)) == INVALID_PARAMS
    assert error_code(server.call("textDocument/hover", HOVER)) == SERVER_NOT_INITIALIZED
    result = server.initialize(tmp_path)
    assert "capabilities" in result["result"]
    assert error_code(server.call("initialize", {"processId": None, "capabilities": {}, "rootUri": None})) == INVALID_REQUEST


def test_the_lifecycle_follows_the_specification(server: PipeServer, tmp_path: Path) -> None:
    # Before initialize: requests get ServerNotInitialized, notifications are dropped.
    assert error_code(server.call("textDocument/hover", HOVER)) == SERVER_NOT_INITIALIZED
    assert error_code(server.call("workspace/executeCommand", {"command": "flowsight.reindex"})) == SERVER_NOT_INITIALIZED
    server.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": (tmp_path / "a.py").as_uri(), "languageId": "python", "version": 1, "text": "x = 1\n"}},
    )
    server.initialize(tmp_path)
    status = server.call("flowsight/status")["result"]
    assert status["openDocuments"] == 0  # the didOpen before initialize was dropped
    assert server.call("shutdown")["result"] is None
    # After shutdown: requests are invalid.
    assert error_code(server.call("textDocument/hover", HOVER)) == INVALID_REQUEST
    assert error_code(server.call("flowsight/status")) == INVALID_REQUEST
    server.notify("exit")
    assert server.wait(10) == 0


def test_exit_without_shutdown_exits_with_status_1(server: PipeServer, tmp_path: Path) -> None:
    server.initialize(tmp_path)
    server.notify("exit")
    assert server.wait(10) == 1


def test_exit_before_initialize_exits_with_status_1(server: PipeServer) -> None:
    server.notify("exit")
    assert server.wait(10) == 1


def test_a_body_that_is_not_json_gets_parse_error_and_the_server_goes_on(server: PipeServer, tmp_path: Path) -> None:
    server.initialize(tmp_path)
    for body in (b"{not json", b"\xff\xfe", b""):
        server.send(frame(body))
        message = server.next_message(deadline=time.monotonic() + 10)
        assert message is not None and message["error"]["code"] == PARSE_ERROR and message["id"] is None, message
    for body in (b"[]", b"5", b'{"id": 3, "method": "textDocument/hover"}'):
        server.send(frame(body))
        message = server.next_message(deadline=time.monotonic() + 10)
        assert message is not None and message["error"]["code"] == INVALID_REQUEST, message
    assert "result" in server.call("textDocument/hover", HOVER)
    assert b"not JSON" in server.stderr or b"ParseError" in server.stderr


VALID = frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "capabilities": {}, "rootUri": None}})
BODY = VALID.split(b"\r\n\r\n", 1)[1]


@pytest.mark.parametrize(
    ("case", "data"),
    [
        ("non-numeric Content-Length", b"Content-Length: abc\r\n\r\n" + BODY),
        ("negative Content-Length", b"Content-Length: -5\r\n\r\n" + BODY),
        ("missing Content-Length", b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n" + BODY),
        ("duplicate Content-Length", b"Content-Length: %d\r\nContent-Length: %d\r\n\r\n" % (len(BODY), len(BODY)) + BODY),
        ("LF-only headers", b"Content-Length: %d\n\n" % len(BODY) + BODY),
        ("header without a colon", b"Content-Length %d\r\n\r\n" % len(BODY) + BODY),
        ("a header line without end", b"Content-Length: " + b"9" * 20000),
        ("a Content-Length over the limit", b"Content-Length: 99999999999999\r\n\r\n" + BODY),
    ],
)
def test_broken_framing_is_logged_and_the_server_exits_non_zero(server: PipeServer, case: str, data: bytes) -> None:
    server.send(data)
    # What follows would be a valid request: the server must not sit there deaf.
    server.send(VALID)
    status = server.wait(10)
    assert status != 0, case
    assert b"malformed message on the connection" in server.stderr, server.stderr[-2000:]


def test_framing_broken_after_a_valid_session_also_exits_non_zero(server: PipeServer, tmp_path: Path) -> None:
    server.initialize(tmp_path)
    server.send(b"Content-Length: 10\r\nContent-Length: 12\r\n\r\n")
    server.send(VALID)
    assert server.wait(10) == 2
    assert b"duplicate Content-Length" in server.stderr


def test_end_of_input_inside_a_message_exits_non_zero_and_between_messages_exits_0(tmp_path: Path) -> None:
    cut = PipeServer(tmp_path)
    try:
        cut.send(VALID[: len(VALID) - 5])
        assert cut.process.stdin is not None
        cut.process.stdin.close()
        assert cut.wait(10) == 2
        assert b"end of input inside a message body" in cut.stderr
    finally:
        cut.close()
    clean = PipeServer(tmp_path)
    try:
        clean.send(VALID)
        assert "result" in clean.response(1)
        assert clean.process.stdin is not None
        clean.process.stdin.close()
        assert clean.wait(10) == 0
    finally:
        clean.close()


def test_headers_of_other_names_and_any_case_are_accepted(server: PipeServer, tmp_path: Path) -> None:
    server.send(b"content-length: %d\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\nX-Other: 1\r\n\r\n" % len(BODY) + BODY)
    assert "result" in server.response(1)
