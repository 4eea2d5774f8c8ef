"""Issue #15: lines are split as LSP and the core split them — at `\\r\\n`, `\\r` and `\\n` only.
U+2028, U+2029, U+0085, form feed, vertical tab and \\x1c–\\x1e (which `str.splitlines` also
breaks at) are characters within a line: before the fix, the suppress quick fix commented out
the sink (`os  # flowsight: ignore[…].system(…)`) when an earlier line held one of them."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
import pytest_lsp
from hypothesis import given, strategies as st
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from flowsight import positions
from robustness.harness import CPU_SECONDS, LIMITED, MEMORY_LIMIT, flowsight

NOT_LINE_BREAKS = {
    "u2028": "\u2028",
    "u2029": "\u2029",
    "x85": "\x85",
    "x0c": "\x0c",
    "x0b": "\x0b",
    "x1c": "\x1c",
    "x1d": "\x1d",
    "x1e": "\x1e",
}
SINK = "os.system(sys.argv[1])"


def reference_lines(text: str) -> list[str]:
    """LSP's definition, one character at a time."""
    lines, current, index = [], [], 0
    while index < len(text):
        character = text[index]
        if character in "\r\n":
            lines.append("".join(current))
            current = []
            index += 2 if text.startswith("\r\n", index) else 1
            continue
        current.append(character)
        index += 1
    return [*lines, "".join(current)]


@given(st.lists(st.sampled_from(["a", "é", "😀", "\r", "\n", "\r\n", *NOT_LINE_BREAKS.values()]), max_size=60).map("".join))
def test_split_lines_breaks_only_at_cr_lf_and_crlf(text: str) -> None:
    assert positions.split_lines(text) == reference_lines(text)
    lines = positions.TextLines(text)
    assert len(lines.lines) == len(reference_lines(text))


@pytest.mark.parametrize("name", NOT_LINE_BREAKS)
def test_slice_counts_lines_as_lsp_does(tmp_path: Path, name: str) -> None:
    separator = NOT_LINE_BREAKS[name]
    (tmp_path / "app.py").write_text(f"import os\nimport sys\n# before{separator}after\ncommand = sys.argv[1]\nos.system(command)\n")
    result = flowsight("slice", "app.py:5:11", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["files"] == {"app.py": [2, 4, 5]}
    text = flowsight("slice", "app.py:5", cwd=tmp_path)
    assert text.stdout.splitlines() == [
        "app.py:",
        "      1  import os",
        "      2  import sys",
        "      4  command = sys.argv[1]",
        "      5  os.system(command)",
    ]
    past_the_end = flowsight("slice", "app.py:6", cwd=tmp_path)
    assert past_the_end.returncode == 2 and "the file has 5 lines" in past_the_end.error_line()


@pytest.mark.parametrize("name", NOT_LINE_BREAKS)
def test_scan_positions_after_characters_that_are_not_line_breaks(tmp_path: Path, name: str) -> None:
    separator = NOT_LINE_BREAKS[name]
    prefix = f"x = '{separator}'; "
    (tmp_path / "app.py").write_text(f"import os\nimport sys\n# {separator}\n{prefix}{SINK}\n")
    result = flowsight("scan", ".", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    [finding] = json.loads(result.stdout)["findings"]
    assert (finding["sink"]["start_line"], finding["sink"]["start_column"]) == (4, len(prefix) + 1)
    sarif = json.loads(flowsight("scan", ".", "--format", "sarif", cwd=tmp_path).stdout)
    region = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"], region["endColumn"]) == (4, len(prefix) + 1, len(prefix + SINK) + 1)


LONE_CR_PROGRAM = "import os\nimport sys\n\n\ndef run():\n    command = sys.argv[1]\n    os.system(command)\n"


@pytest.mark.parametrize("ending", ["\r", "\r\n", "\n"])
def test_lone_cr_files_parse_as_cpython_parses_them(tmp_path: Path, ending: str) -> None:
    # Before: every lone-CR file was one syntax error and its finding was missed (an evasion).
    source = LONE_CR_PROGRAM.replace("\n", ending)
    compile(source, "app.py", "exec")  # valid Python for CPython
    (tmp_path / "app.py").write_bytes(source.encode())
    result = flowsight("scan", ".", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["errors"] == []
    assert [(f["sink"]["start_line"], f["source"]["start_line"]) for f in report["findings"]] == [(7, 6)]
    sliced = flowsight("slice", "app.py:7", "--format", "json", cwd=tmp_path)
    assert json.loads(sliced.stdout)["files"] == {"app.py": [1, 2, 6, 7]}, sliced.stderr


def test_nested_same_quote_fstrings_are_not_syntax_errors(tmp_path: Path) -> None:
    # Python 3.12 syntax (PEP 701); before: counted as thousands of syntax errors.
    lines = [f'y{i} = f"{{f"{{f"{{x}}"}}"}}"' for i in range(2000)]
    (tmp_path / "strings.py").write_text("import os\nimport sys\nx = sys.argv[1]\n" + "\n".join(lines) + "\nos.system(y1999)\n")
    result = flowsight("scan", ".", "--format", "json", cwd=tmp_path)
    report = json.loads(result.stdout)
    assert report["errors"] == [], report["errors"]
    assert [f["sink"]["start_line"] for f in report["findings"]] == [2004]


SERVER = [sys.executable, "-P", str(LIMITED), str(MEMORY_LIMIT), str(CPU_SECONDS), "0", sys.executable, "-P", "-m", "flowsight", "serve"]


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    project = tmp_path_factory.mktemp("separators")
    # The files take their input from `sys.argv`: a source of the threat model `local`.
    (project / "pyproject.toml").write_text('[tool.flowsight]\nthreat-models = ["remote", "local"]\n', encoding="utf-8")
    for name, separator in NOT_LINE_BREAKS.items():
        (project / f"sep_{name}.py").write_text(f"import os\nimport sys\n# before{separator}after\n{SINK}\n", encoding="utf-8")

    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register_capability(params: types.RegistrationParams) -> None:
        """Accepted, as an editor does (the server registers a pyproject.toml watcher)."""

    params = types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=project.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=project.as_uri(), name="separators")],
    )
    await lsp_client.initialize_session(params)
    lsp_client.project = project  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def wait_for(condition, timeout: float = 30.0) -> None:  # noqa: ANN001
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting for the server")
        await asyncio.sleep(0.05)


async def test_suppress_quick_fix_lands_after_the_sink(client: LanguageClient) -> None:
    project: Path = client.project  # type: ignore[attr-defined]
    for name in NOT_LINE_BREAKS:
        path = project / f"sep_{name}.py"
        uri = path.as_uri()
        await wait_for(lambda uri=uri: bool(client.diagnostics.get(uri)))
        text = path.read_text(encoding="utf-8")
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text))
        )
        [diagnostic] = client.diagnostics[uri]
        assert diagnostic.range.start == types.Position(line=3, character=0), name
        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=diagnostic.range,
                context=types.CodeActionContext(diagnostics=[diagnostic]),
            )
        )
        [suppress] = [action for action in actions if action.title.startswith("flowsight: Suppress")]
        [edit] = suppress.edit.changes[uri]
        end_of_sink = types.Position(line=3, character=len(SINK))
        assert (edit.range.start, edit.range.end) == (end_of_sink, end_of_sink), name
        # Applied, the suppression comment follows the sink and the diagnostic goes away.
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
                content_changes=[types.TextDocumentContentChangePartial(range=edit.range, text=edit.new_text)],
            )
        )
        await wait_for(lambda uri=uri: len(client.diagnostics[uri]) == 0)
