"""What the session publishes for a document that is open: only results computed at the
document's current version. A workspace analysis that read a file before the editor opened it
(or before its latest change) must not send its result as the open document's diagnostics."""

from __future__ import annotations

import shutil
from pathlib import Path

from flowsight.cache import DIRECTORY_NAME
from flowsight.server.documents import uri_to_path
from flowsight.server.session import Session

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = REPOSITORY_ROOT / "examples" / "vulnerable_app"


def test_a_result_computed_before_the_document_was_opened_is_not_published_for_it(tmp_path: Path) -> None:
    project = tmp_path / "app"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(DIRECTORY_NAME))
    sent: list[tuple[str, int | None, int]] = []
    session = Session(publish=lambda uri, version, diagnostics: sent.append((uri, version, len(diagnostics))))
    folder = session.add_folder(project)
    session.index_folder(folder)
    _, results, problems = session.analyse()
    assert problems == []
    flagged = sorted(uri for _, _, uri, _, diagnostics in results if diagnostics)
    assert len(flagged) >= 2, flagged
    # The editor opens one flagged file after the analysis read it from disk.
    opened = flagged[0]
    session.documents.opened(opened, Path(uri_to_path(opened)).read_text(), 1)
    session._publish(results)
    published = {uri: version for uri, version, _ in sent}
    assert opened not in published, sent
    # The other files are not open: their disk-based results go out, without a version.
    assert all(published.get(uri, "missing") is None for uri in flagged[1:]), sent
