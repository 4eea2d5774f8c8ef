import html

from bottle import Bottle, redirect, request, static_file

from . import storage

app = Bottle()


@app.get("/entries/<entry_id:int>")
def entry(entry_id):
    return {"entry": storage.entry(entry_id)}


@app.post("/sign")
def sign():
    storage.add_entry(request.forms.get("author"), request.forms.get("message"))
    redirect("/")


@app.get("/hello")
def hello():
    name = request.query.get("name", "guest")
    return "<h1>Welcome, " + name + "!</h1>"


@app.get("/search")
def search():
    term = request.query.term
    rows = storage.search(term)
    return "<p>%d entries for %s</p>" % (len(rows), html.escape(term))


@app.route("/avatars/<name>")
def avatar(name):
    return storage.avatar(name)


@app.route("/static/<filename:path>")
def static(filename):
    return static_file(filename, root="/srv/guestbook/static")


@app.get("/back")
def back():
    redirect(request.get_header("Referer") or "/")
