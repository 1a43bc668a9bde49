"""Official documents as PDF: payment slips (納付書再発行) and dunning letters (催告書)."""


def includeme(config):
    config.scan(".views")
