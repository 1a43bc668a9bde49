"""Amounts owed per installment (intranet.taxes.owed): worked examples.

Sources: TAX_NOTES §1.4 (地方税法20条の4の2: tax cut to 1,000 yen, none under
2,000; charge cut to 100 yen, none under 1,000), §2.3 (331条①一: ten days
after the 督促状), §5.1 (督促手数料 by ordinance, may be 0); the late-charge
examples of tests/unit/taxes/test_latecharge_examples.py (豊橋市).
"""
import datetime as dt

import pytest

from intranet.config import amount_rules
from intranet.taxes.owed import fee_schedule, owed_for

D = dt.date


def owed(tax=100_000, due=D(2024, 7, 1), receipts=(), as_of=D(2026, 11, 30), late=0, **kw):
    return owed_for(installment_id=1, due=due, tax_amount=tax, late_charge_amount=late,
                    receipts=list(receipts), as_of=as_of, **kw)


def test_overdue_tax_accrues_its_late_charge_to_the_day():
    """100,000 yen due 2024-07-01, as of 2026-11-30: 203 + 3,623 + 8,700 +
    8,302 = 20,828 → 20,800 (the slip test's example)."""
    o = owed()
    assert (o.tax_overdue, o.tax_not_due, o.late_charge_accruing, o.late_charge_fixed) == (
        100_000, 0, 20_800, 0)
    assert o.overdue == o.total == 120_800


def test_tax_not_yet_due_is_owed_but_not_overdue():
    o = owed(due=D(2027, 2, 1), as_of=D(2026, 11, 24))
    assert (o.tax_overdue, o.tax_not_due, o.late_charge, o.overdue, o.total) == (
        0, 100_000, 0, 0, 100_000)


def test_the_due_day_itself_and_the_holiday_shift_are_not_overdue():
    # 2025-08-31 is a Sunday: the 納期限 moves to Monday 1 September.
    assert owed(due=D(2025, 8, 31), as_of=D(2025, 9, 1)).tax_not_due == 100_000
    assert owed(due=D(2025, 8, 31), as_of=D(2025, 9, 2)).tax_overdue == 100_000


def test_a_late_payment_fixes_the_charge_on_the_payment_day():
    """豊橋市: 65,000 yen due 2021-05-31 paid 2022-01-31 → 3,400 yen; it stays
    owed after the 本税 is paid, and does not grow."""
    o = owed(tax=65_000, due=D(2021, 5, 31), receipts=[("tax", D(2022, 1, 31), 65_000)],
             as_of=D(2026, 11, 24))
    assert (o.tax_overdue, o.late_charge_accruing, o.late_charge_fixed, o.overdue) == (
        0, 0, 3_400, 3_400)
    assert owed(tax=65_000, due=D(2021, 5, 31), receipts=[("tax", D(2022, 1, 31), 65_000)],
                as_of=D(2030, 1, 1)).late_charge_fixed == 3_400


def test_partial_payments_lower_the_base_and_late_charge_receipts_pay_the_charge():
    """141,000 due 2025-09-01: 41,000 on 2026-01-15 and 100,000 on 2026-03-31:
    278 + 3,058 + 527 + 1,869 = 5,732 → 5,700; 5,000 paid → 700 left."""
    receipts = [("tax", D(2026, 1, 15), 41_000), ("tax", D(2026, 3, 31), 100_000)]
    o = owed(tax=141_000, due=D(2025, 9, 1), receipts=receipts, as_of=D(2026, 11, 24))
    assert o.late_charge_fixed == 5_700
    o = owed(tax=141_000, due=D(2025, 9, 1), as_of=D(2026, 11, 24),
             receipts=[*receipts, ("late_charge", D(2026, 4, 10), 5_000)])
    assert (o.late_charge_fixed, o.overdue) == (700, 700)


def test_the_data_links_assessed_charge_wins_once_fixed():
    """A 延滞金調定額 is the ward's own determination (減免, its rounding
    convention): it wins over the computed 3,400."""
    o = owed(tax=65_000, due=D(2021, 5, 31), receipts=[("tax", D(2022, 1, 31), 65_000)],
             late=3_000, as_of=D(2026, 11, 24))
    assert o.late_charge_fixed == 3_000
    paid = owed(tax=65_000, due=D(2021, 5, 31), late=3_000, as_of=D(2026, 11, 24),
                receipts=[("tax", D(2022, 1, 31), 65_000), ("late_charge", D(2022, 3, 1), 3_000)])
    assert (paid.late_charge, paid.total) == (0, 0)


def test_statutory_thresholds_apply():
    # tax under 2,000 yen: no charge; charge under 1,000 yen: none (20条の4の2②⑤)
    assert owed(tax=1_900, due=D(2024, 7, 1), receipts=[("tax", D(2026, 1, 5), 1_900)]).total == 0
    assert owed(tax=10_000, due=D(2026, 6, 30), receipts=[("tax", D(2026, 8, 20), 10_000)]).total == 0
    # paid on time: nothing
    assert owed(receipts=[("tax", D(2024, 6, 20), 100_000)]).total == 0


def test_receipts_after_the_day_asked_for_do_not_count():
    o = owed(receipts=[("tax", D(2026, 12, 1), 100_000)], as_of=D(2026, 11, 30))
    assert o.tax_overdue == 100_000


def test_the_dunning_fee_is_owed_only_where_a_dunning_notice_was_sent_and_the_fee_is_set():
    fees = fee_schedule("2000-01-01:0 2025-04-01:100")
    assert owed(fee_on=fees).fee == 0                                   # no 督促状 known
    assert owed(fee_on=fees, dunning_sent_on=D(2024, 7, 20)).fee == 0   # fee 0 then
    o = owed(fee_on=fees, dunning_sent_on=D(2025, 7, 20))
    assert (o.fee, o.overdue) == (100, 120_900)
    assert owed(fee_on=fees, dunning_sent_on=D(2025, 7, 20),
                receipts=[("tax", D(2024, 6, 20), 100_000)]).fee == 0   # paid: nothing owed


@pytest.mark.parametrize("as_of, ready", [(D(2026, 11, 29), False), (D(2026, 11, 30), True)])
def test_a_letter_waits_ten_days_after_the_dunning_notice(as_of, ready):
    """331条①一: 督促状を発した日から起算して十日を経過した日までに完納しないとき:
    sent 20 November, the tenth day is 29 November, a letter from the 30th."""
    assert owed(dunning_sent_on=D(2026, 11, 20), as_of=as_of).letter_ready(10) is ready
    assert owed(as_of=as_of).letter_ready(10)  # date unknown: no wait
    assert not owed(due=D(2027, 2, 1), as_of=as_of).letter_ready(10)  # not yet due


def test_rules_from_settings():
    rules = amount_rules({"intranet.documents.letter_after_dunning_days": "7",
                                       "intranet.documents.dunning_fee": "2026-04-01:100",
                                       "intranet.late_charge.floor_segments": "false"})
    assert (rules.letter_after_dunning_days, rules.floor_segments) == (7, False)
    assert rules.fee_on(D(2026, 4, 1)) == 100 and rules.fee_on(D(2026, 3, 31)) == 0
    assert amount_rules({}).letter_after_dunning_days == 10
    with pytest.raises(ValueError):
        amount_rules({"intranet.documents.letter_after_dunning_days": "-1"})
