"""Oracles for slicing that need no hand labels.

- Executable slices: on generated terminating programs, the program reduced to the backward
  slice of `print(v)` (every other statement becomes `pass`, every other compound header
  `if True:`) prints the same value.
- Metamorphic: renaming variables or inserting dead code changes no slice (modulo the
  inserted lines) and no taint finding."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

import flowsight

VARIABLES = ["v0", "v1", "v2", "v3"]
HELPERS = '''def double_plus(a, b):
    c = a * 2
    return c + b


def pick(a, b):
    if a > b:
        return a
    return b


'''


@st.composite
def statements(draw: st.DrawFn, depth: int = 0) -> list[str]:
    count = draw(st.integers(min_value=1, max_value=4 if depth else 7))
    lines: list[str] = []
    for _ in range(count):
        target = draw(st.sampled_from(VARIABLES))
        a, b = draw(st.sampled_from(VARIABLES)), draw(st.sampled_from(VARIABLES))
        k = draw(st.integers(min_value=0, max_value=5))
        kind = draw(st.sampled_from(["assign", "assign", "augment", "call", "if", "for"] if depth < 2 else ["assign", "augment", "call"]))
        if kind == "assign":
            lines.append(f"{target} = {draw(st.sampled_from([f'{a} + {k}', f'{a} * {b}', str(k), f'{a} - {b}']))}")
        elif kind == "augment":
            lines.append(f"{target} += {a}")
        elif kind == "call":
            lines.append(f"{target} = {draw(st.sampled_from(['double_plus', 'pick']))}({a}, {b})")
        elif kind == "if":
            lines.append(f"if {a} > {k}:")
            lines.extend("    " + line for line in draw(statements(depth + 1)))
            if draw(st.booleans()):
                lines.append("else:")
                lines.extend("    " + line for line in draw(statements(depth + 1)))
        else:
            lines.append(f"for i in range({k % 3}):")
            lines.extend("    " + line for line in draw(statements(depth + 1)))
    return lines


def program(body: list[str], printed: str) -> str:
    main = ["def main():", "    v0, v1, v2, v3 = 1, 2, 3, 4"] + ["    " + line for line in body] + [f"    print({printed})"]
    return HELPERS + "\n".join(main) + "\n\n\nmain()\n"


def run(source: str) -> list[object]:
    printed: list[object] = []
    exec(compile(source, "<generated>", "exec"), {"print": lambda *values: printed.extend(values), "range": range})  # noqa: S102 - our own generated program
    return printed


def reduce_to(source: str, keep: set[int]) -> str:
    lines = source.splitlines()
    reduced = []
    in_function = False
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if line.startswith("def "):
            in_function = True
            reduced.append(line)
            continue
        if not line.startswith(" "):
            in_function = False
        if not in_function or not stripped or number in keep:
            reduced.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        reduced.append(indent + ("if True:" if stripped.endswith(":") and stripped != "else:" else "else:" if stripped == "else:" else "pass"))
    return "\n".join(reduced) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=statements(), printed=st.sampled_from(VARIABLES))
def test_executable_backward_slices(tmp_path: Path, body: list[str], printed: str) -> None:
    source = program(body, printed)
    path = tmp_path / "generated.py"
    path.write_text(source)
    criterion = source.splitlines().index(f"    print({printed})")
    result = flowsight.slice_code([str(path)], file=str(path), line=criterion, root=str(tmp_path))
    keep = set(result.files.get("generated.py", []))
    reduced = reduce_to(source, keep)
    assert run(reduced) == run(source), f"\n--- program\n{source}\n--- slice {sorted(keep)}\n{reduced}"


def rename(source: str, mapping: dict[str, str]) -> str:
    for old, new in mapping.items():
        source = re.sub(rf"\b{old}\b", new, source)
    return source


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=statements(), printed=st.sampled_from(VARIABLES))
def test_renaming_and_dead_code_keep_slices(tmp_path: Path, body: list[str], printed: str) -> None:
    source = program(body, printed)
    criterion = source.splitlines().index(f"    print({printed})")
    (tmp_path / "a").mkdir(exist_ok=True)
    (tmp_path / "b").mkdir(exist_ok=True)
    original = tmp_path / "a" / "m.py"
    original.write_text(source)
    # Renamed variables, and a dead branch inserted right after `def main():`.
    changed = rename(source, {"v0": "alpha", "v1": "beta", "v2": "gamma", "v3": "delta"})
    changed_lines = changed.splitlines()
    main_line = changed_lines.index("def main():")
    changed_lines[main_line + 1 : main_line + 1] = ["    if False:", "        unused = 42"]
    (tmp_path / "b" / "m.py").write_text("\n".join(changed_lines) + "\n")
    before = flowsight.slice_code([str(original)], file=str(original), line=criterion, root=str(tmp_path / "a"))
    after = flowsight.slice_code([str(tmp_path / "b" / "m.py")], file=str(tmp_path / "b" / "m.py"), line=criterion + 2, root=str(tmp_path / "b"))
    shift = lambda number: number + 2 if number > main_line + 1 else number  # noqa: E731
    assert sorted(shift(n) for n in before.files["m.py"]) == after.files["m.py"]


def test_renaming_and_dead_code_keep_findings(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parent.parent / "examples" / "vulnerable_app"
    target = tmp_path / "vulnerable_app"
    for path in example.rglob("*.py"):
        destination = target / path.relative_to(example)
        destination.parent.mkdir(parents=True, exist_ok=True)
        text = rename(path.read_text(), {"term": "needle", "name": "item_name", "query": "statement"})
        text = text.replace('\n\n\ndef ', '\n\n\nif False:\n    os_command = "unused"\n\n\ndef ', 1)
        destination.write_text(text)
    before = flowsight.analyze_taint([str(example)], root=str(example)).findings
    after = flowsight.analyze_taint([str(target)], root=str(target)).findings
    assert [(f.rule_id, f.sink.path, f.cwe) for f in before] == [(f.rule_id, f.sink.path, f.cwe) for f in after]
    assert len(before) == 8


def line_facts(source: str) -> dict[int, tuple[set[str], set[str]]]:
    """Per line of the generated program: (names it defines, names it reads)."""
    import ast

    facts: dict[int, tuple[set[str], set[str]]] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.For, ast.If, ast.Return, ast.Expr)):
            defines: set[str] = set()
            reads: set[str] = set()
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, (ast.AugAssign, ast.For)) else []
            for target in targets:
                defines |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
            if isinstance(node, ast.AugAssign):
                reads |= defines
            value = node.iter if isinstance(node, ast.For) else node.test if isinstance(node, ast.If) else getattr(node, "value", None)
            if value is not None:
                reads |= {n.id for n in ast.walk(value) if isinstance(n, ast.Name)}
            facts[node.lineno] = (defines, reads)
    return facts


def dynamic_data_slice(source: str, criterion_line: int) -> set[int]:
    """Lines the criterion's value depends on in one traced run (data dependences only):
    walking the trace backwards, a line that defines a needed name joins the slice with
    every line executed inside the calls it made."""
    import sys

    trace: list[tuple[int, list[int]]] = []  # (line in main, lines run inside its calls)
    facts = line_facts(source)

    def tracer(frame, event, argument):  # noqa: ANN001, ANN202
        if frame.f_code.co_filename != "<generated>":
            return None
        if event == "line":
            if frame.f_code.co_name == "main":
                trace.append((frame.f_lineno, []))
            elif frame.f_code.co_name in ("double_plus", "pick") and trace:
                trace[-1][1].append(frame.f_lineno)
        return tracer

    sys.settrace(tracer)
    try:
        run(source)
    finally:
        sys.settrace(None)
    position = max(i for i, (line, _) in enumerate(trace) if line == criterion_line)
    needed = set(facts[criterion_line][1])
    sliced = {criterion_line}
    for line, inner in reversed(trace[:position]):
        defines, reads = facts.get(line, (set(), set()))
        if defines & needed:
            sliced.add(line)
            sliced.update(inner)
            needed = (needed - defines) | reads
    return sliced


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=statements(), printed=st.sampled_from(VARIABLES))
def test_traced_dynamic_slices_are_inside_static_slices(tmp_path: Path, body: list[str], printed: str) -> None:
    source = program(body, printed)
    path = tmp_path / "generated.py"
    path.write_text(source)
    criterion = source.splitlines().index(f"    print({printed})") + 1
    static = set(flowsight.slice_code([str(path)], file=str(path), line=criterion - 1, root=str(tmp_path)).files["generated.py"])
    dynamic = dynamic_data_slice(source, criterion)
    assert dynamic <= static, f"\n{source}\ndynamic {sorted(dynamic)} static {sorted(static)}"
