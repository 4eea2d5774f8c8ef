"""Analysis through the incremental Workspace: PDGs, findings and slices over the current
texts, equal to a from-scratch analysis after random edit sequences."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, example, given, settings, strategies as st

import flowsight
from conftest import REPOSITORY_ROOT

EXAMPLE = REPOSITORY_ROOT / "examples" / "vulnerable_app"


def load(root: Path) -> flowsight.Workspace:
    ws = flowsight.Workspace(str(root))
    for path in sorted(root.rglob("*.py")):
        ws.load_file(str(path))
    return ws


def test_build_pdg_describes_steps_and_edges(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("def f(a):\n    b = a + 1\n    if b:\n        c = b\n    return c\n")
    [module, function] = flowsight.build_pdg(str(path))
    assert (module.qualified_name, function.qualified_name) == ("m", "m.f")
    lines = {index: (kind, first) for index, (kind, first, _) in enumerate(function.steps)}
    by_line = {first: index for index, (kind, first) in lines.items() if first}
    assert (by_line[2], by_line[3], "b") in function.data_edges
    assert (by_line[3], by_line[4]) in function.control_edges
    assert lines[by_line[3]][0] == "condition"


def test_workspace_findings_equal_a_scan() -> None:
    ws = load(EXAMPLE)
    from_workspace = [(f.rule_id, f.sink.path, f.sink.start_line) for f in ws.analyze_taint()]
    from_scan = [(f.rule_id, f.sink.path, f.sink.start_line) for f in flowsight.analyze_taint([str(EXAMPLE)], root=str(EXAMPLE)).findings]
    assert from_workspace == from_scan and len(from_workspace) == 8


EDITS = ["", "x", "\n", "    return term\n", "os.system(term)\n    ", "(", ":", "# comment\n", "term = 'constant'\n    "]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["shop/db.py", "shop/views.py", "shop/files.py"]),
            st.integers(0, 60),
            st.integers(0, 30),
            st.sampled_from(EDITS),
        ),
        min_size=1,
        max_size=6,
    )
)
# A function whose text is unchanged but whose parse changes with an edit elsewhere in a broken
# file (tree-sitter's error recovery is not local).
@example(edits=[("shop/views.py", 33, 4, "x"), ("shop/views.py", 55, 0, "    return term\n")])
def test_incremental_findings_and_slices_equal_from_scratch(tmp_path: Path, edits: list[tuple[str, int, int, str]]) -> None:
    ws = load(EXAMPLE)
    for version, (path, line, column, text) in enumerate(edits, start=1):
        ws.apply_edits(path, version, [flowsight.TextEdit(line, column, line, column, text)])
        scratch = flowsight.Workspace(str(EXAMPLE))
        for name in ws.files():
            scratch.update_file(name, ws.text(name))

        # Findings are the same (rule, source, sink) and show the same steps: none points at a
        # place of an older text.
        def identity(findings: list[flowsight.Finding]) -> list[tuple]:
            return [
                (f.id, f.rule_id, f.source, f.sink, [(s.path, s.start_line, s.start_column, s.kind) for s in f.steps]) for f in findings
            ]

        assert identity(ws.analyze_taint()) == identity(scratch.analyze_taint())
        criterion_line = min(line, ws.text(path).count("\n"))
        try:
            incremental = ws.slice_code(path, criterion_line).files
        except flowsight.errors.UsageError:
            incremental = None
        try:
            fresh = scratch.slice_code(path, criterion_line).files
        except flowsight.errors.UsageError:
            fresh = None
        assert incremental == fresh


def test_files_added_and_removed_between_analyses_equal_from_scratch() -> None:
    # New keys sort before and between the existing ones, so every later file's program part
    # moves to another place.
    ws = load(EXAMPLE)
    ws.analyze_taint()
    ws.update_file("aaa_first.py", "import os\nfrom flask import request\n\ndef run():\n    os.system(request.args['c'])\n", 1)
    ws.update_file("shop/cache.py", "from shop.db import find_products\n\ndef cached(term):\n    return find_products(term)\n", 1)
    ws.remove_file("shop/files.py")
    incremental = ws.analyze_taint()
    scratch = flowsight.Workspace(str(EXAMPLE))
    for name in ws.files():
        scratch.update_file(name, ws.text(name))
    steps = lambda findings: [(f.id, f.rule_id, [(s.path, s.start_line, s.kind) for s in f.steps]) for f in findings]  # noqa: E731
    assert steps(incremental) == steps(scratch.analyze_taint())
    assert any(f.sink.path == "aaa_first.py" for f in incremental)
    assert not any(f.sink.path == "shop/files.py" for f in incremental)


def test_a_base_class_changed_in_another_file_changes_what_subclass_methods_call(tmp_path: Path) -> None:
    base = (
        "import os\n\n\nclass Runner:\n    def run(self, x):\n        os.system(x)\n\n\n"
        "class Quiet:\n    def run(self, x):\n        pass\n\n\nclass Mid(Runner):\n    pass\n"
    )
    views = (
        "from flask import request\nfrom base import Mid\n\n\nclass Page(Mid):\n    def get(self):\n        self.run(request.args['c'])\n"
    )
    ws = flowsight.Workspace(str(tmp_path))
    ws.update_file("base.py", base, 1)
    ws.update_file("views.py", views, 1)
    [finding] = ws.analyze_taint()
    assert finding.rule_id == "command-injection"
    # `Page.get` is unchanged, but `self.run` now means `Quiet.run`.
    ws.update_file("base.py", base.replace("class Mid(Runner)", "class Mid(Quiet)"), 2)
    assert ws.analyze_taint() == []


def test_a_callee_edited_without_changing_its_summary_moves_its_steps_in_callers_findings(tmp_path: Path) -> None:
    helper = "def f(x):\n    y = x\n    return y\n"
    view = "import os\nfrom flask import request\nfrom a import f\n\ndef view():\n    q = request.args['q']\n    os.system(f(q))\n"
    ws = flowsight.Workspace(str(tmp_path))
    ws.update_file("a.py", helper, 1)
    ws.update_file("b.py", view, 1)
    ws.analyze_taint()
    ws.apply_edits("a.py", 2, [flowsight.TextEdit(1, 0, 1, 0, "    # a comment above `y = x`\n")])
    [finding] = ws.analyze_taint()
    assert [(s.path, s.start_line, s.kind) for s in finding.steps if s.path == "a.py"] == [("a.py", 2, "assignment"), ("a.py", 3, "return")]
    # Only the edited function ran again: its summary did not change, and the caller's finding
    # moved with the text (its cached steps are rebased, 17da24f), so the caller is reused.
    assert ws.last_analysis()["analysed"] == 1


def test_only_changed_functions_and_affected_callers_are_reanalysed() -> None:
    ws = load(EXAMPLE)
    first = ws.analyze_taint()
    stats = ws.last_analysis()
    assert stats["reused"] == 0 and stats["analysed"] >= stats["scopes"]
    # Nothing changed: everything is reused.
    assert ws.analyze_taint() == first
    assert ws.last_analysis()["analysed"] == 0 and ws.last_analysis()["reused"] == stats["scopes"]
    # An edit inside the last function of db.py that changes no summary: only it is analysed.
    text = ws.text("shop/db.py")
    line = text.splitlines().index("    return cursor.fetchone()[0]")
    ws.apply_edits("shop/db.py", 1, [flowsight.TextEdit(line, 4, line, 4, "count = 1\n    ")])
    assert len(ws.analyze_taint()) == len(first)
    assert ws.last_analysis()["analysed"] == 1
    # An edit that sanitises a helper's sink changes its summary: its callers are re-analysed
    # too, and the cross-file finding disappears.
    text = ws.text("shop/files.py")
    sink = '    os.system("gzip -k " + name)  # sink: CWE-78'
    line = text.splitlines().index(sink)
    column = sink.index("name)")
    ws.apply_edits("shop/files.py", 2, [flowsight.TextEdit(line, column, line, column + 4, "shlex.quote(name)")])
    findings = ws.analyze_taint()
    assert len(findings) == len(first) - 1
    stats = ws.last_analysis()
    assert 2 <= stats["analysed"] < stats["scopes"]


def test_renaming_a_function_reanalyses_its_module_and_importers_only() -> None:
    ws = load(EXAMPLE)
    ws.analyze_taint()
    text = ws.text("shop/db.py")
    line = text.splitlines().index("def find_products(term):")
    ws.apply_edits("shop/db.py", 1, [flowsight.TextEdit(line, 4, line, 4, "old_")])
    findings = ws.analyze_taint()
    stats = ws.last_analysis()
    assert 0 < stats["analysed"] < stats["scopes"] + 5 and stats["reused"] > 0
    scratch = load(EXAMPLE)
    scratch.update_file("shop/db.py", ws.text("shop/db.py"))
    assert [(f.id, f.rule_id) for f in findings] == [(f.id, f.rule_id) for f in scratch.analyze_taint()]
    # The view's call no longer resolves: the SQL finding through it is gone.
    assert "sql-injection" not in {f.rule_id for f in findings}
