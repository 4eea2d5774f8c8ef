"""Small realistic multi-file applications (tests/apps), scanned end-to-end through the CLI: each
gives exactly the findings listed (rule, sink file:line, source file:line), found because the
framework registers the handlers (an app factory with a blueprint and a MethodView, a project
urls.py including an app's urls.py, a FastAPI router with dependencies, aiohttp routes and
middlewares, GraphQL resolvers of graphene/strawberry/ariadne, an http.server handler, Tornado
route tables, Falcon resources, Pyramid views, Bottle routes, a Quart blueprint, connexion
operationIds)."""

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
    "tornado_wiki": {
        # Handlers named by `Application([...])` tuples and `url(...)`; `get_argument`,
        # `get_query_argument`, `get_body_argument` read the request.
        ("sql-injection", "wiki/store.py:16", "wiki/handlers.py:15"),
        ("command-injection", "wiki/tools.py:9", "wiki/handlers.py:21"),
        ("path-traversal", "wiki/tools.py:17", "wiki/handlers.py:27"),
        ("ssrf", "wiki/handlers.py:33", "wiki/handlers.py:32"),
        ("open-redirect", "wiki/handlers.py:43", "wiki/handlers.py:43"),
        # `self.write` of a string: the page (`text/html` unless a type is set).
        ("xss", "wiki/handlers.py:49", "wiki/handlers.py:49"),
        # Not findings: the `([0-9]+)` page id in an f-string query, the `(?P<fmt>[a-z]+)` group
        # in the command, `shlex.quote` in `archive`, the redirect through `url_escape`, the
        # dicts written as JSON, the preview text sent as `text/plain`.
    },
    "falcon_inventory": {
        # Resources registered by `app.add_route`; `req.get_param`/`get_media`, `{name}` fields.
        ("sql-injection", "inventory/db.py:29", "inventory/resources.py:18"),
        ("path-traversal", "inventory/reports.py:9", "inventory/resources.py:27"),
        ("command-injection", "inventory/reports.py:15", "inventory/resources.py:31"),
        ("ssrf", "inventory/resources.py:39", "inventory/resources.py:38"),
        ("open-redirect", "inventory/resources.py:45", "inventory/resources.py:45"),
        # `resp.text` after `resp.content_type = falcon.MEDIA_HTML`.
        ("xss", "inventory/resources.py:51", "inventory/resources.py:51"),
        # Not findings: `{item_id:int}` in `%d`, the `sort not in SORTS` reset, the bound
        # `LIKE ?` term, `shlex.quote(name)`, `resp.media` (JSON), the report's text as
        # `text/plain`, `resp.text` with no type set (the default media type, JSON).
    },
    "pyramid_forum": {
        # `@view_config` views found by `config.scan`, one `config.add_view`.
        ("sql-injection", "forum/models.py:15", "forum/views.py:18"),
        ("xss", "forum/views.py:27", "forum/views.py:26"),
        ("open-redirect", "forum/views.py:35", "forum/views.py:35"),
        ("command-injection", "forum/mail.py:5", "forum/views.py:39"),
        # Not findings: `int(request.matchdict["id"])` in an f-string, the `html.escape`d term,
        # `route_url`, the `text/plain` response, the `renderer="json"` view's dict.
    },
    "bottle_guestbook": {
        # `@app.get`/`@app.post`/`@app.route` of a `Bottle()`; `request.forms`/`query`/headers.
        ("sql-injection", "guestbook/storage.py:16", "guestbook/app.py:17"),
        ("xss", "guestbook/app.py:24", "guestbook/app.py:23"),
        ("path-traversal", "guestbook/storage.py:24", "guestbook/app.py:35"),
        ("open-redirect", "guestbook/app.py:46", "guestbook/app.py:46"),
        # Not findings: `<entry_id:int>` in `%d`, the bound `LIKE ?`, the escaped search term,
        # the returned dict (JSON), `static_file(..., root=...)`, the constant `redirect("/")`.
    },
    "quart_chat": {
        # A blueprint's async views (`@rooms.route`, `@rooms.post`), `await request.form`.
        ("sql-injection", "chat/db.py:10", "chat/rooms.py:9"),
        ("command-injection", "chat/hooks.py:6", "chat/rooms.py:21"),
        ("xss", "chat/rooms.py:29", "chat/rooms.py:28"),
        ("open-redirect", "chat/rooms.py:34", "chat/rooms.py:34"),
        # Not findings: `{{ room }}` escaped in `history.html`, `<int:room_id>` bound, `jsonify`,
        # the `shlex.quote`d room.
    },
    "connexion_pets": {
        # Handlers are the `operationId`s of `spec/openapi.yaml` (`add_api` under
        # `specification_dir`); parameters are the spec's, by name.
        ("sql-injection", "pets/db.py:14", "pets/api.py:6"),
        ("ssrf", "pets/api.py:22", "pets/api.py:21"),
        ("command-injection", "pets/files.py:14", "pets/api.py:27"),
        # Not findings: `limit` and `pet_id` (spec `integer`) in an f-string and `%d`, the bound
        # INSERT of the body's fields, the fetched photo's content (not user input).
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
