"""Inputs of issue 15 that aborted a scan at the issue's sizes: 170,000 unary minus and 1,000,000
nested parentheses (every other file's findings were lost). Each run is bounded by the harness
(CPU seconds, address space) and its own peak RSS, measured by `wait4`, must stay under 1 GiB;
the finding in the other file must survive. (The 20,000-function call chain: test_deep_and_large_inputs.py.
Not here, still over 1 GiB though they no longer abort: a 10 MiB file of one million statements, scan
≈10 s and 2.9 GB, index alone 1 GB; the 10 MB one-line list, scan ≈12 s and 2.3 GB; see issue 15.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from robustness.harness import CPU_SECONDS, Result, flowsight

MAX_RSS_KIB = 1 << 20
VULNERABLE = 'import os\nfrom flask import request\n\n\ndef run():\n    command = request.args["q"]\n    os.system(command)\n'


def assert_bounded(result: Result) -> None:
    assert result.peak_rss_kib < MAX_RSS_KIB, f"peak RSS {result.peak_rss_kib} KiB"
    assert result.seconds < 2 * CPU_SECONDS, f"{result.seconds:.1f} s"


def assert_app_finding_survives(project: Path) -> Result:
    """Scans `project`: the finding of its `app.py` (VULNERABLE) is reported, within bounds."""
    result = flowsight("scan", ".", "--format", "json", cwd=project)
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert [(f["sink"]["path"], f["sink"]["start_line"]) for f in findings] == [("app.py", 7)]
    assert_bounded(result)
    return result


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("x = " + "-" * 170_000 + "1\n", id="170k-unary-minus"),
        pytest.param("x = " + "(" * 1_000_000 + "1" + ")" * 1_000_000 + "\n", id="1M-parentheses"),
    ],
)
def test_huge_expressions_keep_other_files_findings(tmp_path: Path, text: str) -> None:
    (tmp_path / "app.py").write_text(VULNERABLE)
    (tmp_path / "huge.py").write_text(text)
    assert_app_finding_survives(tmp_path)
    sliced = flowsight("slice", "huge.py:1", ".", "--format", "json", cwd=tmp_path)
    assert sliced.returncode == 0, sliced.stderr
    assert json.loads(sliced.stdout)["files"] == {"huge.py": [1]}
    assert_bounded(sliced)
