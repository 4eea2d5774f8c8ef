"""`flowsight serve` over raw pipes, no LSP client library: bytes in, framed messages out, so
tests can send what no client library would (broken framing, invalid params, requests out of
lifecycle order). The server runs under `limited.py`'s resource limits."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from robustness.harness import CPU_SECONDS, LIMITED, MEMORY_LIMIT, environment

SERVER = [sys.executable, "-P", str(LIMITED), str(MEMORY_LIMIT), str(CPU_SECONDS), "0", sys.executable, "-P", "-m", "flowsight", "serve"]


def frame(message: Any) -> bytes:
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class PipeServer:
    def __init__(self, cwd: Path) -> None:
        self.process = subprocess.Popen(
            SERVER, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment()
        )
        self.messages: queue.SimpleQueue[dict | None] = queue.SimpleQueue()
        self.seen: list[dict] = []
        self.stderr = b""
        threading.Thread(target=self._read_stdout, daemon=True).start()
        self.stderr_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self.stderr_reader.start()
        self.next_id = 1000

    def _read_stdout(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    self.messages.put(None)
                    return
                if line == b"\r\n":
                    break
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            assert length is not None, "the server sent a message without Content-Length"
            self.messages.put(json.loads(stream.read(length)))

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr += line

    # ------------------------------------------------------------------ sending
    def send(self, message: Any) -> None:
        """A message (framed), or raw bytes sent as they are."""
        data = message if isinstance(message, bytes) else frame(message)
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(data)
            self.process.stdin.flush()
        except BrokenPipeError:
            pass  # the server exited; the test checks how

    def request(self, method: str, params: Any = None) -> int:
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        return self.next_id

    def notify(self, method: str, params: Any = None) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def call(self, method: str, params: Any = None, timeout: float = 10.0) -> dict:
        return self.response(self.request(method, params), timeout)

    # ------------------------------------------------------------------ receiving
    def next_message(self, deadline: float) -> dict | None:
        try:
            message = self.messages.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no message from the server in time; stderr:\n{self.stderr.decode(errors='replace')[-3000:]}") from None
        if message is not None:
            self.seen.append(message)
        return message

    def response(self, msg_id: Any, timeout: float = 10.0) -> dict:
        """The response to request `msg_id` (answering the server's own requests meanwhile)."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.next_message(deadline)
            if message is None:
                raise AssertionError(
                    f"the server exited before answering {msg_id!r}; stderr:\n{self.stderr.decode(errors='replace')[-3000:]}"
                )
            if "method" in message and "id" in message:
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})
            elif "method" not in message and message.get("id") == msg_id:
                return message

    def notification(self, method: str, timeout: float = 10.0, where=lambda params: True) -> dict:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        while True:
            message = self.next_message(deadline)
            if message is None:
                raise AssertionError(f"the server exited before sending {method}")
            if "method" in message and "id" in message:
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})
            elif message.get("method") == method and where(message.get("params")):
                return message["params"]

    def initialize(self, folder: Path | None = None, capabilities: dict | None = None) -> dict:
        params: dict[str, Any] = {"processId": None, "capabilities": capabilities or {}, "rootUri": None}
        if folder is not None:
            params["rootUri"] = folder.as_uri()
            params["workspaceFolders"] = [{"uri": folder.as_uri(), "name": folder.name}]
        result = self.call("initialize", params)
        assert "result" in result, result
        self.notify("initialized", {})
        return result

    def wait(self, timeout: float = 10.0) -> int:
        """The exit status (fails if the server does not exit in time)."""
        try:
            status = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the server did not exit; stderr:\n{self.stderr.decode(errors='replace')[-3000:]}") from None
        self.stderr_reader.join(5)  # everything it wrote is in `self.stderr`
        return status

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
