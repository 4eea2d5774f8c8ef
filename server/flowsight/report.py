"""Renderings of taint findings for people and machines: text, JSON and SARIF 2.1.0.

Findings come from the native core with 0-based lines and UTF-8 byte columns; the renderings
here show 1-based lines and columns in Unicode code points (text, JSON) or UTF-16 code units
(SARIF's default `columnKind`), converted through `flowsight.positions`.

Names and messages hold whatever the analysed files hold. A file name that is not UTF-8 is a
`str` with surrogate escapes (as `os.fsdecode` gives it). Text output escapes control
characters and such bytes (`escape_text`), so no name or message can forge a report line or
reach the terminal as an escape sequence; JSON writes the surrogates as `\\udcXX` escapes
(`dumps`), which decode back to the same `str`; SARIF URIs percent-encode the name's bytes
(`artifact_uri`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

from flowsight import __version__

INFORMATION_URI = "https://github.com/flowsight/flowsight"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
# GitHub code scanning reads `security-severity` (0.0–10.0) to rank security alerts.
SECURITY_SEVERITY = {"error": "8.0", "warning": "5.0", "info": "2.0"}

# (path, 0-based line, UTF-8 byte column) -> column in the wanted unit, 0-based
ColumnConverter = Callable[[str, int, int], int]


# Characters text output never prints raw: C0 and C1 controls and DEL (terminal escape
# sequences, carriage returns and newlines that forge lines), line and paragraph separators,
# bidirectional overrides and isolates (which reorder what a line shows), and lone surrogates
# (bytes of names that are not UTF-8). Tabs are printed as they are.
UNPRINTABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
# What JSON output escapes beyond what `json.dumps` does (it never emits these outside strings).
JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape_character(match: re.Match[str]) -> str:
    character = match.group()
    code = ord(character)
    if code in (0x0A, 0x0D):
        return "\\n" if code == 0x0A else "\\r"
    if 0xDC80 <= code <= 0xDCFF:  # a byte of a name that is not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}"


def escape_text(text: str) -> str:
    """`text` with every character of `UNPRINTABLE` written as an escape: `\\n`, `\\r`, `\\x1b`
    for C0 controls and DEL, `\\u0085`, `\\u2028`, … for the others, and a byte of a name that
    is not UTF-8 as `\\xe9`. For text output."""
    return UNPRINTABLE.sub(_escape_character, text)


class LocationWithPath:
    """A location whose path is replaced; every other attribute is the location's."""

    def __init__(self, location: Any, path: str) -> None:
        self._location = location
        self.path = path

    def __getattr__(self, name: str) -> Any:
        return getattr(self._location, name)


class FindingWithSeverity:
    """A finding whose severity a user setting overrides; every other attribute is the finding's."""

    def __init__(self, finding: Any, severity: str) -> None:
        self._finding = finding
        self.severity = severity

    def __getattr__(self, name: str) -> Any:
        return getattr(self._finding, name)


class FindingWithPaths:
    """A finding whose source, sink and steps carry other paths (see `with_paths`)."""

    def __init__(self, finding: Any, path_of: Callable[[str], str]) -> None:
        self._finding = finding
        self.source = LocationWithPath(finding.source, path_of(finding.source.path))
        self.sink = LocationWithPath(finding.sink, path_of(finding.sink.path))
        self.steps = [LocationWithPath(step, path_of(step.path)) for step in finding.steps]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._finding, name)


def with_severity(finding: Any, severity: str | None) -> Any:
    return finding if severity is None or severity == finding.severity else FindingWithSeverity(finding, severity)


def with_paths(finding: Any, path_of: Callable[[str], str]) -> Any:
    """`finding` with every location's path mapped through `path_of` (e.g. the core's name of a
    file back to the file's real name)."""
    paths = [finding.source.path, finding.sink.path, *(step.path for step in finding.steps)]
    return finding if all(path_of(path) == path for path in paths) else FindingWithPaths(finding, path_of)


def identity_columns(path: str, line: int, byte_column: int) -> int:
    return byte_column


def location_json(location: Any, convert: ColumnConverter) -> dict[str, Any]:
    return {
        "path": location.path,
        "start_line": location.start_line + 1,
        "start_column": convert(location.path, location.start_line, location.start_column) + 1,
        "end_line": location.end_line + 1,
        "end_column": convert(location.path, location.end_line, location.end_column) + 1,
    }


