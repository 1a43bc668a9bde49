"""Field survey of movers-out (区外転出者の現地調査): contracts, batches,
investigators' pages, reports, hand-over slips and erasure (seed 004)."""


def includeme(config):
    # Parsed once at start-up (intranet.config): a malformed value stops the application.
    # How long without a conversation makes a mover-out a survey candidate
    # (docs/collections.md, "Survey selection").
    config.registry.survey_no_contact_days = config.registry.app_settings.survey.no_contact_days
    config.scan(".views")
