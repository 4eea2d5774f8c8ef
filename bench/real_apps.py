"""Recall on real applications: published vulnerabilities in releases of web applications
installable from PyPI (`bench/real_apps.toml`), and how many findings each tool reports on the
whole application (`python bench/real_apps.py`).

A label is found when a taint finding with its CWE sits on one of its sink lines (Semgrep's
taint rule has no CWE: any of its findings on such a line counts). The other findings are not
labelled: their number, per rule, is what a reviewer has to read besides the known bugs. The
wheels are downloaded with pip (hashes checked by pip) into `bench/.cache/` once; their Python
files and templates are unpacked, never imported or run.

Prints a table and writes `bench/results/real_apps.json`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections import Counter
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bench.corpus import CACHE, fetch_wheel  # noqa: E402
from bench.run import table, write_results  # noqa: E402

LABELS = BENCH / "real_apps.toml"
# What is unpacked of a wheel: code and the templates template-aware XSS reads.
UNPACKED_SUFFIXES = {".py", ".html", ".htm", ".jinja", ".jinja2", ".j2", ".txt", ".xml"}


def app_directory(app: dict) -> Path:
    """The directory holding the app's top-level package (unpacked from its wheel once)."""
    root = CACHE / f"app-{app['name']}-{app['version']}"
    marker = root / ".complete"
    if marker.is_file():
        return root
    if root.exists():
        shutil.rmtree(root)
    with zipfile.ZipFile(fetch_wheel(app["name"], app["version"])) as archive:
        for member in archive.namelist():
            if member.startswith(f"{app['package']}/") and Path(member).suffix in UNPACKED_SUFFIXES:
                archive.extract(member, root)
    marker.write_text("ok\n")
    return root


def sink_lines(app: dict, label: dict) -> set[tuple[str, int]]:
    """(path relative to the app's directory, 1-based line) of each accepted sink."""
    lines = set()
    for sink in label["sinks"]:
        path, line = sink.rsplit(":", 1)
        lines.add((f"{app['package']}/{path}", int(line)))
    return lines


def flowsight_findings(directory: Path, package: str) -> list[tuple[str, int, int, str]]:
    """(path, 1-based sink line, CWE, rule id) of each taint finding (default threat model)."""
    import flowsight

    result = flowsight.analyze_taint([str(directory / package)], root=str(directory))
    return [(f.sink.path, f.sink.start_line + 1, f.cwe, f.rule_id) for f in result.findings if f.threat_model is not None]


def bandit_findings(directory: Path, package: str, bandit: str) -> list[tuple[str, int, int, str]]:
    process = subprocess.run([bandit, "-q", "-r", "-f", "json", str(directory / package)], capture_output=True, text=True, timeout=1800)
    found = []
    for issue in json.loads(process.stdout or "{}").get("results", []):
        cwe = int((issue.get("issue_cwe") or {}).get("id") or 0)
        path = Path(issue["filename"]).resolve().relative_to(directory.resolve()).as_posix()
        found.append((path, issue["line_number"], cwe, issue["test_id"]))
    return found


def semgrep_findings(directory: Path, package: str, semgrep: str) -> list[tuple[str, int, int, str]]:
    # Semgrep skips `tests/` directories by default: it scans a copy outside them.
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / package
        shutil.copytree(directory / package, copy)
        command = [semgrep, "scan", "--metrics=off", "--quiet", "--config", str(BENCH / "semgrep-taint.yml"), "--json", str(copy)]
        process = subprocess.run(command, capture_output=True, text=True, timeout=3600)
        report = json.loads(process.stdout or "{}")
        found = []
        for result in report.get("results", []):
            path = f"{package}/" + Path(result["path"]).resolve().relative_to(copy.resolve()).as_posix()
            found.append((path, result["start"]["line"], 0, result["check_id"].rsplit(".", 1)[-1]))
        return found


def found_labels(app: dict, findings: list[tuple[str, int, int, str]], any_cwe: bool) -> list[str]:
    found = []
    for label in app["label"]:
        lines = sink_lines(app, label)
        if any((path, line) in lines and (any_cwe or cwe == label["cwe"]) for path, line, cwe, _ in findings):
            found.append(label["id"])
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-peers", action="store_true", help="flowsight only")
    args = parser.parse_args()
    apps = tomllib.loads(LABELS.read_text())["app"]
    peers: dict[str, str] = {}
    if not args.no_peers:
        for name in ("bandit", "semgrep"):
            path = shutil.which(name) or str(Path(sys.executable).with_name(name))
            if Path(path).exists():
                peers[name] = path
    tools = ["flowsight", *peers]
    rows = [("app", "lines", "CVEs", *(f"{tool}: CVEs found / findings" for tool in tools))]
    result: dict = {"apps": {}}
    totals = {tool: Counter() for tool in tools}
    for app in apps:
        directory = app_directory(app)
        lines = sum(len(path.read_bytes().splitlines()) for path in (directory / app["package"]).rglob("*.py"))
        per_tool = {"flowsight": flowsight_findings(directory, app["package"])}
        if "bandit" in peers:
            per_tool["bandit"] = bandit_findings(directory, app["package"], peers["bandit"])
        if "semgrep" in peers:
            per_tool["semgrep"] = semgrep_findings(directory, app["package"], peers["semgrep"])
        entry = {"version": app["version"], "lines": lines, "labels": [label["id"] for label in app["label"]], "tools": {}}
        cells = []
        for tool in tools:
            findings = per_tool[tool]
            found = found_labels(app, findings, any_cwe=tool == "semgrep")
            by_rule = Counter(rule for _, _, _, rule in findings)
            sink_lines_reported = len({(path, line) for path, line, _, _ in findings})
            entry["tools"][tool] = {
                "found": found,
                "findings": len(findings),
                "sink_lines": sink_lines_reported,
                "by_rule": dict(by_rule.most_common()),
            }
            totals[tool].update({"found": len(found), "labels": len(app["label"]), "findings": len(findings)})
            cells.append(f"{len(found)} / {len(findings)} ({sink_lines_reported} lines)")
        result["apps"][app["name"]] = entry
        rows.append((f"{app['name']} {app['version']}", f"{lines:,}", str(len(app["label"])), *cells))
    overall = []
    for tool in tools:
        counts = totals[tool]
        recall = counts["found"] / counts["labels"] if counts["labels"] else 0.0
        overall.append(f"{counts['found']} / {counts['findings']} (recall {recall:.2f})")
        result[tool] = {"recall": recall, **dict(counts)}
    rows.append(("all", "", str(sum(len(app["label"]) for app in apps)), *overall))
    print(table(rows))
    write_results("real_apps", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
