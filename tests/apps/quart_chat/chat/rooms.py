from quart import Blueprint, jsonify, redirect, render_template, request

from . import db, hooks

rooms = Blueprint("rooms", __name__)


@rooms.route("/<room>/history")
async def history(room):
    rows = db.history(room)
    return await render_template("history.html", room=room, rows=rows)


@rooms.route("/<int:room_id>/members")
async def members(room_id):
    return jsonify(db.members(room_id))


@rooms.post("/<room>/topic")
async def set_topic(room):
    form = await request.form
    hooks.announce(room, form["topic"])
    return jsonify(room=room, topic=form["topic"])


@rooms.route("/<room>/preview")
async def preview(room):
    text = request.args.get("text", "")
    return "<pre>" + text + "</pre>"


@rooms.route("/leave")
async def leave():
    return redirect(request.args.get("next", "/"))
