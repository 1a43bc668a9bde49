"""Official documents as PDF: payment slips (納付書再発行) and dunning letters (催告書)."""
from .barcode import cvs_settings


def includeme(config):
    # Parsed once: a malformed company code stops the app here.
    config.registry.cvs_slips = cvs_settings(config.get_settings())
    config.scan(".views")
