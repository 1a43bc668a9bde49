"""What every ``intranet`` subcommand shares: the ini file's settings and a
database session.

The subcommand modules (audit, datalink, plans, …) import this module, and
``cli`` imports them to build its parser; no subcommand imports ``cli``
(issue 21: they used to, from inside their functions, to dodge the cycle).
"""
from __future__ import annotations

import transaction
from pyramid.paster import get_appsettings, setup_logging

from ..db import get_engine, get_session_factory, get_tm_session


def ini_settings(ini: str) -> dict:
    """The ``[app:main]`` settings of ``ini``, logging configured from it."""
    setup_logging(ini)
    return get_appsettings(ini)


def tm_session(settings):
    """A session joined to the thread's transaction manager (commit with
    ``transaction.manager``)."""
    engine = get_engine(settings)
    return get_tm_session(get_session_factory(engine), transaction.manager)