def findings_to_json(findings: Sequence[Any], convert: ColumnConverter = identity_columns) -> dict[str, Any]:
    return {
        "version": __version__,
        "findings": [
            {
                "id": finding.id,
                "rule_id": finding.rule_id,
                "cwe": f"CWE-{finding.cwe}",
                "severity": finding.severity,
                "message": finding.message,
                "threat_model": getattr(finding, "threat_model", None),
                "source": location_json(finding.source, convert),
                "sink": location_json(finding.sink, convert),
                "steps": [{"kind": step.kind, "description": step.description, **location_json(step, convert)} for step in finding.steps],
            }
            for finding in findings
        ],
    }


# The bounds the analysis may meet, each erring toward more taint (see taint/mod.rs `Incomplete`;
# `flattened_scopes`, met by the CFG both analyses share, too), and the one only slicing meets
# (`shared_finally_copies`), erring toward a larger slice.
BOUNDS = {
    "labels_merged": "values with too many taint labels, merged keeping the least sanitised",
    "expression_depth": "expressions nested too deep, read as every name inside them",
    "step_visits": "steps whose state kept changing, joined with everything that reached them",
    "trace_elided": "paths too long to show whole, shown without their middle steps",
    "places_cut": "access paths too deep inside objects and containers, cut to (and stored on) their prefix",
    "flattened_scopes": "comprehensions and lambdas nested too deep, each evaluated whole by one step (every name read, no guards)",
    "shared_finally_copies": "`finally` blocks nested too deep, one copy shared by several ways of leaving them (more paths)",
    "templates_unresolved": "templates rendered with a name and context keys both unknown, not followed (findings may be missing)",
    "fields_collapsed": "parameters whose callee read too many of their attributes apart, passed whole instead",
    "callees_bounded": (
        "functions calling something with too many possible callees, each such call treated as an unknown call"
        " (findings inside those callees may be missing)"
    ),
    "failed_scopes": "functions whose analysis failed (a bug of flowsight's; their findings may be missing)",
    "unfinished": "solver runs stopped with functions still changing (a bug of flowsight's)",
}


# The bounds that cannot err toward more taint: findings behind them may be missing (their
# descriptions above say so).
MAY_MISS_FINDINGS = {"templates_unresolved", "callees_bounded", "failed_scopes", "unfinished"}


def analysis_bounds(stats: dict[str, int]) -> dict[str, int]:
    """The bounds an analysis met, by kind (only those met)."""
    return {name: stats[name] for name in BOUNDS if stats.get(name, 0)}


def incomplete_note(stats: dict[str, int], toward: str = "more taint") -> str | None:
    """One line saying which bounds the analysis met (erring `toward` what), or None when it met none."""
    bounds = analysis_bounds(stats)
    if not bounds:
        return None
    parts = "; ".join(f"{count} {BOUNDS[name]}" for name, count in bounds.items())
    where = "where it could" if MAY_MISS_FINDINGS.intersection(bounds) else "there"
    return f"note: the analysis met {sum(bounds.values())} bound(s) and erred toward {toward} {where}: {parts}."


def threat_model_tag(finding: Any) -> str:
    """`, threat model: local` for a finding from an opt-in threat model's source; nothing for
    `remote` (the default) and for a check (it has no source). JSON and SARIF name every one."""
    model = getattr(finding, "threat_model", None)
    return f", threat model: {model}" if model and model != "remote" else ""


def findings_to_text(findings: Sequence[Any], convert: ColumnConverter = identity_columns) -> str:
    if not findings:
        return "No findings.\n"
    lines: list[str] = []
    for finding in findings:
        sink = location_json(finding.sink, convert)
        lines.append(
            escape_text(
                f"{sink['path']}:{sink['start_line']}:{sink['start_column']}: {finding.severity}"
                f" [{finding.rule_id}, CWE-{finding.cwe}{threat_model_tag(finding)}] {finding.message}"
            )
        )
        for number, step in enumerate(finding.steps, start=1):
            where = location_json(step, convert)
            lines.append(
                "    "
                + escape_text(f"{number}. {where['path']}:{where['start_line']}:{where['start_column']}  {step.kind}: {step.description}")
            )
        lines.append("")
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding.severity] = counts.get(finding.severity, 0) + 1
    summary = escape_text(", ".join(f"{count} {severity}" for severity, count in sorted(counts.items())))
    lines.append(f"{len(findings)} finding{'s' if len(findings) != 1 else ''} ({summary}).")
    return "\n".join(lines) + "\n"


def sarif_region(location: Any, convert: ColumnConverter) -> dict[str, Any]:
    where = location_json(location, convert)
    return {
        "startLine": where["start_line"],
        "startColumn": where["start_column"],
        "endLine": where["end_line"],
        "endColumn": where["end_column"],
    }


