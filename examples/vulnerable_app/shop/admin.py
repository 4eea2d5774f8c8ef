"""An admin console: code evaluation behind a constant feature flag that is always off."""

from flask import request

from shop import app

DEBUG_CONSOLE = False


@app.route("/admin/eval", methods=["POST"])
def admin_eval():
    expression = request.form["expression"]
    if DEBUG_CONSOLE:
        return str(eval(expression))  # ok
    return "disabled"


@app.route("/admin/calc", methods=["POST"])
def admin_calc():
    return str(eval(request.form["expression"]))  # source[a] sink[a]: CWE-95, CWE-79
