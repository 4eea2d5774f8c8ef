"""The labelled taint corpus (tests/fixtures/taint, markers documented in its README) and the
bundled example: every `# sink[a]: CWE-N` line has its finding, whose source is the `# source[a]`
line and whose steps visit exactly the `# step[a]` lines; no `# ok` line and no unmarked line has
one. Each group directory is analysed as one program (cross-file cases span a group)."""

from __future__ import annotations

from pathlib import Path

import pytest

import flowsight
from conftest import FIXTURES, REPOSITORY_ROOT
from taint_expectations import compare, expectations

TAINT_FIXTURES = FIXTURES / "taint"
GROUPS = sorted(path for path in TAINT_FIXTURES.iterdir() if path.is_dir()) if TAINT_FIXTURES.is_dir() else []
PROGRAMS = [*GROUPS, REPOSITORY_ROOT / "examples" / "vulnerable_app"]


def problems_of(program: Path) -> list[str]:
    # The corpus includes local sources (`stdlib/`); the non-taint checks (no threat model) have
    # their own corpus (test_check_fixtures.py).
    analysis = flowsight.analyze_taint([str(program)], root=str(program), threat_models=["remote", "local"])
    assert [e for e in analysis.errors if e.kind != "syntax"] == []
    return compare(program, [finding for finding in analysis.findings if finding.threat_model is not None])


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.name for p in PROGRAMS])
def test_findings_match_inline_expectations(program: Path) -> None:
    problems = problems_of(program)
    assert problems == [], "\n" + "\n".join(problems)


def test_corpus_size_and_coverage() -> None:
    files = list(TAINT_FIXTURES.rglob("*.py"))
    assert len(files) >= 150
    expected = expectations(TAINT_FIXTURES)
    assert expected.errors == []
    assert sum(expected.sinks.values()) >= 90 and len(expected.ok) >= 90
    cwes = {cwe for (_, _, cwe) in expected.sinks}
    assert {89, 78, 88, 94, 95, 470, 1336, 22, 79, 601, 918, 502, 611, 90, 643, 501, 113, 117, 943} <= cwes
    # Paths through helpers, across files and with steps are among the expectations.
    assert sum(1 for marked in expected.paths.values() if marked.steps) >= 15
    assert any(source[0] != marked.sinks[0][0] for marked in expected.paths.values() for source in marked.sources)


VIEW = """\
import os
from flask import Flask, request

app = Flask(__name__)


@app.route("/a")
def view():
    name = request.args["name"]{source}
    command = "finger " + name{step}
    os.system(command)  # sink[a]: CWE-78
"""


def test_a_finding_without_its_source_marked_fails(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(VIEW.format(source="", step="  # step[a]"))
    assert problems_of(tmp_path) == ["app.py:11: `sink[a]` needs exactly one `source[a]` line, found none"]


def test_a_wrong_path_fails_naming_the_lines(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(VIEW.format(source="  # source[a]", step="  # step[a]"))
    assert problems_of(tmp_path) == []
    (tmp_path / "app.py").write_text(VIEW.format(source="  # source[a]", step=""))
    assert problems_of(tmp_path) == ["path       app.py:11 CWE-78 [a] differs from its markers:\n    step     extra    app.py:10"]
    (tmp_path / "app.py").write_text(VIEW.format(source="  # step[a]", step="  # source[a]"))
    assert problems_of(tmp_path) == [
        "path       app.py:11 CWE-78 [a] differs from its markers:\n"
        "    source   expected app.py:10, found app.py:9\n"
        "    step     missing  app.py:9\n"
        "    step     extra    app.py:10"
    ]


def test_old_and_malformed_markers_fail(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(VIEW.replace("sink[a]", "sink").format(source="  # source", step=""))
    problems = problems_of(tmp_path)
    assert [problem.split(":")[:2] for problem in problems[:2]] == [["app.py", "9"], ["app.py", "11"]], problems
    assert any(problem.startswith("unexpected app.py:11 CWE-78 (source app.py:9, step app.py:10)") for problem in problems), problems
