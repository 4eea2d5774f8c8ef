"""`textDocument/hover`: on a line a taint path passes through, where the taint comes from."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from flowsight.server.session import uri_to_path


def register(server) -> None:  # noqa: ANN001
    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(params: types.HoverParams) -> types.Hover | None:
        try:
            path = Path(uri_to_path(params.text_document.uri))
        except ValueError:
            return None
        folder = server.session.find_folder(path)  # never registers a folder
        if folder is None:
            return None
        key = path.relative_to(folder.root).as_posix()
        line = params.position.line
        notes = []
        for finding in folder.findings:
            for step in finding.steps:
                if step.path == key and step.start_line <= line <= step.end_line and step.kind != "source":
                    source = finding.steps[0]
                    notes.append(
                        f"- tainted by **{source.description}** ({source.path}:{source.start_line + 1})"
                        f" → {finding.rule_id} at {finding.sink.path}:{finding.sink.start_line + 1}"
                    )
                    break
        if not notes:
            return None
        return types.Hover(
            contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value="**flowsight**\n" + "\n".join(sorted(set(notes))))
        )
