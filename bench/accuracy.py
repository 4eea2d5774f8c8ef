"""Accuracy per category on labelled programs: precision and recall of flowsight's findings, and of
the peer tools installed beside it (`make bench` installs Bandit and Semgrep), per CWE
(`python bench/accuracy.py`).

The labelled programs are the directories of `tests/fixtures/taint` (the sample applications of
`tests/apps` list their expected findings in `tests/test_framework_apps.py` instead): every
expected finding is a `# sink[a]: CWE-N` marker on its sink line, every near miss (sanitised,
guarded, parameterised, constant, safe default, JSON response) an `# ok` line; the
format is `tests/fixtures/taint/README.md`'s, read by `tests/taint_expectations.py`. flowsight's
tests require its findings to match these exactly, so its row here mostly shows that the corpus
and the tests agree; the peers' rows show what the same programs look like to them. Counts per
(file, line, CWE):

    true positive   a finding with the marked CWE on a marked sink line
    false negative  a marked sink without such a finding
    false positive  a finding on an `ok` line (a decoy) or on an unmarked line

Bandit reports a CWE per issue; Semgrep runs `bench/semgrep-taint.yml` (flowsight's sources and
sinks as one taint rule without a CWE), so a Semgrep finding counts for the CWE marked on its line.
Both run with every threat model's sources, as flowsight does here (`remote` and `local`).

Prints a table and writes `bench/results/accuracy.json`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPOSITORY = BENCH.parent
sys.path.insert(0, str(REPOSITORY / "tests"))
sys.path.insert(0, str(BENCH))

from run import table, write_results  # noqa: E402  (bench/run.py: the suites' shared helpers)

from taint_expectations import expectations  # noqa: E402

Key = tuple[str, int, int]
"""(path relative to the program, 0-based line, CWE)."""


def programs() -> list[Path]:
    root = REPOSITORY / "tests" / "fixtures" / "taint"
    return sorted(directory for directory in root.iterdir() if directory.is_dir())


def flowsight_findings(program: Path) -> Counter[Key]:
    import flowsight

    result = flowsight.analyze_taint([str(program)], root=str(program), threat_models=["remote", "local"])
    # Taint findings only: the checks that are not taint (no threat model) have their own corpus.
    return Counter((f.sink.path, f.sink.start_line, f.cwe) for f in result.findings if f.threat_model is not None)


def bandit_findings(program: Path, bandit: str) -> Counter[Key]:
    process = subprocess.run([bandit, "-q", "-r", "-f", "json", str(program)], capture_output=True, text=True, timeout=600)
    found: Counter[Key] = Counter()
    for issue in json.loads(process.stdout or "{}").get("results", []):
        cwe = (issue.get("issue_cwe") or {}).get("id")
        if cwe:
            path = Path(issue["filename"]).resolve().relative_to(program.resolve()).as_posix()
            found[(path, issue["line_number"] - 1, int(cwe))] += 1
    return found


def semgrep_lines(program: Path, semgrep: str) -> Counter[tuple[str, int]]:
    # Semgrep skips `tests/` directories by default: it scans a copy outside them.
    with tempfile.TemporaryDirectory() as directory:
        copy = Path(directory) / program.name
        shutil.copytree(program, copy)
        command = [semgrep, "scan", "--metrics=off", "--quiet", "--config", str(BENCH / "semgrep-taint.yml"), "--json", str(copy)]
        process = subprocess.run(command, capture_output=True, text=True, timeout=900)
        report = json.loads(process.stdout or "{}")
        if not report.get("paths", {}).get("scanned"):
            raise SystemExit(f"semgrep scanned nothing in {program}: {process.stderr[-500:]}")
        found: Counter[tuple[str, int]] = Counter()
        for result in report.get("results", []):
            path = Path(result["path"]).resolve().relative_to(copy.resolve()).as_posix()
            found[(path, result["start"]["line"] - 1)] += 1
    return found


def with_marked_cwes(lines: Counter[tuple[str, int]], expected: Counter[Key]) -> Counter[Key]:
    """Findings without a CWE, given the CWE marked on their line (CWE 0 on an unmarked line)."""
    marked: dict[tuple[str, int], list[int]] = defaultdict(list)
    for path, line, cwe in expected:
        marked[(path, line)].append(cwe)
    found: Counter[Key] = Counter()
    for (path, line), count in lines.items():
        for cwe in marked.get((path, line), [0]):
            found[(path, line, cwe)] += count
    return found


def score(expected: Counter[Key], ok: set[tuple[str, int]], found: Counter[Key]) -> dict[int, Counter[str]]:
    """Per CWE: true positives, false negatives, false positives and decoys (false positives on `ok` lines)."""
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    for key in set(expected) | set(found):
        path, line, cwe = key
        hits = min(expected[key], found[key])
        counts[cwe]["tp"] += hits
        counts[cwe]["fn"] += expected[key] - hits
        extra = found[key] - hits
        counts[cwe]["fp"] += extra
        if extra and (path, line) in ok:
            counts[cwe]["decoys"] += extra
    return counts


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def shown(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-peers", action="store_true", help="flowsight only")
    args = parser.parse_args()
    peers: dict[str, str] = {}
    if not args.no_peers:
        for name in ("bandit", "semgrep"):
            path = shutil.which(name) or str(Path(sys.executable).with_name(name))
            if Path(path).exists():
                peers[name] = path
    tools = ["flowsight", *peers]
    totals: dict[str, dict[int, Counter[str]]] = {tool: defaultdict(Counter) for tool in tools}
    marked_sinks = 0
    for program in programs():
        expected_marks = expectations(program)
        expected = Counter(expected_marks.sinks)
        marked_sinks += sum(expected.values())
        found = {"flowsight": flowsight_findings(program)}
        if "bandit" in peers:
            found["bandit"] = bandit_findings(program, peers["bandit"])
        if "semgrep" in peers:
            found["semgrep"] = with_marked_cwes(semgrep_lines(program, peers["semgrep"]), expected)
        for tool, findings in found.items():
            for cwe, counts in score(expected, expected_marks.ok, findings).items():
                totals[tool][cwe].update(counts)
        print(f"{program.relative_to(REPOSITORY)}: {sum(expected.values())} marked sinks", flush=True)

    cwes = sorted({cwe for per_tool in totals.values() for cwe in per_tool if cwe})
    rows = [("CWE", "marked", *(f"{tool} P / R" for tool in tools))]
    result: dict = {"programs": [str(p.relative_to(REPOSITORY)) for p in programs()], "marked_sinks": marked_sinks, "tools": {}}
    for tool in tools:
        result["tools"][tool] = {}
    for cwe in [*cwes, 0]:
        marked = totals["flowsight"][cwe]["tp"] + totals["flowsight"][cwe]["fn"]
        cells = []
        for tool in tools:
            counts = totals[tool][cwe]
            precision = ratio(counts["tp"], counts["tp"] + counts["fp"])
            recall = ratio(counts["tp"], counts["tp"] + counts["fn"])
            cells.append(f"{shown(precision)} / {shown(recall)}" + (f" ({counts['fp']} FP)" if counts["fp"] else ""))
            result["tools"][tool][f"CWE-{cwe}" if cwe else "unmarked"] = {
                **dict(counts),
                "precision": precision,
                "recall": recall,
            }
        if marked or any(totals[tool][cwe]["fp"] for tool in tools):
            rows.append((f"CWE-{cwe}" if cwe else "no CWE marked", str(marked), *cells))
    overall = []
    for tool in tools:
        counts = Counter()
        for per_cwe in totals[tool].values():
            counts.update(per_cwe)
        precision = ratio(counts["tp"], counts["tp"] + counts["fp"])
        recall = ratio(counts["tp"], counts["tp"] + counts["fn"])
        overall.append(f"{shown(precision)} / {shown(recall)} ({counts['decoys']} decoys)")
        result["tools"][tool]["all"] = {**dict(counts), "precision": precision, "recall": recall}
    rows.append(("all", str(marked_sinks), *overall))
    print(table(rows))
    write_results("accuracy", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
