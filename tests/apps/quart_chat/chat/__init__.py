from quart import Quart

from .rooms import rooms


def create_app():
    app = Quart(__name__)
    app.register_blueprint(rooms, url_prefix="/rooms")
    return app
