"""Exports and merges (issue 13, item 7): `flowsight export` writes one repository's summaries,
findings and calls into other repositories; `flowsight merge` of the exports finds the flows
that cross repositories — exactly those `flowsight scan` of the repositories together finds,
which separate scans do not — without analysing any repository again. Fixtures:
tests/fixtures/merge (markers name each crossing flow's source and sink)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from taint_expectations import PATH_MARK, SINK_MARK

FIXTURES = Path(__file__).parent / "fixtures" / "merge"
SETS = {"two": ["web", "kit"], "three": ["portal", "gateway", "runner"]}
CWE = re.compile(r"CWE-(\d+)")

# (rule id, source path, source line, source column, sink path, sink line), paths from the set's directory.
Flow = tuple[str, str, int, int, str, int]


def flowsight(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flowsight", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def copy_set(name: str, tmp_path: Path) -> Path:
    """The set's repositories in a directory of their own (no pyproject.toml above them)."""
    target = tmp_path / name
    shutil.copytree(FIXTURES / name, target)
    return target


def marked(directory: Path) -> set[tuple[str, int, str, int, str]]:
    """(source file, source line, sink file, sink line, CWE) of every labelled flow, lines 1-based
    as JSON reports give them."""
    sources: dict[str, tuple[str, int]] = {}
    sinks: dict[str, list[tuple[str, int, int]]] = {}
    for file in sorted(directory.rglob("*.py")):
        path = file.relative_to(directory).as_posix()
        for line, text in enumerate(file.read_text().splitlines(), start=1):
            for match in SINK_MARK.finditer(text):
                for cwe in CWE.findall(match.group(2)):
                    sinks.setdefault(match.group(1), []).append((path, line, f"CWE-{cwe}"))
            for match in PATH_MARK.finditer(text):
                if match.group(1) == "source":
                    sources[match.group(2)] = (path, line)
    assert set(sources) == set(sinks), "every label has a source and a sink"
    return {(*sources[label], sink, line, cwe) for label, places in sinks.items() for sink, line, cwe in places}


def findings(report: dict) -> set[tuple[Flow, str]]:
    return {
        (
            (
                f["rule_id"],
                f["source"]["path"],
                f["source"]["start_line"],
                f["source"]["start_column"],
                f["sink"]["path"],
                f["sink"]["start_line"],
            ),
            f["cwe"],
        )
        for f in report["findings"]
    }


def scan(directory: Path, *repositories: str) -> set[tuple[Flow, str]]:
    proc = flowsight("scan", "--no-cache", "--format", "json", *repositories, cwd=directory)
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    # Paths relative to the report's root: for one repository its own root, else the set's directory.
    prefix = Path(report["root"]).relative_to(directory).as_posix()
    return _scan_findings(report, prefix)


def _scan_findings(report: dict, prefix: str) -> set[tuple[Flow, str]]:
    def path(p: str) -> str:
        return p if prefix == "." else f"{prefix}/{p}"

    return {
        ((rule, path(source), line, column, path(sink), sink_line), cwe)
        for (rule, source, line, column, sink, sink_line), cwe in findings(report)
    }


def export(directory: Path, repository: str, output: Path) -> Path:
    proc = flowsight("export", repository, "--output", str(output), cwd=directory)
    assert proc.returncode == 0, proc.stderr
    return output


def merge(directory: Path, *files: Path, format: str = "json") -> subprocess.CompletedProcess[str]:
    return flowsight("merge", "--format", format, *map(str, files), cwd=directory)


def crossing(found: set[tuple[Flow, str]]) -> set[tuple[Flow, str]]:
    return {(flow, cwe) for flow, cwe in found if flow[1].split("/")[0] != flow[4].split("/")[0]}


@pytest.mark.parametrize("name", sorted(SETS))
def test_merge_of_exports_finds_what_a_scan_of_the_repositories_together_finds(name: str, tmp_path: Path) -> None:
    directory = copy_set(name, tmp_path)
    repositories = SETS[name]
    together = scan(directory, *repositories)
    separate = set().union(*(scan(directory, repository) for repository in repositories))
    # Separate scans find no crossing flow; together, exactly the marked ones beside those.
    assert crossing(separate) == set()
    expected = marked(directory)
    assert {(flow[1], flow[2], flow[4], flow[5], cwe) for flow, cwe in crossing(together)} == expected
    assert together == separate | crossing(together)

    exports = [export(directory, repository, tmp_path / f"{repository}.json") for repository in repositories]
    proc = merge(directory, *exports)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    merged = findings(report)
    assert merged == together
    assert report["cross_repository"] == len(crossing(together)) == len(expected)
    assert [r["name"] for r in report["repositories"]] == repositories
    # Every step of a crossing path names its repository.
    for finding in report["findings"]:
        assert all(step["path"].split("/")[0] in repositories for step in finding["steps"])


