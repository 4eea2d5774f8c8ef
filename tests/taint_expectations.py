"""Inline expectations of taint fixtures, shared by the Python and Rust fixture tests.

    cursor.execute(query)  # sink: CWE-89          a finding with this CWE must start here
    eval(x)                # sink: CWE-95, CWE-79  several findings on one line
    cursor.execute(q, p)   # ok                    no finding may start on this line

Lines without a marker must not have findings either: every finding is expected somewhere."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

SINK_MARK = re.compile(r"#\s*sink:\s*(CWE-\d+(?:\s*,\s*CWE-\d+)*)")
OK_MARK = re.compile(r"#\s*ok\b")


def expectations(root: Path) -> tuple[Counter[tuple[str, int, int]], set[tuple[str, int]]]:
    """(expected (path, 0-based line, cwe) counts, lines marked ok) for every .py under root."""
    expected: Counter[tuple[str, int, int]] = Counter()
    ok: set[tuple[str, int]] = set()
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            if match := SINK_MARK.search(line):
                for cwe in match.group(1).split(","):
                    expected[(relative, number, int(cwe.strip().removeprefix("CWE-")))] += 1
            elif OK_MARK.search(line):
                ok.add((relative, number))
    return expected, ok


def compare(root: Path, findings: list) -> list[str]:
    """Mismatches between expectations under `root` and findings (sinks relative to root)."""
    expected, ok = expectations(root)
    actual: Counter[tuple[str, int, int]] = Counter()
    for finding in findings:
        actual[(finding.sink.path, finding.sink.start_line, finding.cwe)] += 1
    problems = []
    for key in sorted(set(expected) | set(actual)):
        path, line, cwe = key
        if expected[key] > actual[key]:
            problems.append(f"missed   {path}:{line + 1} CWE-{cwe}")
        elif actual[key] > expected[key]:
            kind = "ok-line" if (path, line) in ok else "unexpected" if key not in expected else "repeated"
            problems.append(f"{kind:8} {path}:{line + 1} CWE-{cwe}")
    return problems
