"""Renderings of findings: text for people, JSON, SARIF 2.1.0 (codeFlows, CWE tags, UTF-16 columns).

The findings here are built by hand as plain records so the renderings are specified
independently of the analysis; end-to-end scans are tested in test_cli_scan.py."""

from pathlib import Path
from types import SimpleNamespace

from flowsight import report
from flowsight.commands.common import ColumnCache

SOURCE_TEXT = "q = request.args['q']  # 😀\nsql = 'SELECT ' + q\ncursor.execute(sql)\n"


def location(line: int, start: int, end: int, **extra: str) -> SimpleNamespace:
    return SimpleNamespace(path="app.py", start_line=line, start_column=start, end_line=line, end_column=end, **extra)


def sample_finding() -> SimpleNamespace:
    return SimpleNamespace(
        id="f1",
        rule_id="PY-SQLI",
        cwe=89,
        severity="error",
        message="`request.args` reaches `cursor.execute` (SQL injection, CWE-89) in 3 steps",
        source=location(0, 4, 16),
        sink=location(2, 0, 19),
        steps=[
            location(0, 4, 16, kind="source", description="request.args"),
            location(1, 0, 3, kind="assignment", description="sql = 'SELECT ' + q"),
            location(2, 15, 18, kind="sink", description="cursor.execute(sql)"),
        ],
    )


def test_text_lists_every_step_with_one_based_positions() -> None:
    text = report.findings_to_text([sample_finding()])
    assert text.splitlines()[0] == (
        "app.py:3:1: error [PY-SQLI, CWE-89] `request.args` reaches `cursor.execute` (SQL injection, CWE-89) in 3 steps"
    )
    assert "    2. app.py:2:1  assignment: sql = 'SELECT ' + q" in text
    assert text.rstrip().endswith("1 finding (1 error).")


def test_no_findings_says_so() -> None:
    assert report.findings_to_text([]) == "No findings.\n"


def test_sarif_has_rules_with_cwe_tags_and_code_flows(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(SOURCE_TEXT, encoding="utf-8")
    document = report.findings_to_sarif([sample_finding()], tmp_path.as_uri() + "/", ColumnCache(tmp_path).utf16)
    assert document["version"] == "2.1.0"
    run = document["runs"][0]
    rule = run["tool"]["driver"]["rules"][0]
    assert rule["id"] == "PY-SQLI"
    assert "CWE-89" in rule["properties"]["tags"]
    result = run["results"][0]
    assert (result["ruleId"], result["ruleIndex"], result["level"]) == ("PY-SQLI", 0, "error")
    region = result["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 3, "startColumn": 1, "endLine": 3, "endColumn": 20}
    flow = result["codeFlows"][0]["threadFlows"][0]["locations"]
    assert [step["location"]["message"]["text"].split(":")[0] for step in flow] == ["source", "assignment", "sink"]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].endswith("/")


def test_severity_override_changes_only_the_severity() -> None:
    overridden = report.with_severity(sample_finding(), "warning")
    assert overridden.severity == "warning"
    assert overridden.rule_id == "PY-SQLI"
    assert report.findings_to_json([overridden])["findings"][0]["severity"] == "warning"


def test_columns_after_non_ascii_text_are_converted(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("s = '😀'; eval(s)\n", encoding="utf-8")
    columns = ColumnCache(tmp_path)
    byte_column = "s = '😀'; ".encode().__len__()
    assert columns.utf16("app.py", 0, byte_column) == len("s = '") + 2 + len("'; ")
    assert columns.code_points("app.py", 0, byte_column) == len("s = '😀'; ")


def test_every_bound_the_engine_counts_is_described_and_the_note_says_when_findings_may_be_missing(tmp_path: Path) -> None:
    """Each bound `TaintAnalysis.stats` carries has a description; a note over bounds that err
    toward more taint says so, and over one that may miss findings (a call with more candidate
    callees than the bound, analysed as an unknown call) says it erred that way only where it could."""
    import flowsight

    (tmp_path / "app.py").write_text("def f(x):\n    return x\n")
    stats = flowsight.analyze_taint([str(tmp_path)], root=str(tmp_path)).stats
    counters = {"scopes", "reused", "analysed", "analyses", "rounds", "sweeps", "widened", "rebase_examined", "incomplete"}
    assert set(stats) - counters == set(report.BOUNDS) - {"shared_finally_copies"}
    merged = report.incomplete_note({"labels_merged": 2})
    assert merged is not None and "erred toward more taint there:" in merged
    bounded = report.incomplete_note({"labels_merged": 1, "callees_bounded": 1})
    assert bounded is not None and "erred toward more taint where it could:" in bounded
    assert report.BOUNDS["callees_bounded"] in bounded and "findings inside those callees may be missing" in bounded
