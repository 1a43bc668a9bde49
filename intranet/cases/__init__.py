"""Cases: the resource every role works on, its list/search and its page."""


def includeme(config):
    cases = config.registry.app_settings.cases
    # Parsed once at start-up (intranet.config): a malformed value stops the application.
    # Must a supervisor approve a status a collector records before it
    # counts? (docs/taxes.md, "Collection statuses")
    config.registry.status_approval = cases.status_approval
    # What is owed and when it may be demanded; limitation warnings.
    config.registry.amount_rules = cases.amount_rules
    config.registry.limitation_settings = cases.limitation
    # Days after a scheduled plan payment before it counts as missed.
    config.registry.plan_grace_days = cases.plan_grace_days
    config.scan(".views")
    config.scan(".plan_views")
    config.scan(".contact_views")
    config.scan(".debit_views")
    config.scan(".limitation")
