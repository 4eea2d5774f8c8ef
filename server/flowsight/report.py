"""Renderings of taint findings for people and machines: text, JSON and SARIF 2.1.0.

Findings come from the native core with 0-based lines and UTF-8 byte columns; the renderings
here show 1-based lines and columns in Unicode code points (text, JSON) or UTF-16 code units
(SARIF's default `columnKind`), converted through `flowsight.positions`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from flowsight import __version__

INFORMATION_URI = "https://github.com/flowsight/flowsight"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
# GitHub code scanning reads `security-severity` (0.0–10.0) to rank security alerts.
SECURITY_SEVERITY = {"error": "8.0", "warning": "5.0", "info": "2.0"}

# (path, 0-based line, UTF-8 byte column) -> column in the wanted unit, 0-based
ColumnConverter = Callable[[str, int, int], int]


class FindingWithSeverity:
    """A finding whose severity a user setting overrides; every other attribute is the finding's."""

    def __init__(self, finding: Any, severity: str) -> None:
        self._finding = finding
        self.severity = severity

    def __getattr__(self, name: str) -> Any:
        return getattr(self._finding, name)


def with_severity(finding: Any, severity: str | None) -> Any:
    return finding if severity is None or severity == finding.severity else FindingWithSeverity(finding, severity)


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
                "source": location_json(finding.source, convert),
                "sink": location_json(finding.sink, convert),
                "steps": [{"kind": step.kind, "description": step.description, **location_json(step, convert)} for step in finding.steps],
            }
            for finding in findings
        ],
    }


def findings_to_text(findings: Sequence[Any], convert: ColumnConverter = identity_columns) -> str:
    if not findings:
        return "No findings.\n"
    lines: list[str] = []
    for finding in findings:
        sink = location_json(finding.sink, convert)
        lines.append(
            f"{sink['path']}:{sink['start_line']}:{sink['start_column']}: {finding.severity}"
            f" [{finding.rule_id}, CWE-{finding.cwe}] {finding.message}"
        )
        for number, step in enumerate(finding.steps, start=1):
            where = location_json(step, convert)
            lines.append(f"    {number}. {where['path']}:{where['start_line']}:{where['start_column']}  {step.kind}: {step.description}")
        lines.append("")
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding.severity] = counts.get(finding.severity, 0) + 1
    summary = ", ".join(f"{count} {severity}" for severity, count in sorted(counts.items()))
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


def sarif_location(location: Any, convert: ColumnConverter, message: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {"uri": location.path, "uriBaseId": "%SRCROOT%"},
            "region": sarif_region(location, convert),
        }
    }
    if message is not None:
        result["message"] = {"text": message}
    return result


def findings_to_sarif(findings: Sequence[Any], root_uri: str, convert: ColumnConverter) -> dict[str, Any]:
    """SARIF 2.1.0 with one rule per rule id (CWE tags) and a codeFlow per finding."""
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
                "originalUriBaseIds": {"%SRCROOT%": {"uri": root_uri}},
                "columnKind": "utf16CodeUnits",
                "results": results,
            }
        ],
    }


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
