import tornado.web
from tornado.escape import url_escape
from tornado.httpclient import AsyncHTTPClient

from . import store, tools


class PageHandler(tornado.web.RequestHandler):
    def get(self, page_id):
        self.write({"page": store.page_by_id(page_id)})


class SearchHandler(tornado.web.RequestHandler):
    def get(self):
        term = self.get_argument("q")
        self.write({"results": store.search(term)})


class ExportHandler(tornado.web.RequestHandler):
    def get(self, fmt):
        title = self.get_query_argument("title")
        tools.export_page(title, fmt)
        self.write({"exported": True})

    def post(self, fmt):
        tools.archive(self.get_body_argument("name"))
        self.write(tools.read_page(self.get_body_argument("page")))


class FetchHandler(tornado.web.RequestHandler):
    async def get(self):
        url = self.get_argument("url")
        response = await AsyncHTTPClient().fetch(url)
        self.write({"status": response.code})


class LoginHandler(tornado.web.RequestHandler):
    def get(self):
        self.redirect("/login?next=" + url_escape(self.get_argument("next", "/")))

    def post(self):
        self.set_secure_cookie("user", self.get_body_argument("user"))
        self.redirect(self.get_argument("next", "/"))


class PreviewHandler(tornado.web.RequestHandler):
    def get(self):
        # Written as the page (`text/html`, Tornado's default).
        self.write("<h1>" + self.get_argument("title") + "</h1>")

    def post(self):
        self.set_header("Content-Type", "text/plain; charset=UTF-8")
        self.write(self.get_body_argument("text"))
