"""The event loop never waits for the core: a handler that runs on it (a plain `def`) calls
no `Session` method that takes the session's lock (which an analysis holds for as long as it
runs); those run in worker threads from `async` handlers."""

from __future__ import annotations

import ast
import inspect
import threading
from pathlib import Path

from flowsight.server import session as session_module
from flowsight.server.highlights import Highlights

HANDLERS = Path(session_module.__file__).parent / "handlers"


def methods_taking_the_lock() -> set[str]:
    """Session methods whose body holds `self.lock`, directly or through another such method."""
    tree = ast.parse(inspect.getsource(session_module.Session))
    bodies = {node.name: node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}

    def holds_lock(node: ast.AST) -> bool:
        return any(isinstance(item, ast.With) and any("lock" in ast.unparse(w.context_expr) for w in item.items) for item in ast.walk(node))

    locking = {name for name, body in bodies.items() if holds_lock(body)}
    changed = True
    while changed:
        changed = False
        for name, body in bodies.items():
            calls = {
                call.func.attr
                for call in ast.walk(body)
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and ast.unparse(call.func.value) == "self"
            }
            if name not in locking and calls & locking:
                locking.add(name)
                changed = True
    return locking


def test_the_lock_is_found_where_it_is_taken() -> None:
    locking = methods_taking_the_lock()
    assert {"chunks", "analyse", "occurrences", "slice", "status", "search"} <= locking
    assert "remove" not in locking


def test_handlers_on_the_event_loop_call_no_session_method_that_takes_the_lock() -> None:
    locking = methods_taking_the_lock()
    offences = []
    for path in sorted(HANDLERS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef):  # `async def` handlers hand such calls to threads
                continue
            for call in ast.walk(node):
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr in locking
                    and ast.unparse(call.func.value).endswith("session")
                ):
                    offences.append(f"{path.name}:{call.lineno} {node.name} calls session.{call.func.attr}")
    assert offences == []


def test_highlights_superseded_while_waiting_for_the_lock_are_never_computed() -> None:
    """Five highlight requests arrive while an analysis holds the session's lock: once it is
    released only the newest is computed; the others are answered empty (`None`), counted."""
    highlights = Highlights()
    lock = threading.Lock()
    computed: list[int] = []

    def occurrences(number: int, still_wanted) -> list[int] | None:  # noqa: ANN001
        with lock:  # as `Session.occurrences` takes the session's lock
            if not still_wanted():
                return None
            computed.append(number)
            return [number]

    with lock:
        futures = [highlights.executor.submit(highlights.run, highlights.ticket(), occurrences, n) for n in range(5)]
    assert [future.result(timeout=10) for future in futures] == [None, None, None, None, [4]]
    assert computed == [4]
    assert highlights.stats() == {"answered": 1, "superseded": 4}
    assert highlights.executor._thread_name_prefix == "flowsight-highlight"  # not the default pool
