"""Cases: the resource every role works on, its list/search and its page."""


from pyramid.settings import asbool


def includeme(config):
    # Parsed once: must a supervisor approve a status a collector records
    # before it counts? (docs/taxes.md, "Collection statuses")
    config.registry.status_approval = asbool(
        config.get_settings().get("intranet.statuses.require_approval", False))
    config.scan(".views")
    config.scan(".limitation")
