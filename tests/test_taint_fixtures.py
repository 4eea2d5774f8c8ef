"""The labelled taint corpus (tests/fixtures/taint, docs in its README) and the bundled example:
every `# sink: CWE-N` line has its finding, no `# ok` line and no unmarked line has one.
Each group directory is analysed as one program (cross-file cases span a group)."""

from __future__ import annotations

from pathlib import Path

import pytest

import flowsight
from conftest import FIXTURES, REPOSITORY_ROOT
from taint_expectations import compare, expectations

TAINT_FIXTURES = FIXTURES / "taint"
GROUPS = sorted(path for path in TAINT_FIXTURES.iterdir() if path.is_dir()) if TAINT_FIXTURES.is_dir() else []
PROGRAMS = [*GROUPS, REPOSITORY_ROOT / "examples" / "vulnerable_app"]


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.name for p in PROGRAMS])
def test_findings_match_inline_expectations(program: Path) -> None:
    # The corpus includes local sources (`stdlib/`); the non-taint checks (no threat model) have
    # their own corpus (test_check_fixtures.py).
    analysis = flowsight.analyze_taint([str(program)], root=str(program), threat_models=["remote", "local"])
    assert [e for e in analysis.errors if e.kind != "syntax"] == []
    problems = compare(program, [finding for finding in analysis.findings if finding.threat_model is not None])
    assert problems == [], "\n" + "\n".join(problems)


def test_corpus_size_and_coverage() -> None:
    files = list(TAINT_FIXTURES.rglob("*.py"))
    assert len(files) >= 150
    expected, ok = expectations(TAINT_FIXTURES)
    assert sum(expected.values()) >= 90 and len(ok) >= 90
    cwes = {cwe for (_, _, cwe) in expected}
    assert {89, 78, 88, 94, 95, 470, 1336, 22, 79, 601, 918, 502, 611, 90, 643, 501, 113, 117, 943} <= cwes
