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
HELPERS = """G = 0


class Ctx:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def double_plus(a, b):
    c = a * 2
    return c + b


def pick(a, b):
    if a > b:
        return a
    return b


def risky(a):
    if a > 3:
        raise ValueError(a)
    return a + 1


def fill(xs, a):
    xs.append(a)


def bump(a):
    global G
    G = G + a


def gen(a, b):
    yield a
    yield b + 1


class Holder:
    scale = 2
    offset = G + 1
    limit = G + 5
    unused = 7

    def __init__(self, a):
        self.base = a

    def scaled(self, a):
        return a * self.scale + self.base + self.offset


class Tight(Holder):
    scale = 3
    spare = 8


def holder_scale(a):
    return Holder.scale * a + Holder.limit


def class_scale(kind, a):
    return kind.scale + kind.offset * a


"""
HELPER_NAMES = ("double_plus", "pick", "risky", "fill", "bump", "gen", "holder_scale", "class_scale")
SIMPLE = [
    "assign",
    "assign",
    "augment",
    "call",
    "mutate",
    "read_box",
    "bump",
    "read_global",
    "comprehension",
    "lambda",
    "lambda_later",
    "holder",
    "holder_rebind",
    "holder_instance",
    "holder_fields",
    "holder_class_read",
    "tight",
    "tight_rebind",
    "class_passed",
]


@st.composite
def statements(draw: st.DrawFn, depth: int = 0, in_loop: bool = False, in_try: bool = False) -> list[str]:
    """Statements of `main`: assignments, calls (returning, raising, mutating an argument,
    writing a global, generators), comprehensions (list, set, dict, generator; `if` clauses,
    two `for` clauses, a nested comprehension, `:=` binding in `main`, a variable named as one
    of `main`'s) and lambdas (called where they are made, or stored and called after a name
    they read changed), classes (a constructor and a method called on the instance, attributes
    read through the instance, the class rebound from `main` and shadowed by instance
    attributes, `Holder.scale` read in a helper function, a subclass overriding a class
    attribute, a class passed to a function reading its attributes), if/for/while with
    break/continue/early return, try with except/else/finally, with. Exceptions are raised
    only where a handler catches them and every loop terminates."""
    count = draw(st.integers(min_value=1, max_value=3 if depth else 6))
    lines: list[str] = []
    compound = ["if", "for", "while", "try", "with", "generator"] if depth < 2 else []
    jumps = (["return"] + (["break", "continue"] if in_loop else [])) if depth else []
    raising = ["risky", "raise"] if in_try else []
    for _ in range(count):
        target = draw(st.sampled_from(VARIABLES))
        a, b = draw(st.sampled_from(VARIABLES)), draw(st.sampled_from(VARIABLES))
        k = draw(st.integers(min_value=0, max_value=5))
        kind = draw(st.sampled_from(SIMPLE + compound + jumps + raising))
        block = lambda **kw: ["    " + line for line in draw(statements(depth + 1, **{"in_loop": in_loop, "in_try": in_try, **kw}))]  # noqa: E731
        if kind == "assign":
            lines.append(f"{target} = {draw(st.sampled_from([f'{a} + {k}', f'{a} * {b}', str(k), f'{a} - {b}']))}")
        elif kind == "augment":
            lines.append(f"{target} += {a}")
        elif kind == "call":
            lines.append(f"{target} = {draw(st.sampled_from(['double_plus', 'pick']))}({a}, {b})")
        elif kind == "mutate":
            lines.append(f"fill(box, {a})")
        elif kind == "read_box":
            lines.append(f"{target} = box[-1] + {k}")
        elif kind == "bump":
            lines.append(f"bump({a})")
        elif kind == "read_global":
            lines.append(f"{target} = G + {k}")
        elif kind == "comprehension":
            n = k % 3
            lines.append(
                draw(
                    st.sampled_from(
                        [
                            f"{target} = sum([{a} * c + {k} for c in range({n}) if c != {b}])",
                            f"{target} = len({{c + {a} for c in range({n})}})",
                            f"{target} = sum({{c: {a} for c in range({n})}}.values()) + {b}",
                            f"{target} = sum(c * d for c in range({n}) for d in range(c) if d < {a})",
                            f"{target} = sum(sum([c * {b} for c in range(d)]) for d in range({n}))",
                            f"{target} = len([({b} := {a} + c) for c in range({n})])",
                            f"{target} = sum([{a} for {b} in range({n})]) + {b}",
                        ]
                    )
                )
            )
        elif kind == "lambda":
            lines.append(f"{target} = (lambda y, d={a}: y * d + {b})({k})")
        elif kind == "lambda_later":
            lines.extend([f"f{depth} = lambda y: y * {a} + {b}  # noqa: E731", f"{a} = {a} + {k}", f"{target} = f{depth}({k})"])
        elif kind == "holder":
            lines.append(f"{target} = Holder({a}).scaled({b})")
        elif kind == "holder_rebind":
            lines.append(f"Holder.scale = {a} + {k}")
        elif kind == "holder_instance":
            lines.extend([f"h{depth} = Holder({a})", f"h{depth}.scale = {b}", f"{target} = h{depth}.scaled({k})"])
        elif kind == "holder_fields":
            lines.extend([f"h{depth} = Holder({a})", f"{target} = h{depth}.limit + h{depth}.base * {k}"])
        elif kind == "holder_class_read":
            lines.append(f"{target} = holder_scale({a})")
        elif kind == "tight":
            lines.append(f"{target} = Tight({a}).scaled({b}) + Tight.scale")
        elif kind == "tight_rebind":
            lines.append(f"Tight.scale = {a} + {k}")
        elif kind == "class_passed":
            lines.append(f"{target} = class_scale(Holder if {a} > {k} else Tight, {b})")
        elif kind == "risky":
            lines.append(f"{target} = risky({a})")
        elif kind == "raise":
            lines.extend([f"if {a} > {k}:", f"    raise ValueError({a})"])
        elif kind in ("return", "break", "continue"):
            lines.extend([f"if {a} > {k}:", f"    {kind}"])
        elif kind == "if":
            lines.append(f"if {a} > {k}:")
            lines.extend(block())
            if draw(st.booleans()):
                lines.append("else:")
                lines.extend(block())
        elif kind == "for":
            lines.append(f"for i{depth} in range({k % 3}):")
            lines.extend(block(in_loop=True))
        elif kind == "while":
            lines.extend([f"w{depth} = {k % 3}", f"while w{depth} > 0:", f"    w{depth} -= 1"])
            lines.extend(block(in_loop=True))
        elif kind == "generator":
            lines.append(f"for x{depth} in gen({a}, {b}):")
            lines.append(f"    {target} += x{depth}")
        elif kind == "with":
            lines.append("with Ctx():")
            lines.extend(block())
        else:
            lines.append("try:")
            lines.extend(block(in_try=True))
            lines.append("except ValueError:")
            lines.extend(block())
            if draw(st.booleans()):
                lines.append("else:")
                lines.extend(block())
            if draw(st.booleans()):
                lines.append("finally:")
                lines.extend(block())
    return lines


