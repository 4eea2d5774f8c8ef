"""The language server: `python -m flowsight serve`. Only this package (and `positions`) knows
LSP. One module per LSP method under `handlers/`; `session.py` holds the live index and the
analysis scheduling; `diagnostics.py` turns findings into LSP diagnostics."""

from flowsight.server.app import create_server

__all__ = ["create_server"]
