"""`flowsight serve [--stdio | --tcp HOST:PORT]`: the language server (stdio by default)."""

from __future__ import annotations

import argparse

from flowsight.commands.common import fail


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="run the language server (stdio by default)")
    parser.add_argument("--stdio", action="store_true", help="talk LSP over stdin/stdout (the default)")
    parser.add_argument("--tcp", metavar="HOST:PORT", help="listen on a TCP address instead")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from flowsight.server import create_server

    server = create_server()
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        if not host or not port.isdigit():
            return fail(f"--tcp takes HOST:PORT, got {args.tcp!r}")
        server.start_tcp(host, int(port))
    else:
        server.start_io()
    return 0
