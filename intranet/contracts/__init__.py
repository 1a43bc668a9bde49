"""Contracts of any contractor organisation (業務委託契約, issue 25): the
call center's and the field-survey servicer's, managed by ward supervisors
at ``/admin/contracts/``; the rules in :mod:`.rules`, the contractor's
training plans (研修計画) in :mod:`.training`."""


def includeme(config):
    from .rules import ContractSettings

    # Parsed once at start-up: a malformed value stops the application.
    config.registry.contract_settings = ContractSettings.from_settings(config.get_settings())
    config.scan(".views")
    config.scan(".plan_views")
