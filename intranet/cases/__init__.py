"""Cases: the resource every role works on, its list/search and its page.

Their settings (status approval, amount rules, limitation, plan grace days)
are ``request.app_settings.cases`` (intranet.config, parsed at start-up)."""


def includeme(config):
    config.scan(".views")
    config.scan(".plan_views")
    config.scan(".contact_views")
    config.scan(".debit_views")
    config.scan(".limitation")
