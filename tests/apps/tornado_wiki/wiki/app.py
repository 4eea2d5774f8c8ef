import tornado.web

from .handlers import ExportHandler, FetchHandler, LoginHandler, PageHandler, PreviewHandler, SearchHandler


def make_app():
    return tornado.web.Application(
        [
            (r"/page/([0-9]+)", PageHandler),
            (r"/search", SearchHandler),
            (r"/export/(?P<fmt>[a-z]+)", ExportHandler),
            tornado.web.url(r"/fetch", FetchHandler),
            (r"/login", LoginHandler),
            (r"/preview", PreviewHandler),
        ],
        cookie_secret="change-me",
    )
