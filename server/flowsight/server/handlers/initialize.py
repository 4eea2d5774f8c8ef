"""`initialize`: settings from initializationOptions, the position encoding pygls negotiated
(UTF-8 when the client offers it, else UTF-16), pull or push diagnostics, and the workspace
folders (each with its project root, see project.py)."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from flowsight.server.handlers.configuration import apply_settings
from flowsight.server.session import uri_to_path


def pulls_diagnostics(capabilities: types.ClientCapabilities) -> bool:
    """Whether the client pulls diagnostics and can be asked to pull again. A flowsight finding
    in an open file can change when another file is edited: without `workspace/diagnostic/refresh`
    a pulled result would go stale, so such clients (Neovim 0.10, 0.11) stay on push."""
    text_document = capabilities.text_document
    workspace = capabilities.workspace
    return bool(
        text_document is not None
        and text_document.diagnostic is not None
        and workspace is not None
        and workspace.diagnostics is not None
        and workspace.diagnostics.refresh_support
    )


def register(server) -> None:  # noqa: ANN001
    @server.feature(types.INITIALIZE)
    def initialize(params: types.InitializeParams) -> None:
        session = server.session
        encoding = server.workspace.position_encoding or types.PositionEncodingKind.Utf16
        session.encoding = {"utf-8": "utf-8", "utf-16": "utf-16", "utf-32": "utf-32"}.get(
            str(getattr(encoding, "value", encoding)), "utf-16"
        )
        session.pull = pulls_diagnostics(params.capabilities)
        session.refresh = server.refresh_diagnostics if session.pull else None
        apply_settings(server, params.initialization_options)
        folders = [uri_to_path(folder.uri) for folder in params.workspace_folders or []]
        if not folders and params.root_uri:
            folders = [uri_to_path(params.root_uri)]
        for folder in folders:
            session.add_folder(Path(folder))
