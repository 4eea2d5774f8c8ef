"""Small realistic multi-file applications (tests/apps), scanned end-to-end through the CLI: each
gives exactly the findings listed (rule, sink file:line, source file:line), found because the
framework registers the handlers (an app factory with a blueprint and a MethodView, a project
urls.py including an app's urls.py, a FastAPI router with dependencies, aiohttp routes and
middlewares, GraphQL resolvers of graphene/strawberry/ariadne, an http.server handler)."""

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
    "aiohttp_school": {
        # The request handed to `NameFilter`, its query kept in `self.term`, read by the DAO.
        ("sql-injection", "school/db.py:17", "school/views.py:17"),
        # The same attribute rendered by `aiohttp_jinja2` under `setup(..., autoescape=False)`.
        ("xss", "school/templates/students.html:3", "school/views.py:17"),
        ("open-redirect", "school/views.py:35", "school/views.py:29"),
        ("path-traversal", "school/views.py:48", "school/views.py:46"),
        ("ssrf", "school/views.py:57", "school/views.py:55"),
        # A middleware (`@web.middleware`) logging a header.
        ("log-injection", "school/middlewares.py:10", "school/middlewares.py:10"),
        # One helper reached from a RouteTableDef route and from a bound method registered by
        # `add_post`: one finding per source.
        ("command-injection", "school/reports.py:8", "school/views.py:64"),
        ("command-injection", "school/reports.py:8", "school/admin.py:16"),
        # Not findings: `int(match_info["id"])` in an f-string, the parameterised login query,
        # the `ALLOWED_SORTS` check raising before `ORDER BY`, `shlex.quote` in `archive`, the
        # `|e`/`|escape` outputs, the row from the database (threat model `database` is off).
    },
    "graphql_pastes": {
        # graphene resolvers and mutations (plain and `@staticmethod` `mutate`).
        ("sql-injection", "pastes/schema.py:27", "pastes/schema.py:25"),
        ("ssrf", "pastes/schema.py:45", "pastes/schema.py:44"),
        ("command-injection", "pastes/schema.py:73", "pastes/schema.py:71"),
        # One storage helper reached from a graphene mutation and a strawberry mutation.
        ("path-traversal", "pastes/storage.py:8", "pastes/schema.py:60"),
        ("path-traversal", "pastes/storage.py:8", "pastes/strawberry_api.py:21"),
        ("command-injection", "pastes/strawberry_api.py:15", "pastes/strawberry_api.py:13"),
        # ariadne: `@query.field("stats")` and `mutation.set_field("restore", ...)`.
        ("code-injection", "pastes/ariadne_api.py:17", "pastes/ariadne_api.py:16"),
        ("unsafe-deserialization", "pastes/ariadne_api.py:21", "pastes/ariadne_api.py:20"),
        # Not findings: `filter_by(id=id)`, `language not in LANGUAGES` then return, the quoted
        # `notify-send`, the strawberry `count: int` and the fixed argv.
    },
    "http_files": {
        # `self.path` parsed by `urlparse`/`parse_qs` in `do_GET`, `self.rfile` in `do_POST`.
        ("path-traversal", "files/storage.py:7", "files/server.py:19"),
        ("xss", "files/server.py:16", "files/server.py:19"),
        ("ssrf", "files/tools.py:14", "files/server.py:19"),
        ("command-injection", "files/tools.py:6", "files/server.py:19"),
        ("command-injection", "files/tools.py:6", "files/server.py:46"),
        ("unsafe-deserialization", "files/server.py:52", "files/server.py:46"),
        # Not findings: `read_inside_root` (realpath + prefix check), the file's content written
        # back (not its name), `html.escape`, `int(...)` of the page, the constant `du`.
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
