"""`flowsight scan`: text, JSON and SARIF reports of the bundled example, exit codes, rule
files, suppression and configuration errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import REPOSITORY_ROOT

EXAMPLE = REPOSITORY_ROOT / "examples" / "vulnerable_app"


def flowsight(*args: str, cwd: Path = REPOSITORY_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flowsight", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_text_report_lists_each_path_step_by_step() -> None:
    proc = flowsight("scan", str(EXAMPLE))
    assert proc.returncode == 1, proc.stderr
    assert "shop/db.py:16:5: error [sql-injection, CWE-89] user input from `request.args` reaches `cursor.execute`" in proc.stdout
    assert "    3. shop/views.py:17:12  call: through `find_products`" in proc.stdout
    assert proc.stdout.rstrip().endswith("8 findings (8 error).")


def test_json_report() -> None:
    proc = flowsight("scan", str(EXAMPLE), "--format", "json")
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    rules = sorted({finding["rule_id"] for finding in report["findings"]})
    assert rules == [
        "code-injection",
        "command-injection",
        "open-redirect",
        "path-traversal",
        "sql-injection",
        "template-injection",
        "unsafe-deserialization",
        "xss",
    ]
    sql = next(f for f in report["findings"] if f["rule_id"] == "sql-injection")
    assert sql["cwe"] == "CWE-89" and sql["source"]["path"] == "shop/views.py" and sql["sink"]["path"] == "shop/db.py"
    assert [step["kind"] for step in sql["steps"]] == ["source", "assignment", "call", "assignment", "argument", "sink"]


def test_sarif_report_with_code_flows_and_cwe_tags(tmp_path: Path) -> None:
    output = tmp_path / "report.sarif"
    proc = flowsight("scan", str(EXAMPLE), "--format", "sarif", "--output", str(output))
    assert proc.returncode == 1 and proc.stdout == ""
    sarif = json.loads(output.read_text())
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert "CWE-89" in rules["sql-injection"]["properties"]["tags"]
    result = next(r for r in run["results"] if r["ruleId"] == "sql-injection")
    locations = result["codeFlows"][0]["threadFlows"][0]["locations"]
    assert len(locations) == 6
    assert locations[0]["location"]["physicalLocation"]["artifactLocation"]["uri"].endswith("shop/views.py")


def test_clean_code_exits_0_and_suppressions_apply(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "import os\nimport sys\n\n\ndef main():\n"
        "    os.system(sys.argv[1])  # flowsight: ignore[command-injection]\n"
        "    os.system('uptime')\n"
    )
    proc = flowsight("scan", str(tmp_path))
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.strip() == "No findings."


def test_rule_files_add_and_disable_rules(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("from company.exec import run_remote\nimport sys\n\n\ndef main():\n    run_remote(sys.argv[1])\n")
    rules = tmp_path / "rules.toml"
    rules.write_text('[[sink]]\nkind = "Shell"\ncalls = ["company.exec.run_remote"]\nargs = [0]\n')
    assert flowsight("scan", str(tmp_path)).returncode == 0
    # `sys.argv` is a source of the threat model `local`.
    with_rules = flowsight("scan", str(tmp_path), "--rules", str(rules), "--format", "json", "--threat-models", "remote,local")
    assert with_rules.returncode == 1
    assert json.loads(with_rules.stdout)["findings"][0]["rule_id"] == "command-injection"
    disabled = flowsight("scan", str(tmp_path), "--rules", str(rules), "--disable", "command-injection", "--threat-models", "local")
    assert disabled.returncode == 0


def test_bad_rule_file_names_file_line_and_problem(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("x = 1\n")
    rules = tmp_path / "bad.toml"
    rules.write_text('[[sink]]\nkind = "Shell"\ncalls = ["x.run"]\nargz = [0]\n')
    proc = flowsight("scan", str(tmp_path), "--rules", str(rules))
    assert proc.returncode == 2
    assert f"{rules}:4: unknown field `argz`" in proc.stderr
    missing = flowsight("scan", str(tmp_path), "--rules", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "rules file not found" in missing.stderr
    unknown = flowsight("scan", str(tmp_path), "--disable", "no-such-rule")
    assert unknown.returncode == 2 and "unknown rule id" in unknown.stderr


def test_pyproject_configuration(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.flowsight]\ndisable = ["command-injection"]\nexclude = ["vendor/**"]\nthreat-models = ["remote", "local"]\n'
    )
    (tmp_path / "app.py").write_text("import os, sys\nos.system(sys.argv[1])\neval(sys.argv[2])\n")
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "lib.py").write_text("import os, sys\neval(sys.argv[1])\n")
    proc = flowsight("scan", str(tmp_path), "--format", "json")
    findings = json.loads(proc.stdout)["findings"]
    assert [(f["rule_id"], f["sink"]["path"]) for f in findings] == [("code-injection", "app.py")]
    (tmp_path / "pyproject.toml").write_text("[tool.flowsight]\nunknown = 1\n")
    bad = flowsight("scan", str(tmp_path))
    assert bad.returncode == 2 and "unknown key(s) in [tool.flowsight]: unknown" in bad.stderr


MANY_INPUTS = (
    "import os\nimport shlex\nfrom flask import Flask, request\n\napp = Flask(__name__)\n\n\n@app.route('/r')\ndef view():\n"
    + "".join(f"    quoted_{i} = shlex.quote(request.args['q{i}'])\n" for i in range(12))
    + "    raw = request.args['raw']\n"
    + "    os.system("
    + " + ".join([*(f"quoted_{i}" for i in range(12)), "raw"])
    + ")\n"
)


def test_a_bound_met_is_reported_in_every_format_and_keeps_the_finding(tmp_path: Path) -> None:
    """13 inputs into one call exceed the labels a value keeps: they are merged toward more
    taint, the raw input's finding stays, and each report says a bound was met."""
    (tmp_path / "app.py").write_text(MANY_INPUTS, encoding="utf-8")
    sink_line = MANY_INPUTS.count("\n")

    text = flowsight("scan", str(tmp_path))
    assert text.returncode == 1, text.stderr
    assert f"app.py:{sink_line}:5: error [command-injection, CWE-78]" in text.stdout
    assert "note: the analysis met" in text.stdout
    assert "values with too many taint labels, merged keeping the least sanitised" in text.stdout

    document = json.loads(flowsight("scan", str(tmp_path), "--format", "json").stdout)
    assert [finding["sink"]["start_line"] for finding in document["findings"]] == [sink_line]
    assert document["incomplete"]["total"] >= 1
    assert document["incomplete"]["bounds"]["labels_merged"] >= 1

    sarif = json.loads(flowsight("scan", str(tmp_path), "--format", "sarif").stdout)
    run = sarif["runs"][0]
    assert run["properties"]["incomplete"] >= 1
    notes = [n for n in run["invocations"][0]["toolExecutionNotifications"] if n["descriptor"]["id"] == "incomplete"]
    assert len(notes) == 1 and notes[0]["level"] == "note"


