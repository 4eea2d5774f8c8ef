import os

import aiohttp
import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session

from .db import StudentDao
from .filters import NameFilter
from .reports import export_report

routes = web.RouteTableDef()
UPLOAD_DIR = "/srv/school/uploads"


async def search_students(request):
    name_filter = NameFilter(request)
    rows = await StudentDao(request.app["pool"]).search(name_filter)
    return aiohttp_jinja2.render_template("students.html", request, {"query": name_filter.term, "rows": rows})


async def student_detail(request):
    student_id = int(request.match_info["id"])
    row = await StudentDao(request.app["pool"]).by_id(student_id)
    return aiohttp_jinja2.render_template("student.html", request, {"student": row})


async def login(request):
    form = await request.post()
    user = await StudentDao(request.app["pool"]).by_login(form["username"])
    if user is None:
        raise web.HTTPForbidden()
    session = await get_session(request)
    session["user_id"] = user[0]
    raise web.HTTPFound(form.get("next", "/"))


@routes.get("/students/sorted")
async def sorted_students(request):
    rows = await StudentDao(request.app["pool"]).ordered(request.query.get("sort", "name"))
    return web.json_response(rows)


@routes.post("/uploads")
async def upload(request):
    reader = await request.multipart()
    field = await reader.next()
    with open(os.path.join(UPLOAD_DIR, field.filename), "wb") as target:
        target.write(await field.read())
    return web.Response(text="stored")


@routes.get("/avatar")
async def avatar(request):
    url = request.query["url"]
    async with aiohttp.ClientSession() as client:
        async with client.get(url) as response:
            body = await response.read()
    return web.Response(body=body, content_type="image/png")


@routes.get("/students/{name}/report")
async def student_report(request):
    export_report(request.match_info["name"], "pdf")
    return web.Response(text="queued")


@routes.get("/hello")
async def hello(request):
    name = request.query.get("name", "guest")
    return aiohttp_jinja2.render_template("hello.html", request, {"name": name})