def program(body: list[str], printed: str) -> str:
    main = (
        ["def main():", "    v0, v1, v2, v3 = 1, 2, 3, 4", "    box = [0]"] + ["    " + line for line in body] + [f"    print({printed})"]
    )
    return HELPERS + "\n".join(main) + "\n\n\nmain()\n"


def run(source: str) -> list[object]:
    printed: list[object] = []
    exec(compile(source, "<generated>", "exec"), {"print": lambda *values: printed.extend(values), "range": range})  # noqa: S102 - our own generated program
    return printed


STRUCTURAL = re.compile(r"^(try:|finally:|else:|except\b.*:|global\b.*|def\b.*:)$")


def reduce_to(source: str, keep: set[int]) -> str:
    """The program with only the slice's lines inside functions and the class bodies of `Holder`
    and `Tight`: other simple statements become `pass`, other `if`/`for`/`while`/`with` headers
    `if True:`;
    `try`/`except`/`else`/`finally`, `global` and methods' `def` lines stay (they are
    structure, not steps)."""
    lines = source.splitlines()
    reduced = []
    in_function = False
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if line.startswith(("def ", "class Holder", "class Tight")):
            in_function = True
            reduced.append(line)
            continue
        if not line.startswith(" "):
            in_function = False
        if not in_function or not stripped or number in keep or STRUCTURAL.match(stripped):
            reduced.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        reduced.append(indent + ("if True:" if stripped.endswith(":") else "pass"))
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
    after = flowsight.slice_code(
        [str(tmp_path / "b" / "m.py")], file=str(tmp_path / "b" / "m.py"), line=criterion + 2, root=str(tmp_path / "b")
    )
    shift = lambda number: number + 2 if number > main_line + 1 else number  # noqa: E731
    assert sorted(shift(n) for n in before.files["m.py"]) == after.files["m.py"]


def test_renaming_and_dead_code_keep_findings(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parent.parent / "examples" / "vulnerable_app"
    target = tmp_path / "vulnerable_app"
    for path in example.rglob("*.py"):
        destination = target / path.relative_to(example)
        destination.parent.mkdir(parents=True, exist_ok=True)
        text = rename(path.read_text(), {"term": "needle", "name": "item_name", "query": "statement"})
        text = text.replace("\n\n\ndef ", '\n\n\nif False:\n    os_command = "unused"\n\n\ndef ', 1)
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
                # Stores inside the value are not reads: a comprehension's variables, and
                # `:=` targets, which bind in `main` (defines; a walrus that never ran is
                # taken as run, which can only make the dynamic slice smaller).
                names = [n for n in ast.walk(value) if isinstance(n, ast.Name)]
                reads |= {n.id for n in names if isinstance(n.ctx, ast.Load)}
                defines |= {n.target.id for n in ast.walk(value) if isinstance(n, ast.NamedExpr) and isinstance(n.target, ast.Name)}
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
            elif frame.f_code.co_name in HELPER_NAMES and trace:
                trace[-1][1].append(frame.f_lineno)
        return tracer

    sys.settrace(tracer)
    try:
        run(source)
    finally:
        sys.settrace(None)
    reached = [i for i, (line, _) in enumerate(trace) if line == criterion_line]
    if not reached:  # an early return: the criterion never ran
        return set()
    position = max(reached)
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
