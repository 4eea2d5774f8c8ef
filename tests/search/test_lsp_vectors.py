"""Hybrid and vector search in the language server (pytest-lsp against `flowsight serve`): the bundled
MiniLM by default, an OpenAI-compatible loopback endpoint when configured (and one that times out),
embedding in the background with work-done progress while searches answer from the lexical index and
say so, diagnostics never waiting for it; results carry what the analysis knows and filter by it."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

SECRET = "sk-flowsight-test-secret-4711"
SERVER = ClientServerConfig(
    server_command=[sys.executable, "-m", "flowsight", "serve"], server_env={**os.environ, "FLOWSIGHT_TEST_KEY": SECRET}
)

MAIL = '''def send_email(recipient, body):
    """Delivers a message to a person's inbox over SMTP."""
    connection = smtp_connect()
    connection.sendmail(recipient, body)


def add_numbers(first, second):
    return first + second


def read_config(path):
    with open(path) as handle:
        return handle.read()
'''

VIEWS = """import sqlite3

from flask import request


def run_query(sql):
    connection = sqlite3.connect("app.db")
    return connection.execute(sql).fetchall()


def show_user():
    name = request.args.get("name")
    return run_query("SELECT * FROM users WHERE name = '" + name + "'")


def list_users():
    return run_query("SELECT * FROM users")
"""


def write_project(root: Path, search_table: str) -> Path:
    project = root / "project"
    (project / "app").mkdir(parents=True)
    (project / "app" / "mail.py").write_text(MAIL)
    (project / "app" / "views.py").write_text(VIEWS)
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "app"\n\n[tool.flowsight.search]\ncache_dir = "{root / "cache"}"\n{search_table}'
    )
    return project


async def start(client: LanguageClient, project: Path) -> None:
    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register_capability(params: types.RegistrationParams) -> None:
        pass

    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=project.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=project.as_uri(), name="project")],
        )
    )
    client.project = project  # type: ignore[attr-defined]
    deadline = asyncio.get_running_loop().time() + 30
    while True:  # indexed and analysed: the findings are known
        status = await client.protocol.send_request_async("flowsight/status", {})
        if [folder.files for folder in status.folders] == [2] and status.lastAnalysis:
            return
        assert asyncio.get_running_loop().time() < deadline, "the server did not index the folder"
        await asyncio.sleep(0.05)


async def search(client: LanguageClient, query: str, **params: object):  # noqa: ANN201
    return await client.protocol.send_request_async("flowsight/search", {"query": query, **params})


async def search_until_complete(client: LanguageClient, query: str, mode: str = "hybrid", timeout: float = 120.0, **params: object):  # noqa: ANN201
    """Searches until the answer is not partial (every vector computed); returns every answer."""
    answers = []
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        answer = await search(client, query, mode=mode, limit=5, **params)
        answers.append(answer)
        if not answer.partial:
            return answers
        assert asyncio.get_running_loop().time() < deadline, f"vectors still pending: {answer.notice}"
        await asyncio.sleep(0.2)


def names(answer) -> list[str]:  # noqa: ANN001
    return [result.qualifiedName for result in answer.results]


def embedding_progress(client: LanguageClient) -> list:
    """The reports of the server's embedding progress (begin, reports, end)."""
    for reports in client.progress_reports.values():
        if reports and getattr(reports[0], "title", "") == "flowsight: embedding for code search":
            return reports
    return []


# ---------------------------------------------------------------- the bundled embedder


@pytest_lsp.fixture(config=SERVER)
async def bundled(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    await start(lsp_client, write_project(tmp_path_factory.mktemp("bundled"), ""))
    yield
    await lsp_client.shutdown_session()


async def test_hybrid_search_answers_lexically_until_vectors_are_computed_then_fuses(bundled: LanguageClient) -> None:
    query = "transmit electronic correspondence"
    lexical = await search(bundled, query, mode="lexical", limit=5)
    assert names(lexical) == []  # none of the words is in the code
    answers = await search_until_complete(bundled, query)
    first, last = answers[0], answers[-1]
    # The first answer never waits for embedding: lexical, and it says so.
    assert first.partial and first.mode == "lexical" and first.requestedMode == "hybrid"
    assert first.vectorsPending > 0 and "lexical index" in first.notice and first.results == []
    # Once every chunk has its vector: fused, meaning first.
    assert last.mode == "hybrid" and last.vectorsPending == 0 and last.notice is None
    assert names(last)[0] == "app.mail.send_email"
    assert last.results[0].uri == (bundled.project / "app" / "mail.py").as_uri()  # type: ignore[attr-defined]
    assert last.results[0].range.start.line == 0
    vector = (await search(bundled, query, mode="vector", limit=3)).results
    assert vector[0].qualifiedName == "app.mail.send_email"
    # Work-done progress: begun, reported in chunks, ended.
    await asyncio.sleep(0.3)
    reports = embedding_progress(bundled)
    assert reports, f"no embedding progress in {bundled.progress_reports}"
    assert reports[-1].kind == "end" and "chunks embedded" in reports[-1].message


async def test_results_carry_and_filter_by_what_the_analysis_knows(bundled: LanguageClient) -> None:
    answer = await search(bundled, "run_query", mode="lexical", limit=10)
    by_name = {result.qualifiedName: result for result in answer.results}
    assert (by_name["app.views.run_query"].findings, by_name["app.views.run_query"].reaches) == (1, ["sql-injection"])
    assert by_name["app.views.show_user"].readsInput and by_name["app.views.show_user"].reaches == ["sql-injection"]
    assert not by_name["app.views.run_query"].readsInput
    assert (by_name["app.views.list_users"].findings, by_name["app.views.list_users"].reaches) == (0, [])
    reading = await search(bundled, "run_query", mode="lexical", readsInput=True)
    assert names(reading) == ["app.views.show_user"]
    reaching = await search(bundled, "run_query", reaches="sql-injection")
    assert sorted(names(reaching)) == ["app.views.run_query", "app.views.show_user"]
    assert (await search(bundled, "run_query", reaches=["command-injection"])).results == []
    # The filter holds for hybrid answers too, lexical ones while vectors are pending and fused ones after.
    for answer in await search_until_complete(bundled, "run_query users", reaches="sql-injection"):
        assert sorted(names(answer)) == ["app.views.run_query", "app.views.show_user"]
    fused = await search(bundled, "look up a person in the database", mode="hybrid", reaches="sql-injection")
    assert fused.mode == "hybrid" and sorted(names(fused)) == ["app.views.run_query", "app.views.show_user"]


async def test_bad_search_params_are_invalid(bundled: LanguageClient) -> None:
    from pygls.exceptions import JsonRpcInvalidParams

    for params in ({"query": "x", "mode": "fuzzy"}, {"query": "x", "reaches": 3}, {"query": "x", "reaches": ["a", None]}):
        with pytest.raises(JsonRpcInvalidParams):
            await bundled.protocol.send_request_async("flowsight/search", params)


# ---------------------------------------------------------------- an OpenAI-compatible endpoint


@pytest_lsp.fixture(config=SERVER)
async def remote(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory, endpoint):  # noqa: ANN001
    table = (
        f'embedder = "openai"\nbase_url = "{endpoint.base_url}"\nmodel = "test-embedding"\ndimensions = 8\n'
        'api_key_env = "FLOWSIGHT_TEST_KEY"\ntimeout = 5.0\nmax_retries = 0\n'
    )
    lsp_client.endpoint = endpoint  # type: ignore[attr-defined]
    await start(lsp_client, write_project(tmp_path_factory.mktemp("remote"), table))
    yield
    await lsp_client.shutdown_session()


async def test_embeddings_go_to_the_configured_endpoint_which_is_named(remote: LanguageClient) -> None:
    endpoint = remote.endpoint  # type: ignore[attr-defined]  # the loopback server of conftest.py
    answers = await search_until_complete(remote, "send_email", timeout=30)
    assert answers[-1].mode == "hybrid" and names(answers[-1])[0] == "app.mail.send_email"
    sent = [text for request in endpoint.state.requests for text in request["input"]]
    assert any("def send_email(recipient, body):" in text for text in sent)
    assert any(text == "send_email" for text in sent)  # the query too
    assert {request["model"] for request in endpoint.state.requests} == {"test-embedding"}
    assert all(headers["authorization"] == f"Bearer {SECRET}" for headers in endpoint.state.headers)
    host = endpoint.base_url.split("/")[2]
    disclosures = [m.message for m in remote.messages if host in m.message]
    assert disclosures and "sends the text of your code" in disclosures[0] and "(this machine)" in disclosures[0]
    # The key is never shown or logged.
    assert not [m for m in [*remote.messages, *remote.log_messages] if SECRET in m.message]


async def test_vectors_follow_edits_in_the_background(remote: LanguageClient) -> None:
    endpoint = remote.endpoint  # type: ignore[attr-defined]
    await search_until_complete(remote, "send_email", timeout=30)
    project: Path = remote.project  # type: ignore[attr-defined]
    uri = (project / "app" / "mail.py").as_uri()
    remote.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="python", version=1, text=MAIL))
    )
    edited = MAIL.replace(
        "def add_numbers(first, second):", "def archive_mailbox(box):\n    box.close()\n\n\ndef add_numbers(first, second):"
    )
    remote.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=edited)],
        )
    )
    # Embedded after the edit's analysis, with no search asking for it.
    deadline = asyncio.get_running_loop().time() + 20
    while not any("def archive_mailbox(box):" in text for request in endpoint.state.requests for text in request["input"]):
        assert asyncio.get_running_loop().time() < deadline, "the edited chunk was not embedded"
        await asyncio.sleep(0.1)
    # The request was sent unasked; its vectors are stored once the answer is back.
    answer = (await search_until_complete(remote, "archive_mailbox", mode="vector", timeout=20))[-1]
    assert not answer.partial and answer.mode == "vector"
    assert names(answer)[0] == "app.mail.archive_mailbox" and answer.results[0].range.start.line == 6


@pytest_lsp.fixture(config=SERVER)
async def timing_out(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory, endpoint):  # noqa: ANN001
    endpoint.state.delay = 3.0
    table = f'embedder = "openai"\nbase_url = "{endpoint.base_url}"\nmodel = "slow"\ndimensions = 8\ntimeout = 0.5\nmax_retries = 0\n'
    await start(lsp_client, write_project(tmp_path_factory.mktemp("slow"), table))
    yield
    await lsp_client.shutdown_session()


async def test_an_endpoint_that_times_out_leaves_lexical_answers_and_a_message(timing_out: LanguageClient) -> None:
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        answer = await search(timing_out, "send_email", mode="hybrid")
        assert answer.mode == "lexical" and answer.partial
        assert names(answer)[0] == "app.mail.send_email"
        if "embedding failed" in (answer.notice or ""):
            break
        assert asyncio.get_running_loop().time() < deadline, answer.notice
        await asyncio.sleep(0.2)
    assert "timed out" in answer.notice.lower() or "timeout" in answer.notice.lower()
    warnings = [m for m in timing_out.messages if "embedding for code search failed" in m.message]
    assert len(warnings) == 1 and warnings[0].type == types.MessageType.Warning
    # Vector mode answers too (nothing embedded yet: an empty, partial answer), and the server lives on.
    vector = await search(timing_out, "send_email", mode="vector")
    assert vector.partial and vector.vectorsPending > 0
    status = await timing_out.protocol.send_request_async("flowsight/status", {})
    assert [folder.files for folder in status.folders] == [2]


async def test_diagnostics_never_wait_for_embedding(timing_out: LanguageClient) -> None:
    await search(timing_out, "send_email", mode="hybrid")  # embedding starts; each request hangs 3 s
    project: Path = timing_out.project  # type: ignore[attr-defined]
    uri = (project / "app" / "mail.py").as_uri()
    timing_out.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="python", version=1, text=MAIL))
    )
    published = asyncio.wrap_future(timing_out.protocol.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS))
    started = asyncio.get_running_loop().time()
    tainted = MAIL + "\n\nimport os\nfrom flask import request\n\n\ndef run():\n    os.system(request.args['cmd'])\n"
    timing_out.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=tainted)],
        )
    )
    await asyncio.wait_for(published, timeout=10)
    while not any(d.code == "command-injection" for d in timing_out.diagnostics.get(uri, [])):
        assert asyncio.get_running_loop().time() - started < 2.0, "diagnostics waited for embedding"
        await asyncio.sleep(0.02)
    assert asyncio.get_running_loop().time() - started < 2.0
