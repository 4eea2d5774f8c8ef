"""The non-taint checks' fixtures (tests/fixtures/checks, format in its README) through the
Python API: every `# check: id, …` line has exactly those findings, no other line has one; the
findings are reported like taint findings (ids, steps, no threat model) and suppressed alike."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

import flowsight
from conftest import FIXTURES

CHECKS = FIXTURES / "checks"
FILES = sorted(path.name for path in CHECKS.glob("*.py"))
MARK = re.compile(r"#\s*check:\s*(.+)$")


@pytest.fixture(scope="module")
def findings() -> list:
    analysis = flowsight.analyze_taint([str(CHECKS)], root=str(CHECKS))
    assert [error for error in analysis.errors if error.kind != "syntax"] == []
    return analysis.findings


@pytest.mark.parametrize("name", FILES)
def test_findings_match_check_markers(name: str, findings: list) -> None:
    expected: Counter[tuple[int, str]] = Counter()
    for number, line in enumerate((CHECKS / name).read_text(encoding="utf-8").splitlines()):
        if match := MARK.search(line):
            expected.update((number, rule.strip()) for rule in match.group(1).split(","))
    assert expected, f"{name} has no positive case"
    assert Counter((f.sink.start_line, f.rule_id) for f in findings if f.sink.path == name) == expected


def test_check_findings_are_findings(findings: list) -> None:
    for finding in findings:
        assert finding.threat_model is None
        assert len(finding.id) == 16
        assert finding.steps[-1].kind in ("sink", "secret")
        assert f"CWE-{finding.cwe}" in finding.message
    assert len({finding.id for finding in findings}) == len(findings)
    random_finding = next(f for f in findings if f.rule_id == "insecure-random" and "salt" in f.message)
    assert [step.kind for step in random_finding.steps] == ["source", "assignment", "secret"]


def test_suppression_and_disable(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "import hashlib\n\n"
        "a = hashlib.md5(b'x')\n"
        "b = hashlib.md5(b'x')  # flowsight: ignore[weak-hash]\n"
        "c = hashlib.md5(b'x')  # flowsight: ignore[CWE-328]\n"
        "d = hashlib.md5(b'x')  # flowsight: ignore[other]\n",
        encoding="utf-8",
    )
    analysis = flowsight.analyze_taint([str(tmp_path)], root=str(tmp_path))
    assert [(f.rule_id, f.sink.start_line) for f in analysis.findings] == [("weak-hash", 2), ("weak-hash", 5)]
    assert flowsight.analyze_taint([str(tmp_path)], root=str(tmp_path), disabled_rules=["weak-hash"]).findings == []


def test_a_user_pack_adds_a_check(tmp_path: Path) -> None:
    (tmp_path / "rules.toml").write_text(
        '[[check]]\nid = "pickle-import"\nname = "Pickle"\ncwe = 502\nseverity = "info"\nmessage = "avoid pickle"\n'
        '[[check.call]]\ncalls = ["pickle.loads"]\nconditions = [{ arg = 1, keyword = "fix_imports", equals = true, default = true }]\n',
        encoding="utf-8",
    )
    (tmp_path / "app.py").write_text("import pickle\n\npickle.loads(b'')\npickle.loads(b'', fix_imports=False)\n", encoding="utf-8")
    analysis = flowsight.analyze_taint([str(tmp_path / "app.py")], root=str(tmp_path), rules_file=str(tmp_path / "rules.toml"))
    assert [(f.rule_id, f.severity, f.sink.start_line) for f in analysis.findings] == [("pickle-import", "info", 2)]