def test_no_bound_met_means_no_note(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import os\n\n\ndef f(x):\n    os.system(x)\n", encoding="utf-8")
    proc = flowsight("scan", str(tmp_path))
    assert proc.returncode == 0
    assert proc.stdout == "No findings.\n"
    document = json.loads(flowsight("scan", str(tmp_path), "--format", "json").stdout)
    assert document["incomplete"] == {"total": 0, "bounds": {}}


def test_a_rule_file_declares_its_own_sink_kind(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "from flask import Flask, request\nimport gqlclient\n\napp = Flask(__name__)\n\n\n"
        "@app.route('/q')\ndef view():\n    gqlclient.execute('{ user(name: \"%s\") }' % request.args['name'])\n"
        "    gqlclient.execute(gqlclient.escape(request.args['name']))\n"
    )
    rules = tmp_path / "graphql.toml"
    rules.write_text(
        '[[kind]]\nname = "GraphQL"\n\n[[rule]]\nid = "graphql-injection"\nname = "GraphQL injection"\n'
        'sink_kind = "GraphQL"\ncwe = 943\nmessage = "reaches a GraphQL query"\n\n'
        '[[sink]]\nkind = "GraphQL"\ncalls = ["gqlclient.execute"]\nargs = [0]\n\n'
        '[[sanitizer]]\ncalls = ["gqlclient.escape"]\nclears = ["GraphQL"]\n'
    )
    assert flowsight("scan", str(tmp_path)).returncode == 0
    proc = flowsight("scan", str(tmp_path), "--rules", str(rules), "--format", "json")
    assert proc.returncode == 1, proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    assert [(f["rule_id"], f["cwe"], f["sink"]["start_line"]) for f in findings] == [("graphql-injection", "CWE-943", 9)]
    rules.write_text('[[kind]]\nname = "GraphQL"\n')
    proc = flowsight("scan", str(tmp_path), "--rules", str(rules))
    assert proc.returncode == 2 and f'{rules}:2: sink kind "GraphQL" has no [[rule]]' in proc.stderr