def artifact_uri(path: str) -> str:
    """A file's path as a URI reference: relative (to `%SRCROOT%`) for a relative path, a
    `file:` URI for an absolute one. Every byte of the name but unreserved characters and `/`
    is percent-encoded (`%`, `#`, `?`, `:` and spaces included); non-ASCII as its UTF-8 bytes,
    a name that is not UTF-8 as its own bytes."""
    try:
        name = os.fsencode(path)
    except UnicodeEncodeError:  # a surrogate that is no escaped byte: not from a file name
        name = path.encode("utf-8", errors="surrogatepass")
    encoded = quote(name, safe="/")
    return "file://" + encoded if path.startswith("/") else encoded


def artifact_location(path: str) -> dict[str, Any]:
    if path.startswith("/"):
        return {"uri": artifact_uri(path)}
    return {"uri": artifact_uri(path), "uriBaseId": "%SRCROOT%"}


def directory_uri(directory: os.PathLike[str] | str) -> str:
    """A directory's `file:` URI, ending in `/` (as SARIF wants a base URI)."""
    uri = artifact_uri(os.fspath(directory))
    return uri if uri.endswith("/") else uri + "/"


def sarif_location(location: Any, convert: ColumnConverter, message: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": artifact_location(location.path),
            "region": sarif_region(location, convert),
        }
    }
    if message is not None:
        result["message"] = {"text": message}
    return result


def sarif_notification(problem: Any) -> dict[str, Any]:
    """A per-file problem (`path`, `kind`, `message`) as a SARIF tool execution notification."""
    return {
        "level": "error" if problem.kind == "io" else "warning",
        "message": {"text": f"{problem.path}: {problem.message}"},
        "descriptor": {"id": problem.kind},
        "locations": [{"physicalLocation": {"artifactLocation": artifact_location(problem.path)}}],
    }


def findings_to_sarif(
    findings: Sequence[Any], root_uri: str, convert: ColumnConverter, problems: Sequence[Any] = (), stats: dict[str, int] | None = None
) -> dict[str, Any]:
    """SARIF 2.1.0 with one rule per rule id (CWE tags) and a codeFlow per finding; per-file
    problems (files not read or not fully parsed, directories not listed) are notifications
    of the run's invocation, and so are the bounds the analysis met (also counted in the run's
    `properties.incomplete`). `root_uri` is the `%SRCROOT%` base, ending in `/`."""
    stats = stats or {}
    notifications = [sarif_notification(problem) for problem in problems]
    note = incomplete_note(stats)
    if note is not None:
        notifications.append({"level": "note", "message": {"text": note.removeprefix("note: ")}, "descriptor": {"id": "incomplete"}})
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for finding in findings:
        if finding.rule_id not in rules:
            rules[finding.rule_id] = {
                "id": finding.rule_id,
                "name": finding.rule_id,
                "shortDescription": {"text": f"{finding.rule_id} (CWE-{finding.cwe})"},
                "helpUri": f"https://cwe.mitre.org/data/definitions/{finding.cwe}.html",
                "defaultConfiguration": {"level": SARIF_LEVEL.get(finding.severity, "warning")},
                "properties": {
                    "tags": ["security", f"CWE-{finding.cwe}"],
                    "security-severity": SECURITY_SEVERITY.get(finding.severity, "5.0"),
                },
            }
        results.append(
            {
                "ruleId": finding.rule_id,
                "ruleIndex": list(rules).index(finding.rule_id),
                "level": SARIF_LEVEL.get(finding.severity, "warning"),
                "message": {"text": finding.message},
                "locations": [sarif_location(finding.sink, convert)],
                "relatedLocations": [{"id": 1, **sarif_location(finding.source, convert, "source")}],
                "partialFingerprints": {"flowsightFindingId/v1": finding.id},
                **({"properties": {"threatModel": model}} if (model := getattr(finding, "threat_model", None)) else {}),
                "codeFlows": [
                    {
                        "threadFlows": [
                            {
                                "locations": [
                                    {"location": sarif_location(step, convert, f"{step.kind}: {step.description}")}
                                    for step in finding.steps
                                ]
                            }
                        ]
                    }
                ],
            }
        )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "flowsight",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": list(rules.values()),
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": True,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "originalUriBaseIds": {"%SRCROOT%": {"uri": root_uri}},
                "columnKind": "utf16CodeUnits",
                "properties": {"incomplete": sum(analysis_bounds(stats).values()), "bounds": analysis_bounds(stats)},
                "results": results,
            }
        ],
    }


def dumps(document: Any) -> str:
    """JSON text that is valid Unicode whatever the strings hold: lone surrogates (names that
    are not UTF-8), DEL, C1 controls, U+2028/U+2029 and bidirectional controls are written as
    `\\uXXXX` escapes (`json.dumps` already escapes C0 controls)."""
    text = json.dumps(document, indent=2, ensure_ascii=False)
    return JSON_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text) + "\n"
