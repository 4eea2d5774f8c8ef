"""Scopes agree with CPython's `symtable`: for every function of the Django corpus (and a set of
hand-written edge cases), each symbol is a parameter, local, free, explicitly or implicitly
global in both."""

from __future__ import annotations

import symtable
import textwrap

from bench.corpus import django_corpus, python_files
from flowsight import _native


def category(symbol: symtable.Symbol) -> str:
    if symbol.is_parameter():
        return "parameter"
    if symbol.is_free() or symbol.is_nonlocal():
        return "free"
    if symbol.is_declared_global():
        return "global_explicit"
    if symbol.is_global():
        return "global_implicit"
    return "local"


def expected_functions(source: str, filename: str) -> dict[tuple[str, int], dict[str, str]]:
    result: dict[tuple[str, int], dict[str, str]] = {}
    stack = [symtable.symtable(source, filename, "exec")]
    while stack:
        table = stack.pop()
        if table.get_type() == "function" and table.get_name() not in ("lambda", "listcomp", "setcomp", "dictcomp", "genexpr"):
            result[(table.get_name(), table.get_lineno())] = {s.get_name(): category(s) for s in table.get_symbols()}
        stack.extend(table.get_children())
    return result


def actual_functions(source: str) -> dict[tuple[str, int], dict[str, str]]:
    return {(name, line): symbols for kind, name, line, symbols in _native.symbol_tables(source) if kind == "function"}


def compare(source: str, filename: str) -> list[str]:
    expected, actual = expected_functions(source, filename), actual_functions(source)
    problems = []
    for key in sorted(set(expected) | set(actual)):
        if expected.get(key) != actual.get(key):
            e, a = expected.get(key, {}), actual.get(key, {})
            differences = {name: (e.get(name), a.get(name)) for name in set(e) | set(a) if e.get(name) != a.get(name)}
            problems.append(f"{filename}: {key[0]} (line {key[1]}): symtable vs flowsight {differences}")
    return problems


EDGE_CASES = textwrap.dedent("""
    import os.path as osp, sys
    counter = 0

    def plain(a, b=counter, *args, c: int = 1, **kwargs):
        global counter
        counter += 1
        local = a + b
        del local
        return sys.argv, osp, args, kwargs, c

    def outer(x):
        y = 1
        def middle():
            def inner():
                nonlocal y
                y = x + 2
                return y
            return inner
        class Box:
            value = x
            def method(self):
                return super().method(), y, value_missing
        squares = [n * x for n in range(y) if n]
        return middle, Box, squares, (z := 3), lambda q=y: q + x

    def handlers():
        try:
            pass
        except ValueError as error:
            print(error)
        with open("f") as (first, second):
            pass
        for i, (j, k) in enumerate([]):
            pass
        match sys.argv:
            case [name, *rest] if name:
                return name, rest
            case {"key": value, **others}:
                return value, others
            case Point(x=px) as whole:
                return px, whole
        if (found := len(sys.argv)) > 1:
            return found
        return [last := item for item in sys.argv], last

    async def coroutine(session):
        async with session as s:
            async for row in s:
                yield row
        return [await f() async for f in session]
""")


def test_edge_cases_agree_with_symtable() -> None:
    assert compare(EDGE_CASES, "edge_cases.py") == []


def test_django_functions_agree_with_symtable() -> None:
    root = django_corpus()
    problems: list[str] = []
    functions = 0
    for path in python_files(root / "django"):
        source = path.read_text(encoding="utf-8")
        functions += len(expected_functions(source, str(path)))
        problems.extend(compare(source, str(path.relative_to(root))))
    assert functions > 9000
    assert problems == [], f"{len(problems)} functions differ, e.g.\\n" + "\\n".join(problems[:15])
