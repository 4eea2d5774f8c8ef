"""Threat models: `remote` sources by default; `local` and `database` sources opt-in through the
API, `flowsight scan --threat-models`, `[tool.flowsight] threat-models` and the server's
`threatModels` setting; every taint finding names its source's threat model (JSON, SARIF, text).

Fixtures in tests/fixtures/threat_models mark a line `# local: CWE-N` / `# database: CWE-N`: it
has that finding exactly when the threat model is enabled."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import flowsight
from conftest import FIXTURES, REPOSITORY_ROOT
from flowsight.config import ProjectConfig, config_from_table, load_project_config
from flowsight.errors import ConfigError, RuleConfigError
from flowsight.server.settings import ClientSettings, combine, parse_client_settings

CORPUS = FIXTURES / "threat_models"
MARK = re.compile(r"#\s*(local|database):\s*CWE-(\d+)")


def expected(models: set[str]) -> Counter[tuple[str, int, int, str]]:
    """(file, 0-based line, CWE, threat model) of every marked line whose model is in `models`."""
    counts: Counter[tuple[str, int, int, str]] = Counter()
    for path in sorted(CORPUS.glob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            if (match := MARK.search(line)) and match.group(1) in models:
                counts[(path.name, number, int(match.group(2)), match.group(1))] += 1
    return counts


def actual(models: list[str] | None) -> Counter[tuple[str, int, int, str]]:
    analysis = flowsight.analyze_taint([str(CORPUS)], root=str(CORPUS), threat_models=models)
    assert [error for error in analysis.errors if error.kind != "syntax"] == []
    return Counter((f.sink.path, f.sink.start_line, f.cwe, f.threat_model) for f in analysis.findings)


@pytest.mark.parametrize(
    ("models", "enabled", "count"),
    [
        (None, set(), 0),
        (["remote"], set(), 0),
        (["remote", "local"], {"local"}, 4),
        (["database"], {"database"}, 2),
        (["all"], {"local", "database"}, 6),
    ],
    ids=["default", "remote", "remote+local", "database", "all"],
)
def test_sources_count_only_under_their_threat_model(models: list[str] | None, enabled: set[str], count: int) -> None:
    assert sum(expected(enabled).values()) == count
    assert actual(models) == expected(enabled)


def test_remote_findings_say_so_and_checks_have_no_threat_model(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "import os\nimport yaml\nfrom flask import request\n\n"
        "def view():\n    os.system(request.args['c'])\n\n"
        "def config(stream):\n    return yaml.load(stream)\n",
        encoding="utf-8",
    )
    analysis = flowsight.analyze_taint([str(tmp_path)], root=str(tmp_path))
    models = {finding.rule_id: finding.threat_model for finding in analysis.findings}
    assert models == {"command-injection": "remote", "yaml-unsafe-load": None}


def test_an_unknown_threat_model_is_a_rule_config_error() -> None:
    with pytest.raises(RuleConfigError, match='unknown threat model "cloud"'):
        flowsight.analyze_taint([str(CORPUS)], root=str(CORPUS), threat_models=["cloud"])


def test_the_workspace_takes_threat_models_and_reanalyses_when_they_change() -> None:
    workspace = flowsight.Workspace(str(CORPUS))
    workspace.load_files([str(path) for path in sorted(CORPUS.glob("*.py"))])
    assert workspace.analyze_taint() == []
    local = workspace.analyze_taint(None, [], ["remote", "local"])
    assert Counter(f.threat_model for f in local) == Counter({"local": 4})
    assert workspace.analyze_taint(None, [], ["remote"]) == []


def flowsight_cli(*args: str, cwd: Path = REPOSITORY_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flowsight", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_cli_threat_models_flag_json_sarif_and_text() -> None:
    quiet = flowsight_cli("scan", str(CORPUS / "local_tool.py"), "--format", "json")
    assert quiet.returncode == 0, quiet.stderr
    assert json.loads(quiet.stdout)["findings"] == []

    proc = flowsight_cli("scan", str(CORPUS / "local_tool.py"), "--format", "json", "--threat-models", "remote,local")
    assert proc.returncode == 1, proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    assert [finding["threat_model"] for finding in findings] == ["local"] * 4

    sarif = json.loads(flowsight_cli("scan", str(CORPUS / "local_tool.py"), "--format", "sarif", "--threat-models", "local").stdout)
    assert [result["properties"]["threatModel"] for result in sarif["runs"][0]["results"]] == ["local"] * 4

    text = flowsight_cli("scan", str(CORPUS / "local_tool.py"), "--threat-models", "local").stdout
    assert "[command-injection, CWE-78, threat model: local]" in text


def test_cli_rejects_an_unknown_threat_model() -> None:
    proc = flowsight_cli("scan", str(CORPUS), "--threat-models", "remote,cloud")
    assert proc.returncode == 2
    assert "--threat-models: unknown threat model(s) 'cloud'" in proc.stderr


def test_project_config_threat_models(tmp_path: Path) -> None:
    assert ProjectConfig().threat_models == ("remote",)
    table = config_from_table({"threat-models": ["local", "remote"]}, origin="pyproject.toml", base_directory=tmp_path)
    assert table.threat_models == ("remote", "local")
    assert config_from_table({"threat-models": ["all"]}, origin="p", base_directory=tmp_path).threat_models == (
        "remote",
        "local",
        "database",
    )
    with pytest.raises(ConfigError, match=r"tool.flowsight.threat-models: unknown threat model\(s\) 'cloud'"):
        config_from_table({"threat-models": ["cloud"]}, origin="p", base_directory=tmp_path)
    with pytest.raises(ConfigError, match="at least one threat model"):
        config_from_table({"threat-models": []}, origin="p", base_directory=tmp_path)
    with pytest.raises(ConfigError, match="must be a list of strings"):
        config_from_table({"threat-models": "local"}, origin="p", base_directory=tmp_path)


def test_the_scan_reads_threat_models_from_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.flowsight]\nthreat-models = ["remote", "local"]\n', encoding="utf-8")
    (tmp_path / "tool.py").write_text("import os\nimport sys\n\nos.system(sys.argv[1])\n", encoding="utf-8")
    assert load_project_config(tmp_path / "pyproject.toml").threat_models == ("remote", "local")
    proc = flowsight_cli("scan", str(tmp_path), "--format", "json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert [f["threat_model"] for f in json.loads(proc.stdout)["findings"]] == ["local"]
    # The flag overrides the project's list.
    assert flowsight_cli("scan", str(tmp_path), "--threat-models", "remote", cwd=tmp_path).returncode == 0


def test_server_setting_overrides_the_project(tmp_path: Path) -> None:
    settings, problems = parse_client_settings({"threatModels": ["database", "remote"]})
    assert problems == []
    assert settings.threat_models == ("remote", "database")
    project = ProjectConfig(threat_models=("remote", "local"))
    assert combine(project, settings, tmp_path).threat_models == ("remote", "database")
    assert combine(project, ClientSettings(), tmp_path).threat_models == ("remote", "local")
    assert combine(None, ClientSettings(), tmp_path).threat_models == ("remote",)

    settings, problems = parse_client_settings({"threatModels": ["cloud"]})
    assert settings.threat_models is None
    assert problems == [
        "flowsight: client settings: flowsight.threatModels: unknown threat model(s) 'cloud' "
        "(known: remote, local, database, all); this setting is ignored"
    ]
