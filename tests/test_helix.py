"""Helix: `editors/helix/languages.toml` parses, adds flowsight to the python servers instead of
replacing them with it alone, names a command that `pip install` provides, and its `config`
table is settings the server accepts. Helix itself is not packaged for Debian bookworm, so a
pytest-lsp client stands in for it: Helix's capabilities (diagnostics with versions but no
related information, workspace/configuration answered from `config` by section — nothing for
`flowsight`), `config` as the initialization options."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from conftest import REPOSITORY_ROOT
from flowsight.server.settings import parse_client_settings
from test_lsp_server import accept_registrations, wait_for
from test_lsp_server_behaviour import EXAMPLE_FINDINGS, codes, example, start

LANGUAGES = tomllib.loads((REPOSITORY_ROOT / "editors" / "helix" / "languages.toml").read_text(encoding="utf-8"))
SERVER = LANGUAGES["language-server"]["flowsight"]
# Console scripts of the project are installed beside the interpreter.
COMMAND = Path(sys.executable).parent / SERVER["command"]


def test_languages_toml_adds_flowsight_to_the_python_servers() -> None:
    [python] = [language for language in LANGUAGES["language"] if language["name"] == "python"]
    servers = python["language-servers"]
    assert servers[-1] == "flowsight" and len(servers) > 1, "flowsight is added to the other servers, not alone"
    assert set(python) == {"name", "language-servers"}, "nothing else of Helix's python entry is overridden"


def test_languages_toml_names_the_installed_command_and_settings_the_server_accepts() -> None:
    assert SERVER["command"] == "flowsight" and SERVER["args"] == ["serve"]
    assert COMMAND.is_file(), f"{COMMAND} comes with `pip install` (project.scripts)"
    settings, problems = parse_client_settings(SERVER["config"])
    assert problems == []
    assert settings.syntax_errors == "error"


def helix_capabilities() -> types.ClientCapabilities:
    return types.ClientCapabilities(
        workspace=types.WorkspaceClientCapabilities(configuration=True, workspace_folders=True),
        text_document=types.TextDocumentClientCapabilities(
            publish_diagnostics=types.PublishDiagnosticsClientCapabilities(version_support=True),
            code_action=types.CodeActionClientCapabilities(
                code_action_literal_support=types.ClientCodeActionLiteralOptions(
                    code_action_kind=types.ClientCodeActionKindOptions(value_set=["", "quickfix", "refactor", "source"])
                )
            ),
            document_highlight=types.DocumentHighlightClientCapabilities(),
        ),
        window=types.WindowClientCapabilities(work_done_progress=True, show_document=types.ShowDocumentClientCapabilities(support=True)),
        general=types.GeneralClientCapabilities(position_encodings=["utf-8", "utf-32", "utf-16"]),
    )


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[str(COMMAND), *SERVER["args"]]))
async def helix(lsp_client: LanguageClient):
    accept_registrations(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def test_the_configured_server_starts_and_honours_config(helix: LanguageClient, tmp_path: Path) -> None:
    project = example(tmp_path)
    config = {**SERVER["config"], "disable": ["path-traversal"]}
    await start(helix, project, options=config, capabilities=helix_capabilities())
    expected = dict(EXAMPLE_FINDINGS)
    expected["shop/files.py"] = ["command-injection"]
    await wait_for(lambda: codes(helix, project) == expected)
    [sink] = helix.diagnostics[(project / "shop" / "files.py").as_uri()]
    assert "reaches `os.system` (OS command injection, CWE-78) via `compress` in 4 steps" in sink.message
