from flask import Flask
from graphql_server.flask import GraphQLView

from .models import db
from .schema import schema


def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///pastes.db"
    db.init_app(app)
    app.add_url_rule("/graphql", view_func=GraphQLView.as_view("graphql", schema=schema, graphiql=True))
    return app
