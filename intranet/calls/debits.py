"""口座振替勧奨の後続処理 (direct-debit follow-up): the hook.

:func:`intranet.calls.results.record` and ``record_incoming`` call
:func:`encouraged` once for every call that records a direct-debit
encouragement (``ActionKind.direct_debit``), after the call and its actions
are stored and in the same transaction. It does nothing yet: the follow-up
(sending the 口座振替依頼書, checking that the bank registration arrived
through the data link, and asking again if it did not) is the next piece of
work, and will be built here without touching the recording code.
"""
from __future__ import annotations


def encouraged(dbsession, attempt, cases) -> None:
    """A direct-debit encouragement was recorded on ``attempt`` about ``cases``.

    Deliberately empty for now (see the module docstring)."""
    return None
