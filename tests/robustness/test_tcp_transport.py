"""`flowsight serve --tcp`: one client, with the same strict framing and lifecycle as stdio —
a valid session is served, broken framing is logged and ends the server with status 2."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

from robustness.harness import CPU_SECONDS, LIMITED, MEMORY_LIMIT, environment
from robustness.pipe import frame


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(cwd: Path) -> tuple[subprocess.Popen, socket.socket]:
    port = free_port()
    command = [sys.executable, "-P", str(LIMITED), str(MEMORY_LIMIT), str(CPU_SECONDS), "0"]
    command += [sys.executable, "-P", "-m", "flowsight", "serve", "--tcp", f"127.0.0.1:{port}"]
    process = subprocess.Popen(
        command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment()
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            return process, socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise
            time.sleep(0.1)


def read_message(stream) -> dict:  # noqa: ANN001
    length = None
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    assert length is not None, "the server closed the connection"
    return json.loads(stream.read(length))


def test_a_session_over_tcp_is_served_and_ends_with_exit(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("x = 1\n")
    process, connection = start(tmp_path)
    with connection:
        stream = connection.makefile("rb")
        initialize = {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}
        connection.sendall(frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": initialize}))
        while (reply := read_message(stream)).get("id") != 1:
            pass
        assert "capabilities" in reply["result"]
        connection.sendall(frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
        connection.sendall(frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
        while (reply := read_message(stream)).get("id") != 2:
            pass
        assert reply["result"] is None
        connection.sendall(frame({"jsonrpc": "2.0", "method": "exit"}))
        assert process.wait(timeout=20) == 0


def test_broken_framing_over_tcp_is_logged_and_ends_the_server(tmp_path: Path) -> None:
    process, connection = start(tmp_path)
    with connection:
        connection.sendall(b"Content-Length: -5\r\n\r\n{}")
        assert process.wait(timeout=20) == 2
    assert b"malformed message on the connection" in process.stderr.read()
