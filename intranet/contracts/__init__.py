"""Contracts of any contractor organisation (業務委託契約, issue 25): the
call center's and the field-survey servicer's, managed by ward supervisors
at ``/admin/contracts/``; the rules in :mod:`.rules`, the contractor's
training plans (研修計画) in :mod:`.training`."""


def includeme(config):
    config.scan(".views")
    config.scan(".plan_views")
