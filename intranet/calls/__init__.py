"""The tax call center (納税コールセンター): campaigns, the shared call queue,
the call screen and its results, hand-overs to staff, incoming calls, reports."""


def includeme(config):
    config.scan(".views")
