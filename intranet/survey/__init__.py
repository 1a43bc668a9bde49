"""Field survey of movers-out (区外転出者の現地調査): contracts, batches,
investigators' pages, reports, hand-over slips and erasure (seed 004)."""


def includeme(config):
    config.scan(".views")
