"""`initialize`: settings from initializationOptions, the position encoding pygls negotiated
(UTF-8 when the client offers it, else UTF-16), and the workspace folders."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from flowsight.server.handlers.configuration import apply_settings
from flowsight.server.session import uri_to_path


def register(server) -> None:  # noqa: ANN001
    @server.feature(types.INITIALIZE)
    def initialize(params: types.InitializeParams) -> None:
        session = server.session
        encoding = server.workspace.position_encoding or types.PositionEncodingKind.Utf16
        session.encoding = {"utf-8": "utf-8", "utf-16": "utf-16", "utf-32": "utf-32"}.get(
            str(getattr(encoding, "value", encoding)), "utf-16"
        )
        apply_settings(server, params.initialization_options)
        folders = [uri_to_path(folder.uri) for folder in params.workspace_folders or []]
        if not folders and params.root_uri:
            folders = [uri_to_path(params.root_uri)]
        for folder in folders:
            session.add_folder(Path(folder))
