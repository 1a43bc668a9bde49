"""Field survey of movers-out (区外転出者の現地調査): contracts, batches,
investigators' pages, reports, hand-over slips and erasure (seed 004)."""


def includeme(config):
    from .selection import no_contact_days

    # Parsed once at start-up: a malformed value stops the application.
    # How long without a conversation makes a mover-out a survey candidate
    # (docs/collections.md, "Survey selection").
    config.registry.survey_no_contact_days = no_contact_days(config.get_settings())
    config.scan(".views")
