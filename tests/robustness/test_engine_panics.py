"""A bug inside the Rust engine (a panic) reaches Python as `InternalError`, an ordinary
`Exception`, so the CLI reports it and the language server keeps running."""

import pytest

from flowsight import _native
from flowsight.errors import FlowsightError, InternalError


def test_engine_panic_is_an_internal_error_not_a_base_exception() -> None:
    with pytest.raises(InternalError) as raised:
        _native._panic_for_tests("boom at step 3")
    assert isinstance(raised.value, FlowsightError)
    assert isinstance(raised.value, Exception)
    assert str(raised.value) == "internal error in flowsight's engine (please report it): boom at step 3"


def test_engine_keeps_working_after_a_panic(tmp_path) -> None:
    with pytest.raises(InternalError):
        _native._panic_for_tests("first")
    workspace = _native.Workspace(str(tmp_path))
    workspace.update_file("m.py", "def f(x):\n    y = x\n    return y\n")
    assert workspace.slice_code("m.py", 2).files == {"m.py": [1, 2, 3]}
