from flask import Blueprint, redirect, render_template, request

from . import db

catalog = Blueprint("catalog", __name__)


@catalog.route("/search")
def search():
    term = request.args.get("q", "")
    results = db.find_products(term)
    return render_template("results.html", results=results)


@catalog.route("/product/<int:product_id>")
def show(product_id):
    return render_template("product.html", product=db.product(product_id))


@catalog.route("/go")
def go():
    return redirect(request.args["next"])


@catalog.route("/help")
def help_page():
    return "<p>You are at " + request.path + "</p>"
