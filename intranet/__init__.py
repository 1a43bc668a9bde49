"""The collections intranet of the ward's tax division (税務課 納税係)."""
from pyramid.config import Configurator


def make_configurator(settings) -> Configurator:
    """The fully configured Configurator (tests add to it before making the app)."""
    config = Configurator(settings=settings, root_factory="intranet.resources.root_factory")
    # Order matters: the settings, the clock and db first, security next (it reads both),
    # then presentation, then the views that use all of them.
    config.include(".config")  # the typed settings: a bad value stops the start here
    config.include(".clock")
    config.include(".db")
    config.include(".security")
    config.include(".accounts.training")
    config.include(".audit")
    config.include(".i18n")
    config.include("pyramid_jinja2")
    config.add_jinja2_renderer(".jinja2")
    config.add_jinja2_search_path("intranet:templates", name=".jinja2")
    config.include(".templating")
    config.include(".tweens")
    config.add_static_view("static", "intranet:static", cache_max_age=3600)
    config.include(".views")
    config.include(".cases")
    config.include(".admin")
    config.include(".calls")
    config.include(".documents")
    config.include(".contracts")
    config.include(".survey")
    config.include(".datalink")
    config.include(".screening")
    config.include(".incidents")
    config.include(".monitoring")
    return config


def main(global_config, **settings):
    """The WSGI application (``pserve development.ini``)."""
    return make_configurator(settings).make_wsgi_app()
