"""The native accessors the language server uses: syntax errors with positions, rule ids."""

from __future__ import annotations

from pathlib import Path

import pytest

import flowsight._native as native
from flowsight.errors import RuleConfigError

BROKEN = 'def f(:\n    return\n\nname = "é"; x = (1,\ny = 2\nprint("ok")\n'


def test_syntax_errors_have_positions_in_document_order(tmp_path: Path) -> None:
    workspace = native.Workspace(str(tmp_path))
    workspace.update_file("broken.py", BROKEN)
    errors = workspace.syntax_errors("broken.py")
    assert [(e.path, e.start_line, e.start_column, e.message) for e in errors][0] == ("broken.py", 0, 6, "missing `)`")
    assert len(errors) >= 2 and errors[1].start_line == 3 and errors[1].message == "invalid syntax"
    # Columns are UTF-8 bytes: the error on line 3 starts after `name = "é"; ` (one two-byte character).
    assert all((a.end_line, a.end_column) <= (b.start_line, b.start_column) for a, b in zip(errors, errors[1:], strict=False))
    assert len(workspace.syntax_errors("broken.py", limit=1)) == 1
    workspace.update_file("fine.py", "x = 1\n")
    assert workspace.syntax_errors("fine.py") == []


def test_rule_ids_list_the_built_in_rules_and_a_rules_file(tmp_path: Path) -> None:
    builtin = native.rule_ids()
    assert "sql-injection" in builtin and "command-injection" in builtin and len(set(builtin)) == len(builtin)
    pack = tmp_path / "extra.toml"
    pack.write_text('[[rule]]\nid = "my-rule"\nname = "Mine"\nsink_kind = "SQL"\ncwe = 89\nseverity = "warning"\nmessage = "m"\n')
    bad = tmp_path / "bad.toml"
    bad.write_text("[[rule]\n")
    with pytest.raises(RuleConfigError):
        native.rule_ids(str(bad))
    extended = native.rule_ids(str(pack))
    assert extended[: len(builtin)] == builtin and extended[len(builtin) :] == ["my-rule"]
