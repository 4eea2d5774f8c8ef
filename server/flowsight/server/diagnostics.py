"""Findings and syntax errors → LSP diagnostics. A finding's message summarises the path (Neovim
and Helix do not show related information); every step is also a `relatedInformation` entry.
Syntax errors have the source "flowsight (syntax)"."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from flowsight import positions

SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "info": types.DiagnosticSeverity.Information,
}


def lsp_range(
    lines: positions.TextLines, start_line: int, start_byte: int, end_line: int, end_byte: int, encoding: positions.Encoding
) -> types.Range:
    return types.Range(
        start=types.Position(line=start_line, character=lines.column(start_line, start_byte, encoding)),
        end=types.Position(line=end_line, character=lines.column(end_line, end_byte, encoding)),
    )


def to_diagnostic(finding, root: Path, texts: dict[str, positions.TextLines], encoding: positions.Encoding) -> types.Diagnostic:
    sink = finding.sink
    related = []
    for number, step in enumerate(finding.steps, start=1):
        lines = texts[step.path]
        related.append(
            types.DiagnosticRelatedInformation(
                location=types.Location(
                    uri=(root / step.path).as_uri(),
                    range=lsp_range(lines, step.start_line, step.start_column, step.end_line, step.end_column, encoding),
                ),
                message=f"{number}. {step.kind}: {step.description}",
            )
        )
    return types.Diagnostic(
        range=lsp_range(texts[sink.path], sink.start_line, sink.start_column, sink.end_line, sink.end_column, encoding),
        message=finding.message,
        severity=SEVERITY.get(finding.severity, types.DiagnosticSeverity.Warning),
        code=finding.rule_id,
        code_description=types.CodeDescription(href=f"https://cwe.mitre.org/data/definitions/{finding.cwe}.html"),
        source="flowsight",
        related_information=related,
        # The threat model of the source (`remote`, `local`, `database`); none for a non-taint check.
        data={"findingId": finding.id, **({"threatModel": model} if (model := getattr(finding, "threat_model", None)) else {})},
    )


SYNTAX_SOURCE = "flowsight (syntax)"


def syntax_diagnostic(error, lines: positions.TextLines, encoding: positions.Encoding) -> types.Diagnostic:
    """A syntax error as an Error diagnostic (the server applies the configured severity). An
    error spanning lines (tree-sitter's ERROR node can swallow a block) is shown on its first
    line only."""
    end_line, end_column = error.end_line, error.end_column
    if end_line > error.start_line:
        end_line, end_column = (
            error.start_line,
            len(lines.lines[error.start_line]) if error.start_line < len(lines.lines) else error.start_column,
        )
    return types.Diagnostic(
        range=lsp_range(lines, error.start_line, error.start_column, end_line, end_column, encoding),
        message=f"syntax error: {error.message}",
        severity=types.DiagnosticSeverity.Error,
        code="syntax-error",
        source=SYNTAX_SOURCE,
    )


def too_large_diagnostic(size: int, limit: int) -> types.Diagnostic:
    """Shown on a document over the size limit, which is not analysed."""
    return types.Diagnostic(
        range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)),
        message=f"flowsight: this document is {size / (1 << 20):.1f} MiB, over the {limit >> 20} MiB limit; it is not analysed",
        severity=types.DiagnosticSeverity.Warning,
        source="flowsight",
        code="document-too-large",
    )
