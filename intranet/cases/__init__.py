"""Cases: the resource every role works on, its list/search and its page."""


from pyramid.settings import asbool


def includeme(config):
    from ..taxes.owed import AmountRules
    from .limitation import LimitationSettings

    settings = config.get_settings()
    # Parsed once at start-up: a malformed value stops the application.
    # Must a supervisor approve a status a collector records before it
    # counts? (docs/taxes.md, "Collection statuses")
    config.registry.status_approval = asbool(
        settings.get("intranet.statuses.require_approval", False))
    # What is owed and when it may be demanded; limitation warnings.
    config.registry.amount_rules = AmountRules.from_settings(settings)
    config.registry.limitation_settings = LimitationSettings.from_settings(settings)
    # Days after a scheduled plan payment before it counts as missed.
    from .plans import grace_days
    config.registry.plan_grace_days = grace_days(settings)
    config.scan(".views")
    config.scan(".plan_views")
    config.scan(".contact_views")
    config.scan(".debit_views")
    config.scan(".limitation")
