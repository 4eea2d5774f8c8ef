"""Project configuration: the `[tool.flowsight]` table of a `pyproject.toml`.

    [tool.flowsight]
    rules = "security/rules.toml"     # extra rule pack, relative to the pyproject's directory
    disable = ["PY-LOG-INJECTION"]    # rule ids switched off
    exclude = ["tests/", "build/**"]  # gitignore-style globs (relative to this file's directory) of paths not analysed
    severity = { "PY-SSRF" = "warning" }  # per-rule severity override
    threat-models = ["remote", "local"]  # sources counted: remote (default), local, database, all
    cache = ".cache/flowsight"        # the persistent cache's directory (false: no cache)
    roots = ["lib"]                   # directories module names start from, besides the project root

Source roots are found as Python's packaging tools find them (a `src/` directory that is not a
package, `[tool.setuptools] package-dir`, `packages.find.where`, Poetry's and Hatch's settings;
the core's `walk::source_roots` reads them): `roots` adds more.

Invalid configuration raises `flowsight.errors.ConfigError` naming the file and the key;
nothing is half-applied. That includes a pyproject.toml that cannot be read, is not TOML, is
nested too deeply to parse, or whose `tool` is not a table.
"""

from __future__ import annotations

import reprlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from flowsight.errors import ConfigError
from flowsight.files import UnreadableFile, read_regular_file

SEVERITIES = ("error", "warning", "info")
# Threat models (as CodeQL names them): which sources count. `remote` alone by default.
THREAT_MODELS = ("remote", "local", "database")
DEFAULT_THREAT_MODELS = ("remote",)
MAX_PYPROJECT_BYTES = 16 * 1024 * 1024
TOML_TYPES = {str: "a string", int: "an integer", float: "a float", bool: "a boolean", list: "an array", dict: "a table"}


def toml_type(value: object) -> str:
    return TOML_TYPES.get(type(value), f"a {type(value).__name__}")


@dataclass(frozen=True)
class ProjectConfig:
    rules_file: str | None = None
    disabled_rules: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    roots: tuple[str, ...] = ()  # extra source roots (the core reads them from the pyproject.toml itself)
    severity_overrides: dict[str, str] = field(default_factory=dict)
    threat_models: tuple[str, ...] = DEFAULT_THREAT_MODELS
    search: dict = field(default_factory=dict)  # [tool.flowsight.search]: see flowsight.search.settings
    cache: str | bool | None = None  # a directory (absolute), False for no cache, None for the default
    source: str | None = None  # the pyproject.toml it came from, if any

    def excludes(self) -> list[tuple[str, list[str]]]:
        """The `exclude` patterns as the core's file walker takes them: relative to the
        directory of the pyproject.toml they come from (as a .gitignore's are to its own)."""
        if not self.exclude or self.source is None:
            return []
        return [(str(Path(self.source).parent), list(self.exclude))]

    def is_excluded(self, path: Path, is_dir: bool = False) -> bool:
        """Whether the file walker leaves out `path` (absolute) for `exclude`."""
        from flowsight._native import is_excluded

        return bool(self.exclude) and is_excluded(str(path), is_dir, self.excludes())


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
        # A regular file only, opened without blocking or following a link swapped in (files.py).
        data = read_regular_file(pyproject, limit=MAX_PYPROJECT_BYTES)
        document = tomllib.loads(data.decode("utf-8"))
    except UnreadableFile as error:
        raise ConfigError(f"{pyproject}: {error.strerror}") from None
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
    known = {"rules", "disable", "exclude", "severity", "search", "threat-models", "cache", "roots"}
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

    threat_models = DEFAULT_THREAT_MODELS
    if "threat-models" in table:
        threat_models = parse_threat_models(string_list("threat-models"), f"{origin}: tool.flowsight.threat-models")

    search = table.get("search", {})
    if not isinstance(search, dict):
        raise ConfigError(f"{origin}: tool.flowsight.search must be a table (see flowsight search's settings)")
    if search:
        from flowsight.search.settings import SearchSettings

        SearchSettings.from_mapping(search, f"{origin}: [tool.flowsight.search]")  # a bad key or value is reported now

    roots = string_list("roots")
    for root in roots:
        parts = root.replace("\\", "/").split("/")
        if not root.strip() or root.startswith(("/", "\\")) or ":" in root or ".." in parts:
            raise ConfigError(
                f"{origin}: tool.flowsight.roots: {root!r} is not a directory inside the project (a relative path without `..`)"
            )

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
        roots=roots,
        severity_overrides=dict(severity),
        threat_models=threat_models,
        search=dict(search),
        source=origin,
    )


def parse_threat_models(names: list[str] | tuple[str, ...], where: str) -> tuple[str, ...]:
    """Threat model names checked and put in canonical order (`all` names every one); raises
    ConfigError naming `where` for an unknown name or an empty list."""
    unknown = [name for name in names if name != "all" and name not in THREAT_MODELS]
    if unknown:
        raise ConfigError(f"{where}: unknown threat model(s) {', '.join(map(repr, unknown))} (known: {', '.join(THREAT_MODELS)}, all)")
    if not names:
        raise ConfigError(f"{where}: name at least one threat model (known: {', '.join(THREAT_MODELS)}, all)")
    return tuple(model for model in THREAT_MODELS if model in names or "all" in names)
