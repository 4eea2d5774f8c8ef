"""`textDocument/codeAction`: slice from here (backward, forward), show the taint path,
suppress a finding with `# flowsight: ignore[RULE]`, and wrap the tainted argument in the
rule's canonical sanitiser when its pack names one (`fix = { call = … }`, docs/RULES.md).

The slice actions apply to every line, so they are offered only when the user asks for actions
(trigger kind Invoked, or a client that sends no trigger kind). An automatic request (VS Code's
lightbulb, as the cursor moves) gets only the actions specific to the line: a finding's path,
suppression and sanitiser fix; on other lines nothing, so no lightbulb shows there."""

from __future__ import annotations

import functools

from lsprotocol import types

from flowsight import positions
from flowsight._native import is_template_path, rule_fixes
from flowsight.errors import FlowsightError
from flowsight.server.session import read_text


@functools.lru_cache(maxsize=8)
def suppression(path: str, rule_id: str) -> str:
    """The comment that suppresses `rule_id` at the end of a line of `path`: a template comment
    in a template file (a `#` there would be page text)."""
    if is_template_path(path):
        return f" {{# flowsight: ignore[{rule_id}] #}}"
    return f"  # flowsight: ignore[{rule_id}]"


def sanitisers(rules_file: str | None, text: str | None) -> dict[str, tuple[str, str]]:
    """Rule id → (module, call) of the sanitiser its pack names (`fix = { call = … }` in the rule
    packs, the user's included); keyed by the rules file's text too, so an edited file is read
    again. A rules file the core rejects leaves the built-in packs' fixes."""
    try:
        return rule_fixes(rules_file)
    except FlowsightError:
        return rule_fixes(None)


def insertion_line(lines: list[str]) -> int:
    """The line after the last top-level import (so `from __future__` stays first)."""
    last = -1
    for number, line in enumerate(lines[:400]):
        if line.startswith(("import ", "from ")):
            last = number
    return last + 1


def register(server) -> None:  # noqa: ANN001
    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.Empty]),
    )
    def code_action(params: types.CodeActionParams) -> list[types.CodeAction]:
        uri = params.text_document.uri
        position = params.range.start
        arguments = {"uri": uri, "position": {"line": position.line, "character": position.character}, "thin": False}
        automatic = params.context.trigger_kind == types.CodeActionTriggerKind.Automatic
        slice_actions = [
            types.CodeAction(
                title=f"flowsight: {direction.capitalize()} slice from here",
                kind=types.CodeActionKind.Empty,
                command=types.Command(
                    title=f"{direction.capitalize()} slice",
                    command="flowsight.showSlice",
                    arguments=[{**arguments, "direction": direction}],
                ),
            )
            for direction in ("backward", "forward")
        ]
        actions = [] if automatic else slice_actions
        try:
            folder, findings = server.session.findings_at(uri, position.line)
        except (KeyError, ValueError):
            return actions
        document = server.session.documents.get(uri)
        if not findings or document is None:
            # Edits only for an open document (any other would have to be read from disk).
            return actions
        lines = positions.split_lines(document.text())
        for finding in findings:
            actions.append(
                types.CodeAction(
                    title=f"flowsight: Show taint path ({finding.rule_id})",
                    kind=types.CodeActionKind.Empty,
                    command=types.Command(title="Show taint path", command="flowsight.explainTaint", arguments=[finding.id]),
                )
            )
            line = finding.sink.start_line
            line_text = lines[line] if line < len(lines) else ""
            end = server.session.column(line_text, len(line_text.encode()))
            actions.append(
                types.CodeAction(
                    title=f"flowsight: Suppress {finding.rule_id} on this line",
                    kind=types.CodeActionKind.QuickFix,
                    edit=types.WorkspaceEdit(
                        changes={
                            uri: [
                                types.TextEdit(
                                    range=types.Range(
                                        start=types.Position(line=line, character=end), end=types.Position(line=line, character=end)
                                    ),
                                    new_text=suppression(finding.sink.path, finding.rule_id),
                                )
                            ]
                        }
                    ),
                )
            )
            rules_file = folder.settings.rules if folder.settings is not None else None
            fixes = sanitisers(rules_file, read_text(rules_file))
            if finding.rule_id in fixes:
                argument = next((step for step in reversed(finding.steps) if step.kind == "argument"), None)
                if argument is not None and argument.start_line == argument.end_line and argument.path == finding.sink.path:
                    module, call = fixes[finding.rule_id]
                    raw = line_text.encode()
                    inner = raw[argument.start_column : argument.end_column].decode(errors="replace")
                    # Only a plain name is wrapped: quoting a whole command string would be wrong.
                    if inner.isidentifier():
                        start = server.session.column(line_text, argument.start_column)
                        end_column = server.session.column(line_text, argument.end_column)
                        import_line = insertion_line(lines)
                        actions.append(
                            types.CodeAction(
                                title=f"flowsight: Sanitise with {call}",
                                kind=types.CodeActionKind.QuickFix,
                                edit=types.WorkspaceEdit(
                                    changes={
                                        uri: [
                                            types.TextEdit(
                                                range=types.Range(
                                                    start=types.Position(line=import_line, character=0),
                                                    end=types.Position(line=import_line, character=0),
                                                ),
                                                new_text=f"import {module}\n",
                                            ),
                                            types.TextEdit(
                                                range=types.Range(
                                                    start=types.Position(line=argument.start_line, character=start),
                                                    end=types.Position(line=argument.start_line, character=end_column),
                                                ),
                                                new_text=f"{call}({inner})",
                                            ),
                                        ]
                                    }
                                ),
                            )
                        )
        return actions
