"""Settings: defaults ⊕ initializationOptions ⊕ `workspace/configuration` (only when the client
declares it) ⊕ `workspace/didChangeConfiguration`. Keys: `rules` (a rules file), `disable`
(rule ids), `severity` ({rule: level}), `exclude` (globs), `logLevel`. Bad settings are logged
and ignored, never fatal."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from lsprotocol import types

from flowsight.config import config_from_table
from flowsight.errors import ConfigError

log = logging.getLogger("flowsight.server")


def apply_settings(server, settings: Any) -> None:  # noqa: ANN001
    if not isinstance(settings, dict):
        return
    settings = dict(settings)
    level = settings.pop("logLevel", None)
    if isinstance(level, str):
        logging.getLogger("flowsight").setLevel(level.upper())
    try:
        config = config_from_table(settings, origin="client settings", base_directory=Path.cwd())
    except ConfigError as error:
        server.window_log_message(types.LogMessageParams(type=types.MessageType.Warning, message=f"flowsight: {error}"))
        return
    server.session.settings = {
        "rules": config.rules_file,
        "disable": list(config.disabled_rules),
        "exclude": list(config.exclude),
        "severity": dict(config.severity_overrides),
    }


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
        server.session.schedule()
