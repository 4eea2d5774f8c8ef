"""The server on inputs of issue 15 that crashed it: `documentHighlight` in a file `x = a.b.b…`
(6,000 deep: SIGSEGV), and opening a 20,000-function call chain (aborted at 16 GB). The server
runs under the harness's limits (`pipe.py`) and must answer with its RSS under 1 GiB. (2,000
changes to a 1.2 MB document: test_edit_stream.py.)"""

from __future__ import annotations

from pathlib import Path

from robustness.pipe import PipeServer
from robustness.test_deep_and_large_inputs import call_chain
from robustness.test_scale import VULNERABLE

MAX_RSS_KIB = 1 << 20


def open_document(server: PipeServer, path: Path, text: str, version: int = 1) -> str:
    uri = path.as_uri()
    server.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": version, "text": text}})
    return uri


def published(server: PipeServer, uri: str, version: int, timeout: float) -> dict:
    return server.notification("textDocument/publishDiagnostics", timeout, lambda p: p["uri"] == uri and p.get("version") == version)


def finish(server: PipeServer) -> None:
    assert server.call("shutdown", timeout=60)["result"] is None
    server.notify("exit")
    assert server.wait(30) == 0


def test_document_highlight_in_a_six_thousand_deep_attribute_chain(tmp_path: Path) -> None:
    text = "x = a" + ".b" * 6000 + "\nprint(x)\n"
    (tmp_path / "deep.py").write_text(text)
    (tmp_path / "app.py").write_text(VULNERABLE)
    server = PipeServer(tmp_path)
    try:
        server.initialize(tmp_path)
        uri = open_document(server, tmp_path / "deep.py", text)
        published(server, uri, 1, timeout=60)
        for character in (0, 4, 5, 6001):
            answer = server.call(
                "textDocument/documentHighlight", {"textDocument": {"uri": uri}, "position": {"line": 0, "character": character}}, 60
            )
            assert "result" in answer, answer
        x = server.call("textDocument/documentHighlight", {"textDocument": {"uri": uri}, "position": {"line": 1, "character": 6}}, 60)
        assert [h["range"]["start"]["line"] for h in x["result"]] == [0, 1]
        assert server.rss_kib() < MAX_RSS_KIB
        finish(server)
    finally:
        server.close()


def test_opening_and_editing_a_twenty_thousand_function_call_chain(tmp_path: Path) -> None:
    text = call_chain(20_000)
    (tmp_path / "chain.py").write_text(text)
    (tmp_path / "app.py").write_text(VULNERABLE)
    server = PipeServer(tmp_path)
    try:
        server.initialize(tmp_path)
        uri = open_document(server, tmp_path / "chain.py", text)
        published(server, uri, 1, timeout=60)
        # A line typed into the middle of the chain (`f10000`'s body) is analysed and published.
        line = text.splitlines().index("def f10000(x):") + 1
        change = {"range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": 0}}, "text": "    y = x\n"}
        server.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [change]})
        published(server, uri, 2, timeout=60)
        y = server.call("textDocument/documentHighlight", {"textDocument": {"uri": uri}, "position": {"line": line, "character": 4}}, 60)
        assert [h["range"]["start"]["line"] for h in y["result"]] == [line]
        assert server.rss_kib() < MAX_RSS_KIB
        finish(server)
    finally:
        server.close()
