"""Chunks → documents: the text an embedder sees, byte spans over UTF-8, cache keys."""

from __future__ import annotations

import flowsight
from flowsight.search.documents import EMBEDDED_KINDS, documents_from_chunks

SOURCE = (
    'π = 3.14159\n\n\ndef área(r):\n    """Área do círculo."""\n    return π * r * r\n\n\n'
    "class Forma:\n    def lados(self):\n        return 0\n"
)


def chunk_documents(tmp_path, context=False):
    (tmp_path / "geo.py").write_text(SOURCE, encoding="utf-8")
    chunks = flowsight.build_chunks([str(tmp_path / "geo.py")], root=str(tmp_path))
    reads = []

    def source_of(path):
        reads.append(path)
        return (tmp_path / path).read_text(encoding="utf-8")

    return chunks, documents_from_chunks(chunks, source_of, context=context), reads


def test_texts_are_the_chunks_byte_spans(tmp_path):
    chunks, documents, reads = chunk_documents(tmp_path)
    by_name = {document.qualified_name: document for document in documents}
    assert by_name["geo.área"].text == 'def área(r):\n    """Área do círculo."""\n    return π * r * r'
    assert by_name["geo.Forma.lados"].text == "def lados(self):\n        return 0"
    assert by_name["geo.Forma.lados"].name == "lados" and by_name["geo.Forma.lados"].kind == "method"
    assert by_name["geo"].text == "" and not by_name["geo"].embedded  # the module is covered by its children
    assert [document.chunk_id for document in documents] == [chunk.id for chunk in chunks]
    assert all(document.content_hash == chunk.content_hash for document, chunk in zip(documents, chunks, strict=True))
    assert reads == ["geo.py"]  # one read per file
    assert {document.kind for document in documents if document.embedded} <= EMBEDDED_KINDS


def test_context_changes_the_text_and_the_key(tmp_path):
    _, plain, _ = chunk_documents(tmp_path)
    _, with_context, _ = chunk_documents(tmp_path, context=True)
    function = next(document for document in with_context if document.qualified_name == "geo.área")
    assert function.text.startswith("# geo.py: geo.área\ndef área(r):")
    assert function.content_hash not in {document.content_hash for document in plain}


def test_payload_names_the_chunk(tmp_path):
    _, documents, _ = chunk_documents(tmp_path)
    method = next(document for document in documents if document.qualified_name == "geo.Forma.lados")
    payload = method.payload()
    assert payload["chunk_id"] == method.chunk_id and payload["path"] == "geo.py" and payload["start_line"] == 10
