"""Views shared by every area: login/logout, home, language, errors."""


def includeme(config):
    config.scan(__name__)
