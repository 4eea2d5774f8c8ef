from pyramid.config import Configurator

from .views import notify


def main(global_config, **settings):
    with Configurator(settings=settings) as config:
        config.add_route("topic", "/topics/{id}")
        config.add_route("search", "/search")
        config.add_route("preview", "/preview")
        config.add_route("logout", "/logout")
        config.add_route("notify", "/notify")
        config.add_view(notify, route_name="notify", request_method="POST")
        config.scan(".views")
        return config.make_wsgi_app()
