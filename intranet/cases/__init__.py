"""Cases: the resource every role works on, its list/search and its page."""


def includeme(config):
    config.scan(".views")
    config.scan(".limitation")
