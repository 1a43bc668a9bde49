"""Official documents as PDF: payment slips (納付書再発行) and dunning letters (催告書)."""


def includeme(config):
    # Parsed once (intranet.config): a malformed company code stops the app.
    config.registry.cvs_slips = config.registry.app_settings.documents.cvs
    config.scan(".views")