def test_a_crossing_path_shows_each_repository_it_passes(tmp_path: Path) -> None:
    directory = copy_set("three", tmp_path)
    exports = [export(directory, repository, tmp_path / f"{repository}.json") for repository in SETS["three"]]
    report = json.loads(merge(directory, *exports).stdout)
    (chain,) = [f for f in report["findings"] if f["source"]["path"].startswith("portal/")]
    repositories = [step["path"].split("/")[0] for step in chain["steps"]]
    assert repositories[0] == "portal" and repositories[-1] == "runner" and "gateway" in repositories
    assert repositories == sorted(repositories, key=SETS["three"].index), "steps go portal → gateway → runner"
    text = merge(directory, *exports, format="text").stdout
    assert "1 finding(s) cross repositories" in text
    sarif = json.loads(merge(directory, *exports, format="sarif").stdout)
    assert len(sarif["runs"][0]["results"]) == len(report["findings"])


def test_an_export_states_its_schema_identity_and_external_calls(tmp_path: Path) -> None:
    directory = copy_set("two", tmp_path)
    data = json.loads(export(directory, "web", tmp_path / "web.json").read_text())
    assert (data["schema"], data["version"]) == ("flowsight-export", 1)
    assert data["repository"]["name"] == "web"
    assert data["repository"]["identity"] == str((directory / "web").resolve())
    assert data["repository"]["provides"] == ["app"]
    assert "shellkit" in data["repository"]["imports"]
    called = {(call["callee"], call["argument"]) for call in data["calls"]}
    assert {("shellkit.run", "c0"), ("shellkit.shell.Shell.launch", "p0"), ("shellkit.query", "ktext")} <= called
    assert not any(callee.startswith("flask.") for callee, _ in called), "a source is no call into another repository"
    kit = json.loads(export(directory, "kit", tmp_path / "kit.json").read_text())
    functions = {function["name"]: function for function in kit["functions"]}
    assert [sink["cwe"] for sink in functions["shellkit.run"]["sinks"]] == [78]
    assert "sinks" not in functions["shellkit.safe.run_quoted"], "quoted: no parameter reaches a sink unsanitised (left out)"
    assert kit["aliases"]["shellkit.Shell"] == "shellkit.shell.Shell"


def test_merge_refuses_what_is_not_a_sound_input(tmp_path: Path) -> None:
    directory = copy_set("two", tmp_path)
    web = export(directory, "web", tmp_path / "web.json")
    kit = export(directory, "kit", tmp_path / "kit.json")
    document = json.loads(web.read_text())

    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({**document, "version": 99}))
    truncated = tmp_path / "truncated.json"
    truncated.write_text(web.read_text()[: len(web.read_text()) // 2])
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"findings": []}))
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text(json.dumps({**document, "functions": "many"}))
    renamed = tmp_path / "renamed.json"
    renamed.write_text(json.dumps({**document, "repository": {**document["repository"], "name": "other"}}))

    cases = {
        newer: "export schema version 99; this flowsight reads version 1",
        truncated: "truncated or corrupt JSON",
        foreign: "not a flowsight export",
        corrupt: "corrupt export",
    }
    for bad, message in cases.items():
        proc = merge(directory, kit, bad)
        assert proc.returncode == 2, proc.stdout
        assert proc.stderr.startswith(f"flowsight: error: {bad}: ") and message in proc.stderr, proc.stderr
    proc = merge(directory, web, kit, web)
    assert proc.returncode == 2 and "exported twice" in proc.stderr, proc.stderr
    proc = merge(directory, web, renamed)
    assert proc.returncode == 2 and "exported twice" in proc.stderr, "the same identity under another name"
    proc = merge(directory, kit, tmp_path / "missing.json")
    assert proc.returncode == 2 and "missing.json" in proc.stderr


def test_export_is_of_one_repository(tmp_path: Path) -> None:
    directory = copy_set("two", tmp_path)
    proc = flowsight("export", "web", "kit", cwd=directory)
    assert proc.returncode == 2
