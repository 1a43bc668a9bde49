import datetime as dt

from intranet.config import amount_rules


def test_dunning_fee_is_a_dated_setting():
    settings = {"intranet.documents.dunning_fee": "2000-01-01:0 2026-04-01:100\n2027-04-01:150"}
    fee_on = amount_rules(settings).fee_on
    assert fee_on(dt.date(2026, 3, 31)) == 0
    assert fee_on(dt.date(2026, 4, 1)) == 100
    assert fee_on(dt.date(2027, 5, 1)) == 150
    assert amount_rules({}).fee_on(dt.date(2026, 4, 1)) == 0
