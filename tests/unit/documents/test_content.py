import datetime as dt

from intranet.documents.content import dunning_fee


def test_dunning_fee_is_a_dated_setting():
    settings = {"intranet.documents.dunning_fee": "2000-01-01:0 2026-04-01:100\n2027-04-01:150"}
    assert dunning_fee(settings, dt.date(2026, 3, 31)) == 0
    assert dunning_fee(settings, dt.date(2026, 4, 1)) == 100
    assert dunning_fee(settings, dt.date(2027, 5, 1)) == 150
    assert dunning_fee({}, dt.date(2026, 4, 1)) == 0
