"""Project configuration: the `[tool.flowsight]` table of a `pyproject.toml`.

    [tool.flowsight]
    rules = "security/rules.toml"     # extra rule pack, relative to the pyproject's directory
    disable = ["PY-LOG-INJECTION"]    # rule ids switched off
    exclude = ["tests/**", "build/**"]  # glob patterns of paths not analysed
    severity = { "PY-SSRF" = "warning" }  # per-rule severity override
    cache = ".cache/flowsight"        # the persistent cache's directory (false: no cache)

Invalid configuration raises `flowsight.errors.ConfigError` naming the file and the key;
nothing is half-applied. That includes a pyproject.toml that cannot be read, is not TOML, is
nested too deeply to parse, or whose `tool` is not a table.
"""

from __future__ import annotations

import fnmatch
import reprlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from flowsight.errors import ConfigError

SEVERITIES = ("error", "warning", "info")
MAX_PYPROJECT_BYTES = 16 * 1024 * 1024
TOML_TYPES = {str: "a string", int: "an integer", float: "a float", bool: "a boolean", list: "an array", dict: "a table"}


def toml_type(value: object) -> str:
    return TOML_TYPES.get(type(value), f"a {type(value).__name__}")


@dataclass(frozen=True)
class ProjectConfig:
    rules_file: str | None = None
    disabled_rules: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    severity_overrides: dict[str, str] = field(default_factory=dict)
    search: dict = field(default_factory=dict)  # [tool.flowsight.search]: see flowsight.search.settings
    cache: str | bool | None = None  # a directory (absolute), False for no cache, None for the default
    source: str | None = None  # the pyproject.toml it came from, if any

    def is_excluded(self, relative_path: str) -> bool:
        return any(fnmatch.fnmatch(relative_path, pattern) for pattern in self.exclude)


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above `start` (a file or directory). Raises ConfigError
    when one exists but cannot be looked at (a directory on the way that cannot be searched)."""
    directory = start if start.is_dir() else start.parent
    for candidate in [directory, *directory.parents]:
        pyproject = candidate / "pyproject.toml"
        try:
            if pyproject.is_file():
                return pyproject
        except OSError as error:
            raise ConfigError(f"{pyproject}: cannot read: {error.strerror or error}") from None
    return None


def load_project_config(pyproject: Path | None) -> ProjectConfig:
    if pyproject is None:
        return ProjectConfig()
    try:
        with pyproject.open("rb") as file:
            data = file.read(MAX_PYPROJECT_BYTES + 1)
        if len(data) > MAX_PYPROJECT_BYTES:
            raise ConfigError(f"{pyproject}: over {MAX_PYPROJECT_BYTES // (1024 * 1024)} MiB; not read")
        document = tomllib.loads(data.decode("utf-8"))
    except OSError as error:
        raise ConfigError(f"{pyproject}: cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{pyproject}: not UTF-8: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{pyproject}: invalid TOML: {error}") from None
    except RecursionError:
        raise ConfigError(f"{pyproject}: invalid TOML: arrays or tables nested too deeply to read") from None
    tool = document.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{pyproject}: `tool` must be a table, not {toml_type(tool)}")
    table = tool.get("flowsight")
    if table is None:
        return ProjectConfig(source=str(pyproject))
    return config_from_table(table, origin=str(pyproject), base_directory=pyproject.parent)


def config_from_table(table: object, origin: str, base_directory: Path) -> ProjectConfig:
    """Validates a `[tool.flowsight]`-shaped mapping (also used for editor settings)."""
    if not isinstance(table, dict):
        raise ConfigError(f"{origin}: [tool.flowsight] must be a table, not {toml_type(table)}")
    known = {"rules", "disable", "exclude", "severity", "search", "cache"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"{origin}: unknown key(s) in [tool.flowsight]: {', '.join(unknown)} (known: {', '.join(sorted(known))})")

    rules = table.get("rules")
    if rules is not None and not isinstance(rules, str):
        raise ConfigError(f"{origin}: tool.flowsight.rules must be a path string")
    try:
        rules_file = str((base_directory / rules).resolve()) if rules else None
    except (OSError, RuntimeError, ValueError) as error:  # a NUL in the name, a symbolic link loop
        raise ConfigError(f"{origin}: tool.flowsight.rules = {rules!r}: not a usable path ({error})") from None

    def string_list(key: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{origin}: tool.flowsight.{key} must be a list of strings")
        return tuple(value)

    severity = table.get("severity", {})
    if not isinstance(severity, dict):
        raise ConfigError(f"{origin}: tool.flowsight.severity must be a table of rule id = severity")
    for rule_id, level in severity.items():
        if level not in SEVERITIES:
            raise ConfigError(
                f"{origin}: tool.flowsight.severity.{rule_id} = {reprlib.repr(level)}: expected one of {', '.join(SEVERITIES)}"
            )

    search = table.get("search", {})
    if not isinstance(search, dict):
        raise ConfigError(f"{origin}: tool.flowsight.search must be a table (see flowsight search's settings)")
    if search:
        from flowsight.search.settings import SearchSettings

        SearchSettings.from_mapping(search, f"{origin}: [tool.flowsight.search]")  # a bad key or value is reported now

    cache = table.get("cache")
    if cache is not None and not (cache is False or isinstance(cache, str) and cache):
        raise ConfigError(f"{origin}: tool.flowsight.cache must be a directory path string or false")
    if isinstance(cache, str):
        try:
            cache = str((base_directory / cache).resolve())
        except (OSError, RuntimeError, ValueError) as error:
            raise ConfigError(f"{origin}: tool.flowsight.cache = {cache!r}: not a usable path ({error})") from None

    return ProjectConfig(
        cache=cache,
        rules_file=rules_file,
        disabled_rules=string_list("disable"),
        exclude=string_list("exclude"),
        severity_overrides=dict(severity),
        search=dict(search),
        source=origin,
    )
