import html
import json
import pickle
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

from . import storage, tools
from .visitor import Visitor


class FileHandler(BaseHTTPRequestHandler):
    def send_html(self, page):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(page.encode())

    def do_GET(self):
        parsed = urlparse(self.path)
        params = parse_qs(parsed.query)
        if parsed.path == "/download":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(storage.read_file(params["name"][0]))
        elif parsed.path == "/safe-download":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(storage.read_inside_root(params["name"][0]))
        elif parsed.path == "/search":
            term = params.get("q", [""])[0]
            self.send_html("<h1>No results for " + term + "</h1>" + Visitor(self).banner())
        elif parsed.path == "/echo":
            self.send_html("<p>" + html.escape(params.get("text", [""])[0]) + "</p>")
        elif parsed.path == "/compress":
            tools.compress(params["name"][0])
            self.send_html("<p>done</p>")
        elif parsed.path == "/preview":
            self.send_html("<pre>" + html.escape(tools.fetch_preview(params["url"][0]).decode()) + "</pre>")
        elif parsed.path == "/usage":
            self.send_html("<pre>" + tools.disk_usage().decode() + "</pre>")
        else:
            self.send_error(404)

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length)
        if self.path == "/jobs":
            job = json.loads(body)
            tools.compress(job["name"])
            self.send_html("<p>queued</p>")
        elif self.path == "/session":
            state = pickle.loads(body)
            self.send_html("<p>restored " + str(len(state)) + " keys</p>")
        elif self.path == "/page":
            page = int(json.loads(body).get("page", 1))
            self.send_html("<p>page %d</p>" % page)


def main():
    HTTPServer(("", 8000), FileHandler).serve_forever()


if __name__ == "__main__":
    main()
