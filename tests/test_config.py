"""[tool.flowsight] in pyproject.toml: valid tables load; invalid ones name file and key."""

from pathlib import Path

import pytest

from flowsight.config import ProjectConfig, find_pyproject, load_project_config
from flowsight.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(text, encoding="utf-8")
    return pyproject


def test_full_table_loads(tmp_path: Path) -> None:
    pyproject = write(
        tmp_path,
        """
[tool.flowsight]
rules = "sec/rules.toml"
disable = ["PY-LOG-INJECTION"]
exclude = ["tests/**"]
severity = { "PY-SSRF" = "warning" }
roots = ["lib", "vendor/py"]
""",
    )
    config = load_project_config(pyproject)
    assert config.roots == ("lib", "vendor/py")
    assert config.rules_file == str((tmp_path / "sec/rules.toml").resolve())
    assert config.disabled_rules == ("PY-LOG-INJECTION",)
    assert config.severity_overrides == {"PY-SSRF": "warning"}
    # Gitignore-style, relative to the pyproject.toml's directory.
    assert config.excludes() == [(str(tmp_path), ["tests/**"])]
    assert config.is_excluded(tmp_path / "tests/unit/test_a.py")
    assert not config.is_excluded(tmp_path / "app/views.py")
    assert not config.is_excluded(tmp_path / "app/tests/test_b.py")


def test_missing_table_gives_defaults(tmp_path: Path) -> None:
    config = load_project_config(write(tmp_path, "[project]\nname = 'x'\n"))
    assert (config.rules_file, config.disabled_rules, config.exclude) == (None, (), ())


def test_nearest_pyproject_is_found_from_a_subdirectory(tmp_path: Path) -> None:
    pyproject = write(tmp_path, "")
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    assert find_pyproject(tmp_path / "pkg" / "sub") == pyproject


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("[tool.flowsight]\nrules = 3\n", "tool.flowsight.rules must be a path string"),
        ("[tool.flowsight]\ndisable = 'PY-SQLI'\n", "tool.flowsight.disable must be a list of strings"),
        ("[tool.flowsight]\nseverity = { 'PY-SQLI' = 'fatal' }\n", "tool.flowsight.severity.PY-SQLI = 'fatal'"),
        ("[tool.flowsight]\nexcludes = []\n", "unknown key(s) in [tool.flowsight]: excludes"),
        ("[tool.flowsight\n", "invalid TOML"),
        ("tool = 1\n", "`tool` must be a table, not an integer"),
        ("[tool]\nflowsight = 'on'\n", "[tool.flowsight] must be a table, not a string"),
        ("x = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
        ('[tool.flowsight]\nrules = "a\\u0000b"\n', "not a usable path"),
        ("[tool.flowsight]\nroots = 'src'\n", "tool.flowsight.roots must be a list of strings"),
        ("[tool.flowsight]\nroots = ['../shared']\n", "roots: '../shared' is not a directory inside the project"),
        ("[tool.flowsight]\nroots = ['/opt/lib']\n", "roots: '/opt/lib' is not a directory inside the project"),
    ],
)
def test_invalid_configuration_names_file_and_key(tmp_path: Path, body: str, problem: str) -> None:
    pyproject = write(tmp_path, body)
    with pytest.raises(ConfigError) as raised:
        load_project_config(pyproject)
    assert str(pyproject) in str(raised.value)
    assert problem in str(raised.value)


def test_no_pyproject_gives_defaults() -> None:
    assert load_project_config(None) == ProjectConfig()
