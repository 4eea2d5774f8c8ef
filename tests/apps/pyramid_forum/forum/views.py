import html

from pyramid.httpexceptions import HTTPFound
from pyramid.response import Response
from pyramid.view import view_config

from . import mail, models


@view_config(route_name="topic", renderer="json")
def topic(request):
    topic_id = int(request.matchdict["id"])
    return models.topic(topic_id)


@view_config(route_name="search")
def search(request):
    term = request.params.get("q", "")
    rows = models.search(term)
    items = "".join("<li>%s</li>" % html.escape(row[0]) for row in rows)
    return Response("<h1>" + html.escape(term) + "</h1><ul>" + items + "</ul>")


@view_config(route_name="preview", request_method="POST")
def preview(request):
    body = request.POST["body"]
    return Response("<div class='post'>" + body + "</div>")


@view_config(route_name="logout")
def logout(request):
    request.session.invalidate()
    if request.params.get("everywhere"):
        return HTTPFound(location=request.route_url("search"))
    return HTTPFound(location=request.params.get("next", "/"))


def notify(request):
    mail.send_digest(request.json_body["address"])
    return Response("queued", content_type="text/plain")
