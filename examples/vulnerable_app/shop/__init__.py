"""A deliberately vulnerable Flask shop used by `make demo` and the end-to-end tests."""

from flask import Flask

app = Flask(__name__)

from shop import views  # noqa: E402,F401  (registers the routes)
