"""`flowsight serve [--stdio | --tcp HOST:PORT]`: the language server (stdio by default)."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys

from flowsight.commands.common import fail


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="run the language server (stdio by default)")
    parser.add_argument("--stdio", action="store_true", help="talk LSP over stdin/stdout (the default)")
    parser.add_argument("--tcp", metavar="HOST:PORT", help="listen on a TCP address instead (serves one client)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from flowsight.server import create_server

    address = None
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        if not host or not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
            return fail(f"--tcp takes HOST:PORT with a port from 1 to 65535, got {args.tcp!r}")
        address = (host.removeprefix("[").removesuffix("]"), int(port))
    server = create_server()
    if address is not None:
        try:
            family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
            listener = socket.create_server(address, family=family)
        except OSError as error:  # cannot bind: in use, unknown host, not permitted
            return fail(f"--tcp {args.tcp}: {error.strerror or error}")
        # One client, with the same strict framing and lifecycle as stdio (transport.py).
        with listener:
            connection, _ = listener.accept()
        with connection:
            status = server.start_io(connection.makefile("rb"), connection.makefile("wb"))
    else:
        status = server.start_io()
    # Not waiting for worker threads (an analysis in progress, a blocked read): the client
    # asked the server to go, or the connection is unusable.
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
    finally:
        os._exit(status)
