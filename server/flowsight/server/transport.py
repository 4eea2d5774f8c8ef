"""LSP base-protocol framing over stdio, strict: a message is header lines `Name: value\\r\\n`,
an empty line `\\r\\n`, then exactly Content-Length bytes of body.

A framing error (a missing, duplicate, negative or non-numeric Content-Length, a header line
ending in LF only or without a colon, a header line or body too long, end of input inside a
message) leaves no way to find where the next message starts, so it is logged (stderr) and the
server exits with status 2: the client sees the process end and can restart it. It never stays
alive but deaf. A body that is framed well but is not JSON is answered with ParseError and the
server goes on (see protocol.py).

stdin is read by a daemon thread one message at a time, on demand: the event loop never blocks
on input, a client sending faster than the server handles is held back by the pipe, and a
thread blocked in `read` never keeps the process from exiting.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from typing import BinaryIO

log = logging.getLogger("flowsight.server")

# Longest header line accepted, headers per message, and body size (a 20 MB document in a
# didOpen is framed fine; the document size limit is the session's, see session.py).
MAX_HEADER_LINE = 8192
MAX_HEADERS = 16
MAX_BODY_BYTES = 512 << 20
# Exit status after a framing error.
FRAMING_ERROR_STATUS = 2


class FramingError(Exception):
    pass


def read_message(stream: BinaryIO) -> bytes | None:
    """The next message's body; None at end of input between messages."""
    length: int | None = None
    headers = 0
    while True:
        line = stream.readline(MAX_HEADER_LINE + 1)
        if not line:
            if headers == 0:
                return None
            raise FramingError("end of input inside a message's headers")
        if not line.endswith(b"\r\n"):
            if len(line) > MAX_HEADER_LINE:
                raise FramingError(f"a header line longer than {MAX_HEADER_LINE} bytes")
            if line.endswith(b"\n"):
                raise FramingError(f"header line {line!r} ends with LF only (LSP requires CRLF)")
            raise FramingError(f"end of input inside header line {line!r}")
        if line == b"\r\n":
            if length is None:
                raise FramingError("a message without a Content-Length header")
            break
        headers += 1
        if headers > MAX_HEADERS:
            raise FramingError(f"more than {MAX_HEADERS} header lines")
        name, colon, value = line[:-2].partition(b":")
        if not colon:
            raise FramingError(f"header line {line!r} is not `Name: value`")
        if name.strip().lower() != b"content-length":
            continue  # Content-Type, or a header of a later protocol version
        value = value.strip()
        if length is not None:
            raise FramingError("a duplicate Content-Length header")
        if not value.isdigit():  # bytes.isdigit: ASCII digits only; no sign
            raise FramingError(f"Content-Length {value!r} is not a non-negative integer")
        length = int(value)
        if length > MAX_BODY_BYTES:
            raise FramingError(f"Content-Length {length} is over the {MAX_BODY_BYTES >> 20} MiB limit")
    chunks = []
    remaining = length
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            raise FramingError(f"end of input inside a message body ({length - remaining} of {length} bytes)")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


class StdinMessages:
    """Messages from a binary stream, read in a daemon thread when asked for."""

    def __init__(self, stream: BinaryIO, loop: asyncio.AbstractEventLoop) -> None:
        self.stream = stream
        self.loop = loop
        self.wanted: queue.SimpleQueue[asyncio.Future] = queue.SimpleQueue()
        threading.Thread(target=self._run, name="flowsight-stdin", daemon=True).start()

    def _run(self) -> None:
        while True:
            future = self.wanted.get()
            try:
                result, error = read_message(self.stream), None
            except BaseException as exception:  # noqa: BLE001 - handed to the event loop
                result, error = None, exception
            try:
                self.loop.call_soon_threadsafe(deliver, future, result, error)
            except RuntimeError:  # the loop is closed: the server is exiting
                return
            if error is not None or result is None:
                return

    async def next(self) -> bytes | None:
        future = self.loop.create_future()
        self.wanted.put(future)
        return await future


def deliver(future: asyncio.Future, result: bytes | None, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


async def serve(server, stream: BinaryIO) -> int:  # noqa: ANN001
    """Reads and handles messages until `exit` (its status), end of input (0) or a framing
    error (FRAMING_ERROR_STATUS)."""
    messages = StdinMessages(stream, asyncio.get_running_loop())
    while server.exit_code is None:
        try:
            body = await messages.next()
        except FramingError as error:
            log.error(
                "flowsight: malformed message on the connection: %s; exiting (status %d) so the client can restart the server",
                error,
                FRAMING_ERROR_STATUS,
            )
            return FRAMING_ERROR_STATUS
        except OSError as error:
            log.error("flowsight: cannot read stdin: %s; exiting", error)
            return 1
        if body is None:
            log.info("end of input: exiting")
            return 0
        try:
            server.protocol.handle_body(body)
        except BrokenPipeError:
            log.error("flowsight: the client closed the connection; exiting")
            return 1
        except Exception:  # a bug of ours in handling one message: logged, the server goes on
            log.exception("flowsight: internal error handling a message")
    return server.exit_code
