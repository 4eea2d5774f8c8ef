"""Routes. Untrusted input enters through `request` and route parameters."""

import pickle
import base64

from flask import redirect, render_template_string, request
from markupsafe import escape

from shop import app
from shop.db import find_product_safely, find_products, order_count
from shop.files import compress, compress_safely, read_invoice, read_invoice_safely


@app.route("/search")
def search():
    term = request.args.get("q", "")  # source[a@db.py]
    rows = find_products(term)  # step[a@db.py]
    return {"results": rows}


@app.route("/search-safe")
def search_safe():
    term = request.args.get("q", "")
    return {"results": find_product_safely(term)}


@app.route("/orders/<int:customer_id>")
def orders(customer_id):
    return {"count": order_count(customer_id)}


@app.route("/invoice/<name>")
def invoice(name):  # source[a@files.py]
    return read_invoice(name)  # step[a@files.py]


@app.route("/invoice-safe/<name>")
def invoice_safe(name):
    return read_invoice_safely(name)


@app.route("/archive", methods=["POST"])
def archive():
    compress(request.form["file"])  # source[b@files.py]
    compress_safely(request.form["file"])
    return "ok"


@app.route("/hello")
def hello():
    name = request.args.get("name", "guest")  # source[a]
    return render_template_string("<h1>Hello " + name + "</h1>")  # sink[a]: CWE-1336


@app.route("/greet")
def greet():
    return "<p>Hello " + str(escape(request.args.get("name", ""))) + "</p>"  # ok


@app.route("/next")
def next_page():
    return redirect(request.args["next"])  # source[b] sink[b]: CWE-601


@app.route("/cart", methods=["POST"])
def restore_cart():
    cart = pickle.loads(base64.b64decode(request.cookies["cart"]))  # source[c] sink[c]: CWE-502
    return {"items": len(cart)}
