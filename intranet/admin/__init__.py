"""Administration pages for supervisors."""


def includeme(config):
    config.scan(".views")
    config.scan(".keys")
