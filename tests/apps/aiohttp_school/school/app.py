import base64

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import setup as setup_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from . import views
from .admin import AdminHandlers
from .db import create_pool
from .middlewares import audit_log


async def on_startup(app):
    app["pool"] = await create_pool(app["dsn"])


def create_app(dsn, secret):
    app = web.Application(middlewares=[audit_log])
    app["dsn"] = dsn
    setup_session(app, EncryptedCookieStorage(base64.urlsafe_b64decode(secret)))
    aiohttp_jinja2.setup(app, loader=jinja2.PackageLoader("school", "templates"), autoescape=False)
    app.on_startup.append(on_startup)

    admin = AdminHandlers(backup_dir="/var/backups/school")
    app.router.add_get("/students", views.search_students)
    app.router.add_get("/students/{id}", views.student_detail)
    app.router.add_post("/login", views.login)
    app.router.add_route("POST", "/admin/backup", admin.backup)
    app.router.add_post("/admin/reports", admin.report)
    app.add_routes(views.routes)
    return app
