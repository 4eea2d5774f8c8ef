"""Template-aware XSS end to end: `flowsight scan` reports a context value a template writes
unescaped on the template's line (JSON), a template edit changes a cached scan's result, and the
language server publishes the template's diagnostic and updates it when the template is edited."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from conftest import REPOSITORY_ROOT
from flowsight.server.handlers.code_action import suppression
from test_lsp_server import wait_for

APP = """\
from flask import Flask, render_template, request

app = Flask(__name__)


@app.route("/hello")
def hello():
    name = request.args.get("name", "")
    return render_template("hello.html", name=name)
"""

PAGE = "<h1>Hello</h1>\n<p>{{ name|safe }}</p>\n"
ESCAPED = "<h1>Hello</h1>\n<p>{{ name }}</p>\n"


def project(root: Path) -> Path:
    (root / "templates").mkdir(parents=True)
    (root / "app.py").write_text(APP)
    (root / "templates" / "hello.html").write_text(PAGE)
    return root


def scan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowsight", "scan", *args, "--format", "json"],
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_scan_reports_the_template_line_with_the_path_from_the_view(tmp_path: Path) -> None:
    root = project(tmp_path / "app")
    proc = scan(str(root), "--no-cache")
    assert proc.returncode == 1, proc.stderr
    [finding] = json.loads(proc.stdout)["findings"]
    assert (finding["rule_id"], finding["cwe"]) == ("xss", "CWE-79")
    assert (finding["sink"]["path"], finding["sink"]["start_line"]) == ("templates/hello.html", 2)
    assert (finding["source"]["path"], finding["source"]["start_line"]) == ("app.py", 8)
    steps = [(step["kind"], step["path"]) for step in finding["steps"]]
    assert steps[0] == ("source", "app.py") and steps[-1] == ("sink", "templates/hello.html")
    assert ("call", "app.py") in steps, "the render call is a step of the path"
    assert "`{{ name|safe }}` in templates/hello.html (marked safe)" in finding["message"]


RENDER_PACK = """\
[[render]]
calls = ["app.pages.render_page"]
name = { arg = 0, keyword = "page" }
autoescape = "on"
"""

PAGES = """\
from chameleon import PageTemplateLoader

LOADER = PageTemplateLoader("templates")


def render_page(page, **context):
    return LOADER[page](**context)
"""

PAGE_APP = """\
from flask import Flask, request

from app.pages import render_page

app = Flask(__name__)


@app.route("/hello")
def hello():
    name = request.args.get("name", "")
    return render_page("hello.html", name=name)
"""


def test_a_pack_declares_a_render_function_and_its_template_is_joined(tmp_path: Path) -> None:
    """docs/RULES.md `[[render]]`: a project's own render function, declared in a pack, is joined
    with the template it names, as `render_template` is; without the pack the template is not
    read (the call is the project's function over a library the packs do not know)."""
    root = tmp_path / "site"
    (root / "app" / "templates").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "pages.py").write_text(PAGES)
    (root / "app" / "views.py").write_text(PAGE_APP)
    (root / "app" / "templates" / "hello.html").write_text(PAGE)
    pack = tmp_path / "render.toml"
    pack.write_text(RENDER_PACK)
    with_pack = scan(str(root), "--no-cache", "--rules", str(pack))
    [finding] = json.loads(with_pack.stdout)["findings"]
    assert (finding["sink"]["path"], finding["sink"]["start_line"]) == ("app/templates/hello.html", 2), with_pack.stderr
    assert (finding["source"]["path"], finding["source"]["start_line"]) == ("app/views.py", 10)
    without = scan(str(root), "--no-cache")
    assert all(f["sink"]["path"] != "app/templates/hello.html" for f in json.loads(without.stdout)["findings"]), without.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text(RENDER_PACK.replace('"on"', '"maybe"'))
    rejected = scan(str(root), "--no-cache", "--rules", str(bad))
    assert rejected.returncode != 0 and "bad.toml:4" in rejected.stderr and "unknown autoescape" in rejected.stderr


def test_a_template_edit_changes_a_cached_scan(tmp_path: Path) -> None:
    root = project(tmp_path / "app")
    cache = tmp_path / "cache"
    assert len(json.loads(scan(str(root), "--cache-dir", str(cache)).stdout)["findings"]) == 1
    (root / "templates" / "hello.html").write_text(ESCAPED)
    proc = scan(str(root), "--cache-dir", str(cache))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["findings"] == []
    (root / "templates" / "hello.html").write_text("{% autoescape false %}\n{{ name }}\n{% endautoescape %}\n")
    [finding] = json.loads(scan(str(root), "--cache-dir", str(cache)).stdout)["findings"]
    assert finding["sink"]["start_line"] == 2


def test_the_suppression_quick_fix_writes_a_template_comment_in_a_template() -> None:
    assert suppression("templates/hello.html", "xss") == " {# flowsight: ignore[xss] #}"
    assert suppression("app.py", "xss") == "  # flowsight: ignore[xss]"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "flowsight", "serve"]))
async def client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    root = project(tmp_path_factory.mktemp("project") / "app")
    params = types.InitializeParams(
        # A client that is pushed diagnostics (no pull support).
        capabilities=client_capabilities("neovim@0.7.0"),
        root_uri=root.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="app")],
    )
    await lsp_client.initialize_session(params)
    lsp_client.project = root  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def test_the_server_publishes_on_the_template_and_follows_its_edits(client: LanguageClient) -> None:
    page = (client.project / "templates" / "hello.html").as_uri()  # type: ignore[attr-defined]
    await wait_for(lambda: client.diagnostics.get(page), timeout=30.0)
    [diagnostic] = client.diagnostics[page]
    assert diagnostic.code == "xss" and diagnostic.range.start == types.Position(line=1, character=3)
    assert "reaches `{{ name|safe }}`" in diagnostic.message
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(page, "jinja-html", 1, PAGE)))
    # `|safe` removed: the value is escaped, the diagnostic goes.
    edit = types.TextDocumentContentChangePartial(
        range=types.Range(start=types.Position(line=1, character=10), end=types.Position(line=1, character=15)), text=""
    )
    client.text_document_did_change(types.DidChangeTextDocumentParams(types.VersionedTextDocumentIdentifier(uri=page, version=2), [edit]))
    await wait_for(lambda: len(client.diagnostics[page]) == 0, timeout=30.0)
    # And back, typed in the editor: the diagnostic returns.
    edit = types.TextDocumentContentChangePartial(
        range=types.Range(start=types.Position(line=1, character=10), end=types.Position(line=1, character=10)), text="|safe"
    )
    client.text_document_did_change(types.DidChangeTextDocumentParams(types.VersionedTextDocumentIdentifier(uri=page, version=3), [edit]))
    await wait_for(lambda: bool(client.diagnostics.get(page)), timeout=30.0)
