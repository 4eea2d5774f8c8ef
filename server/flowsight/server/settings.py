"""The server's settings: a project's `[tool.flowsight]` combined with the client's settings.

Client settings (initializationOptions, `workspace/configuration` section `flowsight`,
`workspace/didChangeConfiguration`) are checked key by key: a bad value is reported and that
key ignored, the others still apply. Keys that belong to editor extensions (`serverCommand`,
`interpreter`, `trace`, …) are accepted silently; other unknown keys are reported once.

Combination, per workspace folder (client settings override the project's):
- `rules`: the client's file if it names one (relative to the project root), else the project's;
- `disable`, `exclude`: the project's plus the client's (an editor sending its empty defaults
  changes nothing);
- `severity`: the project's table updated by the client's;
- `threatModels` (`threat-models` in the project): the client's list if it sends one, else the
  project's (default `["remote"]`);
- `syntaxErrors` (client only): "error" | "warning" | "information" | "hint" | "off".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types

from flowsight.config import DEFAULT_THREAT_MODELS, ProjectConfig, config_from_table
from flowsight.errors import ConfigError

# Keys of [tool.flowsight] the client may also send.
PROJECT_KEYS = ("rules", "disable", "exclude", "severity")
# Keys read by editor extensions themselves (never meant for the server): ignored silently.
CLIENT_KEYS = frozenset(
    {"serverCommand", "interpreter", "trace", "path", "importStrategy", "showNotifications", "enable", "args", "cwd", "env"}
)
SYNTAX_SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "information": types.DiagnosticSeverity.Information,
    "info": types.DiagnosticSeverity.Information,
    "hint": types.DiagnosticSeverity.Hint,
    "off": None,
}
DEFAULT_SYNTAX_ERRORS = "error"


@dataclass(frozen=True)
class ClientSettings:
    """What the client set (None: not set)."""

    rules: str | None = None
    disable: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    severity: dict[str, str] = field(default_factory=dict)
    syntax_errors: str | None = None
    log_level: str | None = None
    threat_models: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Settings:
    """What an analysis of one folder uses."""

    rules: str | None = None
    disable: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    severity: dict[str, str] = field(default_factory=dict)
    syntax_errors: str = DEFAULT_SYNTAX_ERRORS
    threat_models: tuple[str, ...] = DEFAULT_THREAT_MODELS

    @property
    def syntax_severity(self) -> types.DiagnosticSeverity | None:
        return SYNTAX_SEVERITY[self.syntax_errors]


def parse_client_settings(raw: Any) -> tuple[ClientSettings, list[str]]:
    """The client's settings and the problems found in them (each naming the key)."""
    # Lua encodes an empty table as `[]` (Neovim's `init_options = {}`): no settings.
    if raw is None or raw == []:
        return ClientSettings(), []
    if not isinstance(raw, dict):
        return ClientSettings(), [f"flowsight: settings must be an object, not {type(raw).__name__}; ignored"]
    problems: list[str] = []
    values: dict[str, Any] = {}
    for key in PROJECT_KEYS:
        if key not in raw or raw[key] is None:
            continue
        try:
            config = config_from_table({key: raw[key]}, origin="client settings", base_directory=Path.cwd())
        except ConfigError as error:
            problems.append(f"flowsight: {str(error).replace('tool.flowsight.', 'flowsight.')}; this setting is ignored")
            continue
        values[key] = {
            # Kept as given: a relative path is relative to each folder's project root.
            "rules": raw[key],
            "disable": config.disabled_rules,
            "exclude": config.exclude,
            "severity": config.severity_overrides,
        }[key]
    threat_models = raw.get("threatModels")
    if threat_models is not None:
        try:
            config = config_from_table({"threat-models": threat_models}, origin="client settings", base_directory=Path.cwd())
            values["threat_models"] = config.threat_models
        except ConfigError as error:
            message = str(error).replace("tool.flowsight.threat-models", "flowsight.threatModels").replace("tool.flowsight.", "flowsight.")
            problems.append(f"flowsight: {message}; this setting is ignored")
    syntax = raw.get("syntaxErrors")
    if syntax is not None:
        if isinstance(syntax, str) and syntax.lower() in SYNTAX_SEVERITY:
            values["syntax_errors"] = "information" if syntax.lower() == "info" else syntax.lower()
        else:
            problems.append(
                f"flowsight: flowsight.syntaxErrors = {syntax!r}: "
                "expected one of error, warning, information, hint, off; this setting is ignored"
            )
    level = raw.get("logLevel")
    if level is not None:
        if isinstance(level, str) and level.upper() in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            values["log_level"] = level.upper()
        else:
            problems.append(f"flowsight: flowsight.logLevel = {level!r}: expected debug, info, warning or error; this setting is ignored")
    unknown = sorted(set(raw) - set(PROJECT_KEYS) - {"syntaxErrors", "logLevel", "threatModels"} - CLIENT_KEYS)
    if unknown:
        known = ", ".join([*PROJECT_KEYS, "threatModels", "syntaxErrors", "logLevel"])
        problems.append(f"flowsight: unknown setting(s) {', '.join(unknown)} (known: {known}); ignored")
    return ClientSettings(**values), problems


def combine(project: ProjectConfig | None, client: ClientSettings, root: Path) -> Settings:
    project = project or ProjectConfig()
    rules = str((root / Path(client.rules).expanduser()).resolve()) if client.rules else project.rules_file
    return Settings(
        rules=rules,
        disable=tuple(dict.fromkeys([*project.disabled_rules, *client.disable])),
        exclude=tuple(dict.fromkeys([*project.exclude, *client.exclude])),
        severity={**project.severity_overrides, **client.severity},
        syntax_errors=client.syntax_errors or DEFAULT_SYNTAX_ERRORS,
        threat_models=client.threat_models if client.threat_models is not None else project.threat_models,
    )
