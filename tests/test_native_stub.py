"""The typed stub `flowsight/_native.pyi` matches the compiled module: every class, attribute,
method and function it declares exists, with the declared parameter names, and the module
exports nothing undeclared."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import flowsight._native as native

STUB = Path(native.__file__).with_name("_native.pyi")


def parameters(function: object) -> list[str]:
    signature = inspect.signature(function)  # type: ignore[arg-type]
    return [name for name in signature.parameters if name not in ("self", "cls", "$self", "$cls")]


def stub_parameters(node: ast.FunctionDef) -> list[str]:
    names = [a.arg for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs]
    return [name for name in names if name not in ("self", "cls")]


def test_stub_matches_module() -> None:
    tree = ast.parse(STUB.read_text())
    declared: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            declared.add(node.name)
            cls = getattr(native, node.name)
            for member in node.body:
                if isinstance(member, ast.AnnAssign) and isinstance(member.target, ast.Name):
                    assert hasattr(cls, member.target.id), f"{node.name}.{member.target.id} missing"
                elif isinstance(member, ast.FunctionDef):
                    name = "__new__" if member.name == "__init__" else member.name
                    assert hasattr(cls, name), f"{node.name}.{member.name} missing"
                    if member.name == "__init__":
                        continue
                    assert parameters(getattr(cls, name)) == stub_parameters(member), f"{node.name}.{member.name}"
        elif isinstance(node, ast.FunctionDef):
            declared.add(node.name)
            assert parameters(getattr(native, node.name)) == stub_parameters(node), node.name
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            declared.add(node.target.id)
            assert hasattr(native, node.target.id)
    exported = {name for name in dir(native) if not name.startswith("_")} | {"__version__"}
    assert exported - declared == set(), "exported but not in the stub"
