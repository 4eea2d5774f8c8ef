"""Settings: `[tool.flowsight]` of each folder's project ⊕ initializationOptions ⊕
`workspace/configuration` (only when the client declares it) ⊕ `workspace/didChangeConfiguration`.
Keys: `rules` (a rules file), `disable` (rule ids), `severity` ({rule: level}), `exclude` (globs),
`syntaxErrors` (error | warning | information | hint | off), `logLevel`. How they combine is in
settings.py. Bad settings are shown (window/showMessage) and ignored key by key, never fatal;
keys of editor extensions (`serverCommand`, `interpreter`, `trace`, …) are accepted silently."""

from __future__ import annotations

import logging
from typing import Any

from lsprotocol import types

from flowsight.server.settings import parse_client_settings

log = logging.getLogger("flowsight.server")


def apply_settings(server, settings: Any) -> None:  # noqa: ANN001
    client, problems = parse_client_settings(settings)
    if client.log_level is not None:
        logging.getLogger("flowsight").setLevel(client.log_level)
    server.session.set_client_settings(client)
    for problem in problems:
        server.session.problem(types.MessageType.Warning, problem)


async def fetch_configuration(server) -> None:  # noqa: ANN001
    capabilities = server.client_capabilities
    if not (capabilities.workspace and capabilities.workspace.configuration):
        return
    try:
        [settings] = await server.workspace_configuration_async(
            types.ConfigurationParams(items=[types.ConfigurationItem(section="flowsight")])
        )
    except Exception as error:  # noqa: BLE001 - a client may refuse; defaults stay
        log.warning("workspace/configuration failed: %s", error)
        return
    if settings is not None:
        apply_settings(server, settings)


def register(server) -> None:  # noqa: ANN001
    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(params: types.DidChangeConfigurationParams) -> None:
        settings = params.settings
        if isinstance(settings, dict) and isinstance(settings.get("flowsight"), dict):
            apply_settings(server, settings["flowsight"])
        else:
            await fetch_configuration(server)
        server.session.generation += 1
        server.session.schedule(announce=True)
