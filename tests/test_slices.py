"""Program slices against fixture files with inline expectations (tests/fixtures/slice), the
CLI, and error handling for bad criteria."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import flowsight
from conftest import FIXTURES, REPOSITORY_ROOT
from flowsight.errors import UsageError

SLICES = FIXTURES / "slice"
CRITERION = re.compile(r"#\s*criterion(?::\s*(?P<options>[a-z ]+))?\s*$")
IN_SLICE = re.compile(r"#\s*slice\s*$")


def cases() -> list[Path]:
    return sorted(SLICES.glob("*.py"))


@pytest.mark.parametrize("fixture", cases(), ids=[p.stem for p in cases()])
def test_slice_matches_inline_expectations(fixture: Path) -> None:
    lines = fixture.read_text().splitlines()
    [(criterion_line, options)] = [
        (number, (match["options"] or "").split()) for number, line in enumerate(lines, 1) if (match := CRITERION.search(line))
    ]
    expected = {number for number, line in enumerate(lines, 1) if IN_SLICE.search(line)} | {criterion_line}
    result = flowsight.slice_code(
        [str(SLICES)],
        file=str(fixture),
        line=criterion_line - 1,
        root=str(SLICES),
        forward="forward" in options,
        thin="thin" in options,
    )
    assert set(result.files.get(fixture.name, [])) == expected
    assert criterion_line in result.criterion_lines


def test_variable_under_the_cursor_narrows_a_backward_slice(tmp_path: Path) -> None:
    source = "def f(a, b):\n    x = a + 1\n    y = b + 2\n    print(x, y)\n"
    (tmp_path / "m.py").write_text(source)
    column = source.splitlines()[3].index("x")
    only_x = flowsight.slice_code([str(tmp_path)], file=str(tmp_path / "m.py"), line=3, column=column, root=str(tmp_path))
    assert only_x.files["m.py"] == [1, 2, 4]
    whole = flowsight.slice_code([str(tmp_path)], file=str(tmp_path / "m.py"), line=3, root=str(tmp_path))
    assert whole.files["m.py"] == [1, 2, 3, 4]


def test_bad_criteria_raise_usage_errors(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("x = 1\n\n# just a comment\n")
    with pytest.raises(UsageError, match="no statement"):
        flowsight.slice_code([str(tmp_path)], file=str(tmp_path / "m.py"), line=2, root=str(tmp_path))
    with pytest.raises(UsageError, match="line 99 does not exist"):
        flowsight.slice_code([str(tmp_path)], file=str(tmp_path / "m.py"), line=98, root=str(tmp_path))


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flowsight", *args], capture_output=True, text=True, cwd=REPOSITORY_ROOT, timeout=120)


def test_cli_json_and_text() -> None:
    fixture = SLICES / "calls.py"
    proc = run_cli("slice", f"{fixture}:14", str(SLICES), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["criterion"] == {"file": "calls.py", "line": 14, "column": None, "direction": "backward", "thin": False}
    assert report["files"]["calls.py"] == [4, 5, 6, 10, 12, 14]
    assert report["incomplete"] == {"total": 0, "bounds": {}}
    text = run_cli("slice", f"{fixture}:14", str(SLICES))
    assert text.returncode == 0 and "    12      value = scale(base, 2)" in text.stdout
    assert "note:" not in text.stdout


def test_a_place_cut_by_the_depth_bound_is_reported_as_scan_reports_it(tmp_path: Path) -> None:
    """`c.a.b.c.d` is one projection deeper than a place keeps: the write is a weak definition
    of `c.a.b.c` (the slice keeps it and the earlier write), counted as `places_cut` in the
    slice's stats, its JSON `incomplete` and a text note, as `flowsight scan` reports it."""
    source = "def f(c, v, w):\n    c.a.b.c.d = v\n    c.a.b.c.e = w\n    return c.a.b.c.d\n"
    (tmp_path / "m.py").write_text(source, encoding="utf-8")
    result = flowsight.slice_code([str(tmp_path)], file=str(tmp_path / "m.py"), line=3, root=str(tmp_path))
    assert result.files["m.py"] == [1, 2, 3, 4]
    assert result.stats["places_cut"] >= 1 and result.stats["incomplete"] == result.stats["places_cut"]
    proc = run_cli("slice", f"{tmp_path / 'm.py'}:4", str(tmp_path), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert document["incomplete"]["bounds"] == {"places_cut": result.stats["places_cut"]}
    assert document["incomplete"]["total"] == result.stats["places_cut"]
    text = run_cli("slice", f"{tmp_path / 'm.py'}:4", str(tmp_path))
    assert "note: the analysis met" in text.stdout and "erred toward a larger slice" in text.stdout
    assert "access paths too deep inside objects and containers" in text.stdout


def test_lambdas_nested_past_the_cfg_bound_are_reported_as_flattened_scopes(tmp_path: Path) -> None:
    """A lambda nested past the CFG's bound on nested scopes (32) is one step reading every
    name inside it: the slice keeps the parameter, counts `flattened_scopes` in its stats and
    JSON `incomplete`, and the text output notes the bound; a slice of another function of the
    same file met no bound."""
    lambdas = "lambda: " * 40
    source = f"def f(v):\n    g = {lambdas}v\n    return g\n\n\ndef plain(x):\n    return x\n"
    (tmp_path / "m.py").write_text(source, encoding="utf-8")
    result = flowsight.slice_code([str(tmp_path)], file=str(tmp_path / "m.py"), line=2, root=str(tmp_path))
    assert result.files["m.py"] == [1, 2, 3]
    assert result.stats["flattened_scopes"] == 1 and result.stats["incomplete"] == 1
    plain = flowsight.slice_code([str(tmp_path)], file=str(tmp_path / "m.py"), line=6, root=str(tmp_path))
    assert plain.stats["flattened_scopes"] == 0 and plain.stats["incomplete"] == 0
    proc = run_cli("slice", f"{tmp_path / 'm.py'}:3", str(tmp_path), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["incomplete"] == {"total": 1, "bounds": {"flattened_scopes": 1}}
    text = run_cli("slice", f"{tmp_path / 'm.py'}:3", str(tmp_path))
    assert "note: the analysis met 1 bound(s) and erred toward a larger slice" in text.stdout
    assert "comprehensions and lambdas nested too deep" in text.stdout


def test_cli_usage_errors() -> None:
    assert run_cli("slice", "nope.py:3").returncode == 2
    bad = run_cli("slice", str(SLICES / "calls.py"))
    assert bad.returncode == 2 and "FILE:LINE[:COL]" in bad.stderr
    zero = run_cli("slice", f"{SLICES / 'calls.py'}:0")
    assert zero.returncode == 2 and "1-based" in zero.stderr
    past = run_cli("slice", f"{SLICES / 'calls.py'}:500")
    assert past.returncode == 2 and "has 14 lines" in past.stderr
