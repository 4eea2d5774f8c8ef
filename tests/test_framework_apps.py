"""Small realistic multi-file applications (tests/apps), scanned end-to-end through the CLI: each
gives exactly the findings listed (rule, sink file:line, source file:line), found because the
framework registers the handlers (an app factory with a blueprint and a MethodView, a project
urls.py including an app's urls.py, a FastAPI router with dependencies)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPOSITORY_ROOT

APPS = REPOSITORY_ROOT / "tests" / "apps"

# (rule id, sink "file:line", source "file:line"), 1-based lines.
EXPECTED = {
    "flask_shop": {
        # A MethodView registered by `add_url_rule(..., view_func=AdminView.as_view(...))`.
        ("command-injection", "shop/admin.py:8", "shop/admin.py:7"),
        ("open-redirect", "shop/catalog.py:22", "shop/catalog.py:22"),
        # Through the helper module: the blueprint's route reads the query string.
        ("sql-injection", "shop/db.py:10", "shop/catalog.py:10"),
        # Not findings: `<int:product_id>` (clean), `request.path` under the literal route
        # `/help` (constant), `post` running a fixed argv.
    },
    "django_blog": {
        # `path("tag/<str:tag>/", views.by_tag)` in the app's urls.py (included by the project's).
        ("sql-injection", "blog/queries.py:6", "blog/views.py:18"),
        ("command-injection", "blog/views.py:34", "blog/views.py:33"),
        # `search` renders its query inside `{% autoescape off %}` (the template's line; the
        # escaped `{{ query }}` below it and the escaped outputs of the other templates are not).
        ("xss", "blog/templates/blog/search.html:3", "blog/views.py:39"),
        # Not findings: `<int:post_id>`, the `[0-9]{4}` year group (digits only), `preview`
        # (no URL names it), `request.path` of the literal route "".
    },
    "fastapi_notes": {
        ("sql-injection", "notes/routers/notes.py:25", "notes/routers/notes.py:24"),
        # `Depends(current_user)`: the value the dependency returns, from its `Header` parameter.
        ("command-injection", "notes/routers/notes.py:31", "notes/deps.py:10"),
        ("xss", "notes/routers/notes.py:37", "notes/routers/notes.py:36"),
        # Not findings: `note_id: int`, `Depends(get_db)` (a connection, not user input), the
        # model's `pinned: bool` and the parameterised INSERT.
    },
}


def scan(app: Path) -> set[tuple[str, str, str]]:
    proc = subprocess.run(
        [sys.executable, "-m", "flowsight", "scan", str(app), "--format", "json"],
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    assert report["errors"] == []
    return {
        (
            finding["rule_id"],
            f"{finding['sink']['path']}:{finding['sink']['start_line']}",
            f"{finding['source']['path']}:{finding['source']['start_line']}",
        )
        for finding in report["findings"]
    }


@pytest.mark.parametrize("app", sorted(EXPECTED))
def test_an_application_gives_exactly_its_findings(app: str) -> None:
    assert scan(APPS / app) == EXPECTED[app]


def test_every_application_is_checked() -> None:
    assert sorted(path.name for path in APPS.iterdir() if path.is_dir()) == sorted(EXPECTED)
