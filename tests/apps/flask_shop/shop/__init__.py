from flask import Flask

from .admin import AdminView
from .catalog import catalog


def create_app():
    app = Flask(__name__)
    app.register_blueprint(catalog, url_prefix="/catalog")
    app.add_url_rule("/admin/<section>", view_func=AdminView.as_view("admin"))
    return app
