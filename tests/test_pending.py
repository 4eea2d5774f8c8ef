"""The server's queue of changes (`flowsight.server.pending`) and how the session applies it:
queued edits of a file are joined into one core call with the newest version, a base change
(whole text, load, remove) replaces what was queued before it, and edits the core refuses make
the editor's whole text be queued again."""

from __future__ import annotations

from pathlib import Path

import flowsight
from flowsight.server.pending import LOAD, REMOVE, PendingChange, PendingChanges
from flowsight.server.session import Session


def edit(text: str) -> flowsight.TextEdit:
    return flowsight.TextEdit(0, 0, 0, 0, text)


def test_edits_join_and_a_base_change_replaces_what_was_queued() -> None:
    pending = PendingChanges()
    pending.add("a.py", PendingChange(2, [edit("x")]))
    pending.add("a.py", PendingChange(3, [edit("y"), edit("z")]))
    pending.add("b.py", REMOVE)
    pending.add("b.py", PendingChange(7, [edit("w")]))
    assert "a.py" in pending and pending
    taken = pending.take()
    assert not pending and "a.py" not in pending
    [joined] = taken["a.py"]
    assert joined.version == 3 and [e.text for e in joined.edits] == ["x", "y", "z"]
    assert [change.remove for change in taken["b.py"]] == [True, False]
    pending.add("a.py", PendingChange(4, [edit("x")]))
    pending.add("a.py", PendingChange(5, None, "whole"))
    pending.add("a.py", PendingChange(6, [edit("y")]))
    assert [(c.version, c.text) for c in pending.take()["a.py"]] == [(5, "whole"), (6, None)]
    pending.add("a.py", PendingChange(6, [edit("y")]))
    pending.add("a.py", LOAD)
    assert pending.take()["a.py"] == [LOAD]


def test_the_queued_change_is_not_the_callers() -> None:
    pending = PendingChanges()
    change = PendingChange(2, [edit("x")])
    pending.add("a.py", change)
    pending.add("a.py", PendingChange(3, [edit("y")]))
    assert change.version == 2 and len(change.edits) == 1


def test_many_queued_edits_are_one_core_call_and_refused_edits_resync(tmp_path: Path) -> None:
    session = Session(lambda uri, version, diagnostics: None)
    folder = session.add_folder(tmp_path)
    path = tmp_path / "app.py"
    uri = path.as_uri()
    document = session.documents.opened(uri, "x = 1\n", 5)
    session.queue(path, PendingChange(5, None, "x = 1\n"))
    session.analyse()
    for version in range(6, 106):
        document.edit((0, 0), (0, 0), "#", "utf-16")
        document.version = version
        session.queue(path, PendingChange(version, [edit("#")]))
    [changes] = folder.pending.take().values()
    assert len(changes) == 1 and len(changes[0].edits) == 100
    folder.pending.add("app.py", changes[0])
    generation, _, _ = session.analyse()
    assert generation == session.generation
    assert folder.workspace.text("app.py") == "#" * 100 + "x = 1\n" == document.text()
    # A version the core has already seen (a client bug): refused; the editor's text is sent.
    document.edit((0, 0), (0, 100), "y = 2  ", "utf-16")
    session.queue(path, PendingChange(50, [edit("y = 2  ")]))
    session.analyse()
    assert folder.resync == {"app.py"}
    assert session._resync()
    session.analyse()
    assert folder.workspace.text("app.py") == "y = 2  x = 1\n" == document.text()
    assert not folder.resync and not session._resync()


def test_a_run_applies_what_arrived_while_it_applied_a_bounded_number_of_times(tmp_path: Path) -> None:
    """Changes queued while a run applies changes are applied before it analyses, for up to
    CATCH_UP_ROUNDS rounds; the generation it returns is that of the last changes it took, so
    results missing a change never count as current."""
    from flowsight.server.session import CATCH_UP_ROUNDS

    session = Session(lambda uri, version, diagnostics: None)
    folder = session.add_folder(tmp_path)
    path = tmp_path / "app.py"
    session.queue(path, PendingChange(1, None, "x = 1\n"))
    apply = session._apply_pending
    version = 1

    def apply_then_queue(target) -> None:  # noqa: ANN001 - a Folder
        nonlocal version
        apply(target)
        version += 1
        session.queue(path, PendingChange(version, [edit("#")]))  # arrives while the run applies

    session._apply_pending = apply_then_queue  # type: ignore[method-assign]
    generation, _, _ = session.analyse()
    assert folder.workspace.text("app.py") == "#" * (CATCH_UP_ROUNDS - 1) + "x = 1\n"
    assert "app.py" in folder.pending and generation == session.generation - 1
    session._apply_pending = apply  # type: ignore[method-assign]
    generation, _, _ = session.analyse()
    assert folder.workspace.text("app.py") == "#" * CATCH_UP_ROUNDS + "x = 1\n" and generation == session.generation
